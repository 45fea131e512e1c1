# Smoke-test version of uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py on the
# embedded synthetic LIP set (data/synthetic/LIP, written by
# tools/dataset_converters/generate_synthetic_humans.py): same model and
# recipe, shrunk to a CPU-friendly 256x128 input, narrower heads (128 / 64
# channels), plain BN, one process x 8 images, 2 epochs, mIoU on the
# synthetic val. The backbone starts from scratch unless given a file:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
_base_ = ['./uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py']

data_root = '{{ fileDirname }}/../../data/synthetic/LIP/'
crop_size = (256, 128)
norm_cfg = dict(type='BN', requires_grad=True)

train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        begin=0,
        end=2,
        by_epoch=True,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=8)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(drop_path_rate=0.0, init_cfg=dict(checkpoint=None)),
    neck=dict(norm_cfg=norm_cfg),
    decode_head=dict(channels=128, norm_cfg=norm_cfg),
    auxiliary_head=dict(channels=64, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations', num_classes=20),
    dict(
        type='RandomResize',
        scale=(128, 256),  # (w, h)
        ratio_range=(0.75, 1.25),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlipSwapLabels', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=(128, 256), keep_ratio=True),
    dict(type='LoadCheckedAnnotations', num_classes=20),
    dict(type='PackSegInputs')
]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
