# Human parsing fine-tuning of a pretrained plain ViT on LIP (docs/methods.md
# section 3): mmseg EncoderDecoder, mmpretrain VisionTransformer backbone
# (featmap outputs of blocks 4/6/8/12), Feature2Pyramid neck (x4, x2, x1,
# x0.5 -> strides 4/8/16/32), UPerHead with 20 LIP classes + FCN auxiliary
# head, input 576x384 (HxW), AdamW 7e-4 / wd 0.05 with layer-wise lr decay
# 0.65 (mmseg's ViT/BEiT/MAE recipes for 12-block ViTs), 150 epochs, mIoU.
# Training flips swap the left/right LIP labels (RandomFlipSwapLabels).
# Test: single scale, or multi-scale + flip via tools/test.py --tta
# (FlipSwapSegTTAModel: a flipped view's left/right class channels are
# swapped back before the views are averaged).
# Arch configs set the backbone arch / heads and the pretrained file.
default_scope = 'mmseg'
custom_imports = dict(
    imports=['projects.saip_dpal', 'projects.saip_dpal.parsing',
             'mmpretrain.models'],
    allow_failed_imports=False)
# our Runner: weights-only checkpoint reading, a quiet console
runner_type = 'GuardedRunner'

# runtime
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=150, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='SafeCheckpointHook',  # atomic writes, rotation after saving
        by_epoch=True,
        interval=10,
        save_best='mIoU',
        rule='greater',
        max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # SIGTERM: save the current iteration, one line, exit 143
    signal_checkpoint=dict(type='SignalCheckpointHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl', timeout=600))  # seconds; torch: 1800
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
# a fixed seed (each rank its own stream): two identical runs train alike
randomness = dict(seed=0, diff_rank_seed=True)
load_from = None
resume = False

# optimizer: layer-wise lr decay over mmpretrain's ``backbone.layers.N.``
# (projects/saip_dpal/engine/optimizers): embeddings at depth 0, block N at
# N + 1, final norm / neck / heads at num_layers + 1, lr scale
# layer_decay_rate ** (num_layers + 1 - depth); no weight decay on 1-D
# parameters, pos_embed and cls_token.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=7e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.65))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),  # warm-up
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        begin=0,
        end=150,
        by_epoch=True,
        convert_to_iter_based=True)
]
# the recipe's lr is for 8 GPUs x 4 images
auto_scale_lr = dict(enable=False, base_batch_size=32)

# model
crop_size = (576, 384)  # (h, w)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=192,
            num_layers=12,
            num_heads=3,
            feedforward_channels=768),
        # declared as pretrained (256x128, a 16x8 grid) so extracted student
        # files load unchanged; the forward interpolates the position
        # embedding to the input grid (36x24 for 576x384) every step.
        img_size=(256, 128),
        patch_size=16,
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        drop_path_rate=0.1,
        with_cls_token=True,
        # keeps the student's final LayerNorm (applied to block 12's map)
        final_norm=True,
        out_type='featmap',
        out_indices=(3, 5, 7, 11),
        interpolate_mode='bicubic'),
    neck=dict(
        type='Feature2Pyramid',
        embed_dim=192,
        rescales=[4, 2, 1, 0.5],
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_channels=[192, 192, 192, 192],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=20,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            avg_non_ignore=True,
            loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=192,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=20,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            avg_non_ignore=True,
            loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# data (LIP: {train,val}_images/*.jpg, {train,val}_segmentations/*.png)
dataset_type = 'LIPDataset'
data_root = 'data/LIP/'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),  # names a missing file
    dict(type='LoadCheckedAnnotations', num_classes=20),
    dict(
        type='RandomResize',
        scale=(384, 576),  # (w, h)
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlipSwapLabels', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
# LoadCheckedAnnotations: mmseg's LoadAnnotations, and a label outside
# 0..19 (other than 255, ignored) is an error naming the mask file
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),  # names a missing file
    dict(type='Resize', scale=(384, 576), keep_ratio=True),
    dict(type='LoadCheckedAnnotations', num_classes=20),
    dict(type='PackSegInputs')
]
# multi-scale + flip test (tools/test.py --tta); the ground truth is
# loaded after the flip, so it keeps its orientation
img_ratios = [0.75, 1.0, 1.25, 1.5]
tta_model = dict(type='FlipSwapSegTTAModel')
tta_pipeline = [
    dict(type='LoadCheckedImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='Resize', scale_factor=r, keep_ratio=True)
            for r in img_ratios
        ], [
            dict(type='RandomFlip', prob=0., direction='horizontal'),
            dict(type='RandomFlip', prob=1., direction='horizontal')
        ], [dict(type='LoadCheckedAnnotations', num_classes=20)],
                    [dict(type='PackSegInputs')]])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # mmseg batches lists (images of different sizes, padded by the data
    # preprocessor); stated so that tools/train.py's default does not apply
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='train_images', seg_map_path='train_segmentations'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='val_images', seg_map_path='val_segmentations'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
