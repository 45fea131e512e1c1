# DPAL ViT-Ti/16 student fine-tuned for human parsing on CIHP (crowd
# instance-level human parsing, read as 20-class semantic part maps: LIP's
# ids, id 10 is Torso-skin) with the LIP UPerNet recipe (see the base):
# AdamW 7e-4, layer decay 0.65, 150 epochs, mIoU. CIHP images are
# multi-person scenes, so training takes 512x512 crops of images rescaled
# to a 512 long side times 0.5..2.0, and testing uses the 512 long side.
# The training flip swaps the left/right labels (CIHP's pairs are LIP's).
# data_root is the release folder (instance-level_human_parsing/) holding
# Training/ and Validation/.
#   python tools/train.py \
#       configs/parsing/uper_dpal-vit-tiny_8xb4-150e_cihp-512x512.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = ['./uper_dpal-vit-tiny_8xb4-150e_lip-576x384.py']

crop_size = (512, 512)  # (h, w)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

dataset_type = 'CIHPDataset'
data_root = 'data/CIHP/'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations', num_classes=20),
    dict(
        type='RandomResize',
        scale=(512, 512),  # (w, h): the long side to 512, then x0.5..2.0
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlipSwapLabels', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadCheckedAnnotations', num_classes=20),
    dict(type='PackSegInputs')
]
# replaces the LIP dataset dicts (their data_prefix does not apply)
dataset = dict(_delete_=True, type=dataset_type, data_root=data_root)
train_dataloader = dict(
    dataset=dict(dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(dataset, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
