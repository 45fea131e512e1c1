# SAIP's CPU-scale recipe for a ViT-S/16: the study's DPAL teacher
# (tools/analysis_tools/hvp_study.py, docs/study.md), pretrained on the
# same synthetic crops as the students.
_base_ = ['./saip_vit-tiny-p16_1xb8-cpu-6e_synthetic-lup.py']

embed_dims = 384
model = dict(
    backbone=dict(arch='deit-small'),
    matching_head=dict(projection=dict(in_channels=embed_dims)),
    reconstruction_head=dict(decoder=dict(in_channels=embed_dims)),
    search_head=dict(in_channels=embed_dims))
