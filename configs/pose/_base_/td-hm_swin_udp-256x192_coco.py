# Top-down heatmap pose fine-tuning of a pretrained mmpretrain Swin on COCO:
# the ViT recipe of td-hm_udp-256x192_coco.py (UDP heatmaps 48x64 for 256x192
# input, AdamW 5e-4 / wd 0.1, 210 epochs, flip test, GT boxes) with a
# hierarchical backbone. Swin's last stage is at stride 32 (8x6 for 256x192),
# so the HeatmapHead upsamples it with 3 deconv layers of 256 to the 64x48
# heatmap. The ViT layer-decay constructor only knows ViT blocks
# (``backbone.layers.N``), so Swins use the default constructor with no weight
# decay on norms, biases and the position tables. Arch configs set
# ``model.backbone.arch``, its drop path rate and the pretrained file.
_base_ = ['./td-hm_udp-256x192_coco.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        # declared as the DPAL student (configs/_base_/models/dpal_students.py)
        # so extracted files load unchanged: the relative position tables do
        # not depend on the input size, and pad_small_map keeps the 7x7
        # windows on the small (8x4 pretraining, 8x6 here) last-stage map.
        img_size=(256, 128),
        window_size=7,
        out_indices=(3, ),
        pad_small_map=True,
        drop_path_rate=0.2),
    head=dict(
        in_channels=768,
        deconv_out_channels=(256, 256, 256),
        deconv_kernel_sizes=(4, 4, 4)))

optim_wrapper = dict(
    constructor='DefaultOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True,
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
        }))
