# Photometric augmentations shared by the DPAL and SAIP views (mmpretrain
# transforms; no normalisation, the data preprocessor does it).
person_ratio = (0.4, 0.6)  # w / h
# crops of the person image (add scale and crop_ratio_range) and of a canvas
person_crop = dict(type='RandomResizedCrop', aspect_ratio_range=person_ratio,
                   interpolation='bicubic', backend='pillow')
canvas_crop = dict(type='RandomResizedCrop', crop_ratio_range=(0.2, 1.0),
                   aspect_ratio_range=(3 / 4, 4 / 3), interpolation='bicubic',
                   backend='pillow')
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
# what follows the crop in each view: global (g1), second global (g2) and
# canvas, local
global_augs = [*color_aug, dict(**blur, prob=1.0)]
solarized_augs = [
    *color_aug, dict(**blur, prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2)
]
local_augs = [*color_aug, dict(**blur, prob=0.5)]
