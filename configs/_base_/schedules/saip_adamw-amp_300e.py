# SAIP's paper schedule (docs/fidelity.md): 8 GPUs x 64 images x 4
# accumulation steps, AdamW (0.9, 0.95), wd 0.05 (none on biases and norms
# only: position embeddings and tokens are decayed, as in the reference),
# blr 2.5e-4 per 256 images (2048 -> 2e-3), 10 warmup epochs then cosine,
# 300 epochs, fp16 AMP. The momentum encoder is updated after every optimizer
# step (decay 0.996^4 -> 1 over the optimizer steps). The teacher
# temperature is a constant 0.04 as in the paper command; set
# warmup_epochs=30 (and warmup_temp=0.07) for DINO's warm-up. AdamW is
# torch's fused one (the same update, one kernel for all parameters).
max_epochs = 300
warmup_epochs = 10
accumulation = 4
optim_wrapper = dict(
    type='AmpOrFP32OptimWrapper',  # fp32 steps where there is no GPU
    loss_scale='dynamic',
    accumulative_counts=accumulation,
    constructor='TrainableOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=2.5e-4, betas=(0.9, 0.95), weight_decay=0.05,
        fused=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
custom_hooks = [
    dict(type='EMAUpdateHook'),
    dict(type='TeacherTemperatureHook', warmup_temp=0.07, temp=0.04,
         warmup_epochs=0),
]
# lr is per 256 images; the Runner scales it to 8 x 64 x 4 = 2048 (the
# accumulation is not seen by auto_scale_lr: base_batch_size counts it)
auto_scale_lr = dict(base_batch_size=256 // accumulation, enable=True)
