# A pretrained ViT-Ti (a DPAL or SAIP student) as the backbone of an
# mmpretrain ImageClassifier at 256x128 (the ReID and attribute recipes; the
# child adds the head). The
# backbone starts from an extracted student (tools/model_converters/
# extract_backbone.py); set model.backbone.init_cfg.checkpoint.
_base_ = ['../models/dpal_students.py']

img_size = (256, 128)  # (h, w)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        _base_.vit_tiny,
        out_type='cls_token',
        drop_path_rate=0.1,
        init_cfg=dict(
            type='StrictPretrained',
            checkpoint='work_dirs/dpal_pathb_vit-tiny/backbone.pth')))
# the first two steps of every pipeline
load_and_resize = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=img_size[::-1], interpolation='bicubic'),
]
optim_wrapper = dict(
    optimizer=dict(type='AdamW', weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0)
        }))
val_cfg = dict()
test_cfg = dict()
