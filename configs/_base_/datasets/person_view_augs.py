# Photometric augmentations shared by the DPAL and SAIP views (the authors'
# torchvision recipe; no normalisation, the data preprocessor does it). The
# CV2* transforms are mmpretrain's of the same name on uint8 BGR with OpenCV,
# same arguments and random draws (docs/fidelity.md: what differs, by how
# much); drop the prefix (and use backend='pillow' on the crop) for Pillow.
person_ratio = (0.4, 0.6)  # w / h
# crops of the person image (add scale and crop_ratio_range) and of a canvas
person_crop = dict(type='CV2RandomResizedCrop',
                   aspect_ratio_range=person_ratio, interpolation='bicubic')
canvas_crop = dict(type='CV2RandomResizedCrop', crop_ratio_range=(0.2, 1.0),
                   aspect_ratio_range=(3 / 4, 4 / 3), interpolation='bicubic')
color_aug = [
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='CV2ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='CV2RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
]
blur = dict(type='CV2GaussianBlur', magnitude_range=(0.1, 2.0),
            magnitude_std='inf')
# what follows the crop in each view: global (g1), second global (g2) and
# canvas, local
global_augs = [*color_aug, dict(**blur, prob=1.0)]
solarized_augs = [
    *color_aug, dict(**blur, prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2)
]
local_augs = [*color_aug, dict(**blur, prob=0.5)]
