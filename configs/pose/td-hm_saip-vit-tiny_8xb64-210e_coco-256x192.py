# SAIP ViT-Ti/16 student (deit-tiny: 192 wide, 3 heads; its inter_norm is
# dropped on extraction),
# fine-tuned with the ViTPose-style top-down heatmap recipe (see the base).
# Point the backbone at a file written by
# tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
# The backbone is declared as pretrained (img_size 256x128); its position
# embedding is interpolated to the 16x12 grid of the 256x192 input.
_base_ = ['./_base_/td-hm_udp-256x192_coco.py']

model = dict(
    backbone=dict(
        arch=dict(
            embed_dims=192,
            num_layers=12,
            num_heads=3,
            feedforward_channels=768),
        drop_path_rate=0.1,
        init_cfg=dict(
            type='StrictPretrained',
            checkpoint='work_dirs/saip_vit-tiny/backbone.pth')),
    head=dict(in_channels=192))
