# DPAL ViT-Ti/16 student (configs/_base_/models/dpal_students.py: 192 wide, 6
# heads, 12 in the last block), fine-tuned for LIP human parsing with
# UPerNet (see the base). Point the backbone at a file written by
# tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
# The backbone is declared as pretrained (img_size 256x128); its position
# embedding is interpolated to the 36x24 grid of the 576x384 input.
_base_ = [
    './_base_/uper_vit-tiny_lip-576x384.py',
    '../_base_/models/dpal_students.py'
]
# the student as pretrained: width, depth and per-block heads
student = _base_.vit_tiny
model = dict(
    backbone=dict(
        arch=student.arch,
        layer_cfgs=student.layer_cfgs,
        init_cfg=dict(
            type='StrictPretrained',
            checkpoint='work_dirs/dpal_pathb_vit-tiny/backbone.pth')))
