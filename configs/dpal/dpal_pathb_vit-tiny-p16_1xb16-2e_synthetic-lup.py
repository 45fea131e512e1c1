# DPAL demo: the PATH-B -> ViT-Ti pair on the embedded synthetic humans
# (`make data`), at half resolution, 2 epochs, CPU-friendly (`make demo`).
# Without converted PATH-B weights the teacher is random (a smoke run); set
# model.teacher_checkpoint to distil a real one.
_base_ = ['./dpal_pathb_vit-tiny-p16_8xb256-amp-200e_lup1m.py']

data_root = '{{ fileDirname }}/../../data/synthetic/'
global_size, local_size, crowd_size = (128, 64), (64, 48), (128, 128)
# the full config's views (crops, augmentations, crowd canvas) at these
# sizes with the synthetic canvases
views = dict(
    _base_.views,
    paste_size=local_size,
    canvas_root=data_root + 'canvas/',
    global_pipeline=[
        dict(_base_.global_crop, scale=global_size), *_base_.global_augs
    ],
    local_pipeline=[
        dict(_base_.local_crop, scale=local_size), *_base_.local_augs
    ],
    canvas_pipeline=[
        dict(_base_.crowd_crop, scale=crowd_size), *_base_.solarized_augs
    ])
train_pipeline = [_base_.load_image, views, _base_.pack_views]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    pin_memory=False,
    dataset=dict(
        data_root=data_root, data_prefix='LUPerson',
        pipeline=train_pipeline))

model = dict(teacher_checkpoint=None)
max_epochs = 2
# the paper's optimizer (fp32 steps on a CPU) at a higher lr
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='GateLossWeightHook', milestone=1, weights=(0.1, 0.01)),
    dict(type='EMAUpdateHook'),
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=5))
