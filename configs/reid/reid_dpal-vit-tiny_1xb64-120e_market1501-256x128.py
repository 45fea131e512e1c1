# Person ReID on Market-1501 with a DPAL ViT-Ti student (docs/methods.md 3):
# 256x128, softmax + batch-hard triplet, 4 images per identity, batch 64,
# 120 epochs, AdamW 2e-4; the L2-normalised cls feature before the BNNeck
# is compared query vs gallery (mAP, CMC; no re-ranking).
#   python tools/train.py \
#       configs/reid/reid_dpal-vit-tiny_1xb64-120e_market1501-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/downstream/image-classifier_vit-tiny_256x128.py'
]

data_root = 'data/Market-1501/'
num_ids = 751
model = dict(head=dict(type='ReIDHead', in_channels=192, num_classes=num_ids))
train_pipeline = [
    *_base_.load_and_resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad',
         size=(_base_.img_size[1] + 20, _base_.img_size[0] + 20)),
    dict(type='RandomCrop', crop_size=_base_.img_size),
    dict(type='RandomErasing', erase_prob=0.5, mode='rand'),
    dict(type='PackInputs'),
]
test_pipeline = [
    *_base_.load_and_resize,
    dict(type='PackInputs', algorithm_keys=['camid', 'is_query']),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='IdentityBalancedSampler', num_instances=4),
    dataset=dict(type='Market1501Dataset', data_root=data_root,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='Market1501Dataset', data_root=data_root,
                 split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric')
test_evaluator = val_evaluator

max_epochs = 120
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 5, by_epoch=True,
         begin=5, end=max_epochs, eta_min=1e-6),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
default_hooks = dict(
    checkpoint=dict(interval=10, save_best='reid/mAP', rule='greater'))
