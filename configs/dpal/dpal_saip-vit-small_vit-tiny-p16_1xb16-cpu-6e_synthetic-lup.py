# DPAL's CPU-scale recipe: a ViT-S that SAIP pretrained on the synthetic
# data (saip_vit-small-p16_1xb8-cpu-6e_synthetic-lup.py, then
# tools/model_converters/extract_backbone.py) distilled into a ViT-Ti, the
# study's DPAL (tools/analysis_tools/hvp_study.py, docs/study.md). The
# demo's views at 128 x 64, 6 epochs; the teacher runs in fp32 (bf16
# matrix products are slow on most CPUs).
_base_ = ['./dpal_pathb_vit-tiny-p16_1xb16-2e_synthetic-lup.py']

model = dict(
    teacher=dict(
        _delete_=True,
        type='VisionTransformer',
        arch='deit-small',
        img_size=(256, 128),
        patch_size=16,
        out_type='raw',
        out_indices=-1),
    teacher_checkpoint='work_dirs/hvp_study/teacher_seed0/backbone.pth',
    teacher_dtype=None,
    neck=dict(out_channels=384))
max_epochs = 6
# the demo's warm-up, then its cosine over the longer schedule
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], T_max=max_epochs, end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
    logger=dict(interval=20))
