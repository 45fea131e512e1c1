# Pedestrian attribute recognition on PA-100K with a DPAL ViT-Ti student
# (docs/methods.md 3): 256x128, a linear multi-label head on the cls token,
# weighted sigmoid BCE (a positive of attribute j weighs exp(1 - p_j), a
# negative exp(p_j), p_j its positive ratio in the training set, computed
# before training by AttributePositiveRatioHook), AdamW 1e-4, 30 epochs, mA.
#   python tools/train.py \
#       configs/attribute/par_dpal-vit-tiny_1xb64-30e_pa100k-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/downstream/image-classifier_vit-tiny_256x128.py'
]

data_root = 'data/PA-100K/'
num_attributes = 26
model = dict(
    head=dict(
        type='MultiLabelLinearClsHead',
        in_channels=192,
        num_classes=num_attributes,
        loss=dict(type='AttributeWeightedBCELoss')))
# fills the loss's pos_ratio from the training labels (unless given there)
custom_hooks = [dict(type='AttributePositiveRatioHook')]
train_pipeline = [
    *_base_.load_and_resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    *_base_.load_and_resize,
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
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         begin=0, end=max_epochs, eta_min=1e-6),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
default_hooks = dict(
    checkpoint=dict(interval=5, save_best='attribute/mA', rule='greater'))
