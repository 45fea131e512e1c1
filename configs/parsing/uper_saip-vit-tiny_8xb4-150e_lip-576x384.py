# SAIP ViT-Ti/16 student (deit-tiny: 192 wide, 3 heads; its inter_norm is
# dropped on extraction), fine-tuned for LIP human parsing with UPerNet (see
# the base). Point the backbone at a file written by
# tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
# The backbone is declared as pretrained (img_size 256x128); its position
# embedding is interpolated to the 36x24 grid of the 576x384 input.
_base_ = ['./_base_/uper_vit-tiny_lip-576x384.py']

model = dict(
    backbone=dict(
        arch=dict(
            embed_dims=192,
            num_layers=12,
            num_heads=3,
            feedforward_channels=768),
        init_cfg=dict(
            type='StrictPretrained',
            checkpoint='work_dirs/saip_vit-tiny/backbone.pth')))
