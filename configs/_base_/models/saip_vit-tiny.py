# SAIP around a ViT-Ti/16 student (docs/methods.md 2.2): intermediate output
# after block 7 through its own LayerNorm; one head per objective, each with
# its network and loss: matching (DINO-style projection to 65536 and the
# attention relations), reconstruction (an MAE-style decoder, 512 wide, 8
# blocks) and search. A loss's weight is its `loss_weight` there.
embed_dims = 192
model = dict(
    type='SAIP',
    data_preprocessor=dict(
        type='ViewsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='SAIPVisionTransformer',
        arch='deit-tiny',
        img_size=(256, 128),
        patch_size=16,
        inter_index=6,
        drop_path_rate=0.0,
        out_type='cls_token'),
    matching_head=dict(
        type='SAIPMatchingHead',
        projection=dict(
            type='SAIPProjectionHead',
            in_channels=embed_dims,
            hidden_channels=2048,
            bottleneck_channels=256,
            out_channels=65536),
        loss_rep=dict(
            type='CrossScaleMatchingLoss',
            out_channels=65536,
            student_temp=0.1,
            teacher_temp=0.04,
            center_momentum=0.9),
        loss_att=dict(type='AttentionRelationLoss')),
    reconstruction_head=dict(
        type='SAIPReconstructionHead',
        decoder=dict(
            type='SAIPReconstructionDecoder',
            in_channels=embed_dims,
            embed_dims=512,
            depth=8,
            num_heads=16,
            base_grid=(16, 8)),
        norm_pix=True),
    search_head=dict(type='SAIPSearchHead', in_channels=embed_dims),
    rescale_factors=(0.75, 0.875, 1.125, 1.25),
    csr_scale=1.25,
    mask_ratio=0.75,
    ema=dict(momentum=0.004, end_momentum=0.))
