# Short name of saip_vit-small-p16_8xb64-accum4-amp-300e_lup1m.py.
_base_ = ['./saip/saip_vit-small-p16_8xb64-accum4-amp-300e_lup1m.py']
