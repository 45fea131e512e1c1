# The attribute recipe on the embedded synthetic PA-100K (`make data`,
# 34 attributes: PA-100K's drawable ones plus one-hot clothing colours),
# 2 epochs on CPU, from scratch unless a backbone file is given
# (--cfg-options model.backbone.init_cfg.checkpoint=backbone.pth).
_base_ = ['./par_dpal-vit-tiny_1xb64-30e_pa100k-256x128.py']

data_root = '{{ fileDirname }}/../../data/synthetic/PA-100K/'
# init_cfg Pretrained without a checkpoint: random init
model = dict(
    backbone=dict(init_cfg=dict(checkpoint=None)),
    head=dict(num_classes=34))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=32, num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(
    batch_size=32, num_workers=0, dataset=dict(data_root=data_root))
max_epochs = 2
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         begin=0, end=max_epochs, eta_min=1e-6),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(logger=dict(interval=5))
