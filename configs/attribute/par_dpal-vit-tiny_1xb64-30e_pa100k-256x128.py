# Pedestrian attribute recognition on PA-100K with a DPAL ViT-Ti student
# (ALGORITHMS.md 3): 256x128, a linear multi-label head on the cls token,
# sigmoid BCE (unweighted here), AdamW 1e-4, 30 epochs, mA.
#   python tools/train.py \
#       configs/attribute/par_dpal-vit-tiny_1xb64-30e_pa100k-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = ['../_base_/default_runtime.py', '../_base_/models/dpal_students.py']

data_root = 'data/PA-100K/'
num_attributes = 26
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
            type='Pretrained',
            checkpoint='work_dirs/dpal_pathb_vit-tiny/backbone.pth')),
    head=dict(
        type='MultiLabelLinearClsHead',
        in_channels=192,
        num_classes=num_attributes,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)))

img_size = (256, 128)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=img_size[::-1], interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=img_size[::-1], interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='PA100KDataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PA100KDataset', data_root=data_root, split='val',
                 pipeline=test_pipeline))
test_dataloader = dict(val_dataloader, dataset=dict(
    type='PA100KDataset', data_root=data_root, split='test',
    pipeline=test_pipeline))
val_evaluator = dict(type='AttributeMetric', thr=0.5)
test_evaluator = val_evaluator

max_epochs = 30
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0)
        }))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         begin=0, end=max_epochs, eta_min=1e-6),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(interval=5, save_best='attribute/mA', rule='greater'))
