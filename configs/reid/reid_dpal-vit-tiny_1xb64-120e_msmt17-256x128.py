# Person ReID on MSMT17 with a DPAL ViT-Ti student (docs/methods.md 3): the
# Market-1501 recipe (256x128, softmax + batch-hard triplet, 4 images per
# identity, batch 64, 120 epochs, AdamW 2e-4, mAP / CMC without re-ranking)
# on MSMT17's lists: train + val (1041 identities) for training, query vs
# gallery for testing. data_root is the V1 release folder (train/, test/,
# list_*.txt) or V2's (mask_train_v2/, mask_test_v2/, list_*.txt).
#   python tools/train.py \
#       configs/reid/reid_dpal-vit-tiny_1xb64-120e_msmt17-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = ['./reid_dpal-vit-tiny_1xb64-120e_market1501-256x128.py']

data_root = 'data/MSMT17_V1/'
num_ids = 1041
model = dict(head=dict(num_classes=num_ids))
train_dataloader = dict(
    dataset=dict(type='MSMT17Dataset', data_root=data_root, split='train',
                 with_val=True))
val_dataloader = dict(
    dataset=dict(type='MSMT17Dataset', data_root=data_root, split='test'))
test_dataloader = val_dataloader
