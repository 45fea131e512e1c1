# DPAL Swin-T student (configs/_base_/models/dpal_students.py: 96 wide,
# depths 2-2-6-2, last stage 768 wide at stride 32), fine-tuned with the
# top-down heatmap recipe for Swins (see the base: 3 deconv layers, no layer
# decay). Point the backbone at a file written by
# tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
_base_ = ['./_base_/td-hm_swin_udp-256x192_coco.py']

model = dict(
    backbone=dict(
        arch='tiny',
        drop_path_rate=0.2,
        init_cfg=dict(
            type='StrictPretrained',
            checkpoint='work_dirs/dpal_pathb_swin-tiny/backbone.pth')),
    head=dict(in_channels=768))
