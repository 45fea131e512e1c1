# DPAL views on LUP1M (docs/methods.md 1.1): one global 256x128 view, two local
# 128x96 views and one 256x256 crowd view (a canvas with the last local view
# and the resized global view pasted side by side, alpha 0.7).
# Layout: data/LUP1M/images/**.jpg (unlabelled crops, any nesting) and
# data/LUP1M/canvas/**.jpg (any images); change with --cfg-options
# train_dataloader.dataset.data_root=... or the variables below in a child.
_base_ = ['./person_view_augs.py']

data_root = 'data/LUP1M/'
canvas_root = data_root + 'canvas/'
dataset_type = 'LUPersonDataset'
load_image = dict(type='LoadCheckedImageFromFile', skip_bad=False)

global_size = (256, 128)  # (h, w)
local_size = (128, 96)
crowd_size = (256, 256)
num_locals = 2
# each view: its crop, then its augmentations (a child config that changes
# the sizes rebuilds `views` from these by name)
global_crop = dict(**_base_.person_crop, scale=global_size,
                   crop_ratio_range=(0.8, 1.0))
local_crop = dict(**_base_.person_crop, scale=local_size,
                  crop_ratio_range=(0.05, 0.8))
crowd_crop = dict(**_base_.canvas_crop, scale=crowd_size)
views = dict(
    type='CrowdCompositeViews',
    num_locals=num_locals,
    paste_size=local_size,
    alpha=0.7,
    canvas_root=canvas_root,
    global_pipeline=[global_crop, *_base_.global_augs],
    local_pipeline=[local_crop, *_base_.local_augs],
    canvas_pipeline=[crowd_crop, *_base_.solarized_augs])
pack_views = dict(type='PackViews')

train_pipeline = [load_image, views, pack_views]
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='images',
        pipeline=train_pipeline))
