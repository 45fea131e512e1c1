# DPAL's paper schedule (docs/fidelity.md): AdamW (0.9, 0.95), wd 0.05 with
# no decay on biases and norms only (the reference exempts 1-D parameters
# and biases: position embeddings and tokens are decayed), lr 2.5e-4 per 256
# images (auto-scaled to the real total batch), 10 linear warmup epochs then
# a half-cycle cosine, fp16 autocast with a dynamic loss scale, gate-loss
# weight 0.1 -> 0.01 after epoch 20, the student's EMA copy updated after
# every optimizer step. AdamW is torch's fused one (the same update, one
# kernel for all parameters).
max_epochs = 200
warmup_epochs = 10
optim_wrapper = dict(
    type='AmpOrFP32OptimWrapper',  # fp32 steps where there is no GPU
    loss_scale='dynamic',
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
    dict(type='GateLossWeightHook', milestone=20, weights=(0.1, 0.01)),
    dict(type='EMAUpdateHook'),  # the student's EMA copy
]
# lr above is per 256 images: the Runner scales it to the real batch
auto_scale_lr = dict(base_batch_size=256, enable=True)
