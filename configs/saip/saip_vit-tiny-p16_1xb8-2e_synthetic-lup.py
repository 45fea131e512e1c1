# SAIP demo: ViT-Ti/16 on the embedded synthetic humans (`make data`) at
# half resolution with a small decoder and projection, 2 epochs, CPU.
_base_ = ['./saip_vit-tiny-p16_8xb64-accum4-amp-300e_lup1m.py']

data_root = '{{ fileDirname }}/../../data/synthetic/'
global_size, local_size, ref_size = (128, 64), (64, 32), (112, 112)
# the full config's views (crops, augmentations, paste boxes) at these sizes
# with 3 local crops and the synthetic canvases
train_pipeline = _base_.train_pipeline
views = train_pipeline[1]
views.update(num_locals=3, paste_size=local_size,
             canvas_root=data_root + 'canvas/')
views.global_pipeline[0].scale = global_size  # each view opens with its crop
views.second_global_pipeline[0].scale = global_size
views.local_pipeline[0].scale = local_size
views.canvas_pipeline[0].scale = ref_size
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    pin_memory=False,
    dataset=dict(
        data_root=data_root, data_prefix='LUPerson',
        pipeline=train_pipeline))

model = dict(
    neck=dict(embed_dims=128, depth=2, num_heads=4, base_grid=(8, 4)),
    head=dict(hidden_channels=512, bottleneck_channels=128,
              out_channels=4096),
    search_head=dict(embed_dims=128, num_heads=4),
    loss_csm=dict(out_channels=4096))
max_epochs = 2
# fp32 on CPU: AmpOptimWrapper needs a GPU; no accumulation
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='TrainableOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=5e-4, betas=(0.9, 0.95), weight_decay=0.05,
        fused=True),
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='EMAUpdateHook'),
    dict(type='TeacherTemperatureHook', warmup_temp=0.07, temp=0.04,
         warmup_epochs=1),
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=5))
