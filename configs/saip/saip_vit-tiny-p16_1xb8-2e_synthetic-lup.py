# SAIP demo: ViT-Ti/16 on the embedded synthetic humans (`make data`) at
# half resolution with a small decoder and projection, 2 epochs, CPU.
_base_ = ['./saip_vit-tiny-p16_8xb64-accum4-amp-300e_lup1m.py']

data_root = '{{ fileDirname }}/../../data/synthetic/'
global_size, local_size, ref_size = (128, 64), (64, 32), (112, 112)
# the full config's views (crops, augmentations, paste boxes) at these sizes
# with 3 local crops and the synthetic canvases
global_crop = dict(_base_.global_crop, scale=global_size)
views = dict(
    _base_.views,
    num_locals=3,
    paste_size=local_size,
    canvas_root=data_root + 'canvas/',
    global_pipeline=[global_crop, *_base_.global_augs],
    second_global_pipeline=[global_crop, *_base_.solarized_augs],
    local_pipeline=[
        dict(_base_.local_crop, scale=local_size), *_base_.local_augs
    ],
    canvas_pipeline=[
        dict(_base_.crowd_crop, scale=ref_size), *_base_.solarized_augs
    ])
train_pipeline = [_base_.load_image, views, _base_.pack_views]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    pin_memory=False,
    dataset=dict(
        data_root=data_root, data_prefix='LUPerson',
        pipeline=train_pipeline))

model = dict(
    matching_head=dict(
        projection=dict(hidden_channels=512, bottleneck_channels=128,
                        out_channels=4096),
        loss_rep=dict(out_channels=4096)),
    reconstruction_head=dict(
        decoder=dict(embed_dims=128, depth=2, num_heads=4, base_grid=(8, 4))),
    search_head=dict(embed_dims=128, num_heads=4))
max_epochs = 2
# the paper's optimizer (fp32 steps on a CPU), no accumulation
optim_wrapper = dict(accumulative_counts=1, optimizer=dict(lr=5e-4))
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
