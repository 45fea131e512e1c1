# DPAL: PATH-B teacher -> vit-tiny-p16 student, the paper's recipe
# (8 GPUs x 256 images, 200 epochs on LUP1M, fp16 AMP). Short alias:
# dpal_pathb_vit-tiny.py
#   tools/dist_train.sh configs/dpal_pathb_vit-tiny.py 8
# The teacher weights must be converted first (tools/model_converters/).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/lup1m_dpal.py',
    '../_base_/schedules/dpal_adamw-amp_200e.py',
    '../_base_/models/dpal.py',
    '../_base_/models/dpal_students.py',
    '../_base_/models/teacher_pathb.py',
]
model = dict(
    backbone={{_base_.vit_tiny}},
    teacher={{_base_.teacher}},
    teacher_checkpoint='checkpoints/teachers/pathb_mmpretrain.pth',
    neck=dict(
        in_channels=192,
        out_channels=768))
