# SAIP views on LUP1M (docs/methods.md 2.1): g1 and g2 (256x128), n - 1 = 7
# local crops (128x64), the region (g1 resized to 128x64) and the ref view:
# a 224x224 canvas with l_{n-1} pasted in a left box and the region in a box
# to its right (alpha 0.7); the boxes travel as `paste_boxes`.
# Layout as lup1m_dpal.py: data/LUP1M/images/ and data/LUP1M/canvas/.
_base_ = ['./person_view_augs.py']

data_root = 'data/LUP1M/'
canvas_root = data_root + 'canvas/'
dataset_type = 'LUPersonDataset'
load_image = dict(type='LoadCheckedImageFromFile', skip_bad=False)

global_size = (256, 128)  # (h, w)
local_size = (128, 64)
ref_size = (224, 224)
num_local_crops = 8  # n: l_1..l_{n-1} plus the region
# each view: its crop, then its augmentations (a child config that changes
# the sizes rebuilds `views` from these by name)
global_crop = dict(**_base_.person_crop, scale=global_size,
                   crop_ratio_range=(0.8, 1.0))
local_crop = dict(**_base_.person_crop, scale=local_size,
                  crop_ratio_range=(0.05, 0.8))
crowd_crop = dict(**_base_.canvas_crop, scale=ref_size)
views = dict(
    type='CrowdCompositeViews',
    num_locals=num_local_crops - 1,
    paste_size=local_size,
    alpha=0.7,
    with_region=True,
    canvas_root=canvas_root,
    global_pipeline=[global_crop, *_base_.global_augs],
    second_global_pipeline=[global_crop, *_base_.solarized_augs],
    local_pipeline=[local_crop, *_base_.local_augs],
    canvas_pipeline=[crowd_crop, *_base_.solarized_augs])
pack_views = dict(type='PackViews', algorithm_keys=['paste_boxes'])

train_pipeline = [load_image, views, pack_views]
train_dataloader = dict(
    batch_size=64,
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
