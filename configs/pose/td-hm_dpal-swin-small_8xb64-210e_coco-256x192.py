# DPAL Swin-S student (configs/_base_/models/dpal_students.py: 96 wide,
# depths 2-2-18-2, last stage 768 wide at stride 32): the Swin-T pose config
# with the small arch and a higher drop path rate. Point the backbone at a
# file written by tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
_base_ = ['./td-hm_dpal-swin-tiny_8xb64-210e_coco-256x192.py']

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.3,
        init_cfg=dict(
            checkpoint='work_dirs/dpal_pathb_swin-small/backbone.pth')))
