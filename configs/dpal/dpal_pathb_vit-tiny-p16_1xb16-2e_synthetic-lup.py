# DPAL demo: the PATH-B -> ViT-Ti pair on the embedded synthetic humans
# (`make data`), at half resolution, 2 epochs, CPU-friendly (`make demo`).
# Without converted PATH-B weights the teacher is random (a smoke run); set
# model.teacher_checkpoint to distil a real one.
_base_ = ['./dpal_pathb_vit-tiny-p16_8xb256-amp-200e_lup1m.py']

data_root = '{{ fileDirname }}/../../data/synthetic/'
global_size, local_size, crowd_size = (128, 64), (64, 48), (128, 128)
# the full config's views (crops, augmentations, crowd canvas) at these
# sizes with the synthetic canvases
train_pipeline = _base_.train_pipeline
views = train_pipeline[1]
views.update(paste_size=local_size, canvas_root=data_root + 'canvas/')
views.global_pipeline[0].scale = global_size  # each view opens with its crop
views.local_pipeline[0].scale = local_size
views.canvas_pipeline[0].scale = crowd_size
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    pin_memory=False,
    dataset=dict(
        data_root=data_root, data_prefix='LUPerson',
        pipeline=train_pipeline))

model = dict(teacher_checkpoint=None)
max_epochs = 2
# fp32 on CPU: AmpOptimWrapper needs a GPU
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='TrainableOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05,
        fused=True),
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
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
