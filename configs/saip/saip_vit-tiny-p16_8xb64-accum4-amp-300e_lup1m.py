# SAIP ViT-Ti/16, the paper's recipe (8 GPUs x 64 images x 4 accumulation,
# 300 epochs on LUP1M, fp16 AMP). Short alias: saip_vit-tiny.py
#   tools/dist_train.sh configs/saip_vit-tiny.py 8
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/lup1m_saip.py',
    '../_base_/schedules/saip_adamw-amp_300e.py',
    '../_base_/models/saip_vit-tiny.py',
]
