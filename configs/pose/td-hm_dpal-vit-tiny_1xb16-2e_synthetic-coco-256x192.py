# Smoke-test version of td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py on the
# embedded synthetic COCO person-keypoints set (data/synthetic/coco, written
# by tools/dataset_converters/generate_synthetic_humans.py): same model and
# recipe, shrunk to a CPU-friendly 128x96 input (32x24 UDP heatmaps), one
# process x 16 images, 2 epochs, GT boxes, CocoMetric on the synthetic val.
# The backbone starts from scratch unless given an extracted file:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
_base_ = ['./td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py']

data_root = '{{ fileDirname }}/../../data/synthetic/coco/'

train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))

param_scheduler = [
    dict(type='LinearLR', begin=0, end=5, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=2,
        milestones=[1],
        gamma=0.1,
        by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)

codec = dict(
    type='UDPHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)

model = dict(
    backbone=dict(drop_path_rate=0.0, init_cfg=dict(checkpoint=None)),
    head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='PackPoseInputs')
]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
