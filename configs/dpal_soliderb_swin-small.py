# Short name of dpal_soliderb_swin-small_8xb256-amp-200e_lup1m.py.
_base_ = ['./dpal/dpal_soliderb_swin-small_8xb256-amp-200e_lup1m.py']
