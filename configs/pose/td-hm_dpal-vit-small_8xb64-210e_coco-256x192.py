# DPAL ViT-S/16 student (configs/_base_/models/dpal_students.py: 384 wide, 6
# heads, 12 in the last block),
# fine-tuned with the ViTPose-style top-down heatmap recipe (see the base).
# Point the backbone at a file written by
# tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
# The backbone is declared as pretrained (img_size 256x128); its position
# embedding is interpolated to the 16x12 grid of the 256x192 input.
_base_ = [
    './_base_/td-hm_udp-256x192_coco.py',
    '../_base_/models/dpal_students.py'
]
# the student as pretrained: width, depth and per-block heads
student = _base_.vit_small
model = dict(
    backbone=dict(
        arch=student.arch,
        layer_cfgs=student.layer_cfgs,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='StrictPretrained',
            checkpoint='work_dirs/dpal_pathb_vit-small/backbone.pth')),
    head=dict(in_channels=student.arch.embed_dims))
