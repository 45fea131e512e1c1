# Top-down heatmap pose fine-tuning of a pretrained plain ViT on COCO
# (docs/methods.md section 3): the mmpose 1.x ViTPose recipe with the classic
# HeatmapHead (2 deconv layers of 256), UDP heatmaps 48x64 for 256x192 input,
# AdamW 5e-4 / wd 0.1 with layer-wise lr decay 0.75, 210 epochs (steps
# 170/200), flip test, GT person boxes. Arch configs set the backbone width
# (``model.backbone`` / ``model.head.in_channels``) and the pretrained file.
# The input size is the codec's (192, 256); the backbone keeps its
# pretraining img_size (see below).
default_scope = 'mmpose'
custom_imports = dict(
    imports=[
        'projects.saip_dpal', 'mmpretrain.models',
        'mmpose.engine.optim_wrappers'
    ],
    allow_failed_imports=False)
# our Runner: weights-only checkpoint reading, a quiet console
runner_type = 'GuardedRunner'

# runtime
train_cfg = dict(by_epoch=True, max_epochs=210, val_interval=10)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='SafeCheckpointHook',  # atomic writes, rotation after saving
        interval=10,
        save_best='coco/AP',
        rule='greater',
        max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # SIGTERM: save the current iteration, one line, exit 143
    signal_checkpoint=dict(type='SignalCheckpointHook'),
    visualization=dict(type='PoseVisualizationHook', enable=False),
    badcase=dict(
        type='BadCaseAnalysisHook',
        enable=False,
        out_dir='badcase',
        metric_type='loss',
        badcase_thr=5))
custom_hooks = [dict(type='SyncBuffersHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl', timeout=600))  # seconds; torch: 1800
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='PoseLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(
    type='LogProcessor', window_size=50, by_epoch=True, num_digits=6)
log_level = 'INFO'
# a fixed seed (each rank its own stream): two identical runs train alike
randomness = dict(seed=0, diff_rank_seed=True)
load_from = None
resume = False
backend_args = dict(backend='local')

# optimizer: layer-wise lr decay over mmpretrain VisionTransformer
# parameters grouped by ``backbone.layers.N.``: patch/pos embedding and cls
# token at depth 0, block N at N + 1, the final norm and the head at
# num_layers + 1, with lr scale layer_decay_rate ** (num_layers + 1 - depth);
# no weight decay on 1-D parameters and pos_embed. These are the groups of
# mmpose's LayerDecayOptimWrapperConstructor, which prints its settings.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(
        num_layers=12, layer_decay_rate=0.75, no_decay_names=('pos_embed', )),
    constructor='ViTLayerDecayOptimWrapperConstructor',
    clip_grad=dict(max_norm=1., norm_type=2))

# learning policy
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=210,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]
# the recipe's lr is for 8 GPUs x 64 images
auto_scale_lr = dict(base_batch_size=512)

# codec settings
codec = dict(
    type='UDPHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# model settings
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=192,
            num_layers=12,
            num_heads=3,
            feedforward_channels=768),
        # declared as pretrained (256x128, a 16x8 grid) so extracted student
        # files load unchanged: mmpretrain resizes a checkpoint pos_embed on
        # load only from a square grid, but its forward interpolates the
        # 16x8 pos_embed to the 16x12 grid of the 256x192 input every step
        # (the authors' pose configs do the same).
        img_size=(256, 128),
        patch_size=16,
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        drop_path_rate=0.1,
        with_cls_token=True,
        final_norm=True,
        out_type='featmap'),
    head=dict(
        type='HeatmapHead',
        in_channels=192,
        out_channels=17,
        deconv_out_channels=(256, 256),
        deconv_kernel_sizes=(4, 4),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# base dataset settings
data_root = 'data/coco/'
dataset_type = 'CocoDataset'
data_mode = 'topdown'

# pipelines
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),  # names a missing file
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadCheckedImageFromFile'),  # names a missing file
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='PackPoseInputs')
]

# data loaders (GT person boxes for evaluation: bbox_file=None)
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        bbox_file=None,
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
