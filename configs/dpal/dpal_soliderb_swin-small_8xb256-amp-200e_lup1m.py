# DPAL: SOLIDER-B teacher -> swin-small student, the paper's recipe
# (8 GPUs x 256 images, 200 epochs on LUP1M, fp16 AMP). Short alias:
# dpal_soliderb_swin-small.py
#   tools/dist_train.sh configs/dpal_soliderb_swin-small.py 8
# The teacher weights must be converted first (tools/model_converters/).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/lup1m_dpal.py',
    '../_base_/schedules/dpal_adamw-amp_200e.py',
    '../_base_/models/dpal.py',
    '../_base_/models/dpal_students.py',
    '../_base_/models/teacher_soliderb.py',
]
model = dict(
    backbone={{_base_.swin_small}},
    teacher={{_base_.teacher}},
    teacher_checkpoint='checkpoints/teachers/soliderb_mmpretrain.pth',
    neck=dict(
        in_channels=768,
        mid_channels=192,
        out_channels=1024))
