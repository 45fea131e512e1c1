# DPAL views on LUP1M (ALGORITHMS.md 1.1): one global 256x128 view, two local
# 128x96 views and one 256x256 crowd view (a canvas with the last local view
# and the resized global view pasted side by side, alpha 0.7).
# Layout: data/LUP1M/images/**.jpg (unlabelled crops, any nesting) and
# data/LUP1M/canvas/**.jpg (any images); change with --cfg-options
# train_dataloader.dataset.data_root=... or the variables below in a child.
data_root = 'data/LUP1M/'
canvas_root = data_root + 'canvas/'
dataset_type = 'LUPersonDataset'
load_image = dict(type='LoadCheckedImageFromFile', skip_bad=False)

global_size = (256, 128)  # (h, w)
local_size = (128, 96)
crowd_size = (256, 256)
num_locals = 2
person_ratio = (0.4, 0.6)  # w / h
color_aug = [
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
]
blur = dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
            magnitude_std='inf')

views = dict(
    type='CrowdCompositeViews',
    num_locals=num_locals,
    paste_size=local_size,
    alpha=0.7,
    canvas_root=canvas_root,
    global_pipeline=[
        dict(type='RandomResizedCrop', scale=global_size,
             crop_ratio_range=(0.8, 1.0), aspect_ratio_range=person_ratio,
             interpolation='bicubic', backend='pillow'),
        *color_aug,
        dict(**blur, prob=1.0),
    ],
    local_pipeline=[
        dict(type='RandomResizedCrop', scale=local_size,
             crop_ratio_range=(0.05, 0.8), aspect_ratio_range=person_ratio,
             interpolation='bicubic', backend='pillow'),
        *color_aug,
        dict(**blur, prob=0.5),
    ],
    canvas_pipeline=[
        dict(type='RandomResizedCrop', scale=crowd_size,
             crop_ratio_range=(0.2, 1.0), aspect_ratio_range=(3 / 4, 4 / 3),
             interpolation='bicubic', backend='pillow'),
        *color_aug,
        dict(**blur, prob=0.1),
        dict(type='Solarize', thr=128, prob=0.2),
    ])

train_pipeline = [load_image, views, dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='images',
        pipeline=train_pipeline))
