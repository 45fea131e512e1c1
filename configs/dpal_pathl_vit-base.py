# Short name of dpal_pathl_vit-base-p16_8xb256-amp-200e_lup1m.py.
_base_ = ['./dpal/dpal_pathl_vit-base-p16_8xb256-amp-200e_lup1m.py']
