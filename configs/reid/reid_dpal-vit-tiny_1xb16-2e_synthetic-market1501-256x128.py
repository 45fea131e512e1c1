# The ReID recipe on the embedded synthetic Market-1501 (`make data`),
# 2 epochs on CPU; starts from scratch unless a backbone file is given
# (--cfg-options model.backbone.init_cfg.checkpoint=backbone.pth).
_base_ = ['./reid_dpal-vit-tiny_1xb64-120e_market1501-256x128.py']

data_root = '{{ fileDirname }}/../../data/synthetic/Market-1501/'
# init_cfg StrictPretrained without a checkpoint: random init
model = dict(
    backbone=dict(init_cfg=dict(checkpoint=None)),
    head=dict(num_classes=16))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=32, num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_epochs = 2
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         begin=0, end=max_epochs, eta_min=1e-6),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(logger=dict(interval=5))
