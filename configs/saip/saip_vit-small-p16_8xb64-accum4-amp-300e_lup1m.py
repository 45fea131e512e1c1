# SAIP ViT-S/16 with the ViT-Ti recipe. Short alias: saip_vit-small.py
_base_ = ['./saip_vit-tiny-p16_8xb64-accum4-amp-300e_lup1m.py']
embed_dims = 384
model = dict(
    backbone=dict(arch='deit-small'),
    matching_head=dict(projection=dict(in_channels=embed_dims)),
    reconstruction_head=dict(decoder=dict(in_channels=embed_dims)),
    search_head=dict(in_channels=embed_dims))
