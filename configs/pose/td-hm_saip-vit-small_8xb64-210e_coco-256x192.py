# SAIP ViT-S/16 student (deit-small: 384 wide, 6 heads; its inter_norm is
# dropped on extraction), fine-tuned with the ViTPose-style top-down heatmap
# recipe (see td-hm_saip-vit-tiny_... and the base). Point the backbone at
# a file written by tools/model_converters/extract_backbone.py, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../backbone.pth
_base_ = ['./td-hm_saip-vit-tiny_8xb64-210e_coco-256x192.py']

embed_dims = 384
model = dict(
    backbone=dict(
        arch=dict(
            embed_dims=embed_dims,
            num_layers=12,
            num_heads=6,
            feedforward_channels=1536),
        init_cfg=dict(checkpoint='work_dirs/saip_vit-small/backbone.pth')),
    head=dict(in_channels=embed_dims))
