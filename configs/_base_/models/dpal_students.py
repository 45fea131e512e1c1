# DPAL student backbones (docs/fidelity.md), as plain mmpretrain backbones
# so that their weights load into the same dicts downstream. ViTs use DPAL's
# head counts through layer_cfgs: the last block's heads follow the
# teacher's (12 for PATH-B, 16 for PATH-L); Swins give their last stage,
# whose average-pooled token is the student's "cls".
_vit = dict(
    type='VisionTransformer',
    img_size=(256, 128),
    patch_size=16,
    qkv_bias=True,
    norm_cfg=dict(type='LN', eps=1e-6),
    final_norm=True,
    out_type='raw',
    drop_path_rate=0.0)
vit_tiny = dict(
    **_vit,
    arch=dict(embed_dims=192, num_layers=12, num_heads=6,
              feedforward_channels=768),
    layer_cfgs=[dict()] * 11 + [dict(num_heads=12)])
vit_tiny_pathl = dict(
    vit_tiny, layer_cfgs=[dict()] * 11 + [dict(num_heads=16)])
vit_small = dict(
    **_vit,
    arch=dict(embed_dims=384, num_layers=12, num_heads=6,
              feedforward_channels=1536),
    layer_cfgs=[dict()] * 11 + [dict(num_heads=12)])
vit_base = dict(
    **_vit,
    arch=dict(embed_dims=768, num_layers=12, num_heads=12,
              feedforward_channels=3072),
    layer_cfgs=[dict()] * 11 + [dict(num_heads=16)])
_swin = dict(
    type='SwinTransformer',
    img_size=(256, 128),
    out_indices=(3, ),
    pad_small_map=True,
    drop_path_rate=0.1)
swin_tiny = dict(**_swin, arch='tiny')
swin_small = dict(**_swin, arch='small')
