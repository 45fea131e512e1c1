# SAIP's CPU-scale recipe: the study's ViT-Ti (tools/analysis_tools/
# hvp_study.py, docs/study.md). The demo's views and heads at 128 x 64,
# 6 epochs instead of 2 (600 iterations on the x4 synthetic data, about
# 4 minutes on 2 cores).
_base_ = ['./saip_vit-tiny-p16_1xb8-2e_synthetic-lup.py']

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
