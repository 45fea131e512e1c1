"""Attributes: the synthetic PA-100K config trains with the weighted BCE
(positive ratios set by AttributePositiveRatioHook) and reports mA."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from downstream_helpers import two_iteration_cfg
from mmengine.logging import MMLogger
from mmengine.registry import RUNNERS

SYNTHETIC = 'attribute/par_dpal-vit-tiny_1xb16-2e_synthetic-pa100k' \
    '-256x128.py'


def train_labels(root):
    from scipy.io import loadmat
    return np.asarray(loadmat(osp.join(root, 'annotation.mat'))['train_label'],
                      np.float64)


def test_synthetic_attributes_train_and_report_ma(synthetic_root, tmp_path):
    cfg = two_iteration_cfg(SYNTHETIC, synthetic_root / 'PA-100K', tmp_path)
    assert cfg.model.head.loss.type == 'AttributeWeightedBCELoss'
    assert [h.type for h in cfg.custom_hooks] == [
        'AttributePositiveRatioHook']
    runner = RUNNERS.build(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert torch.isfinite(torch.tensor(scalars['train/loss'].current()))
    mA = scalars['val/attribute/mA'].current()
    assert 0 <= mA <= 100

    # the hook's ratios: numpy's mean of the training labels, saved
    expect = train_labels(str(synthetic_root / 'PA-100K')).mean(axis=0)
    assert len(expect) == cfg.model.head.num_classes == 34
    ratio = runner.model.head.loss_module.pos_ratio
    np.testing.assert_allclose(ratio.numpy(), expect, rtol=1e-6)
    ckpt = torch.load(osp.join(str(tmp_path), 'iter_2.pth'),
                      map_location='cpu', weights_only=False)
    np.testing.assert_allclose(
        ckpt['state_dict']['head.loss_module.pos_ratio'].numpy(), expect,
        rtol=1e-6)


def fake_runner(model, dataset):
    return SimpleNamespace(
        model=model, train_dataloader=SimpleNamespace(dataset=dataset),
        logger=MMLogger.get_instance('test_attribute_hook'))


def test_hook_keeps_config_ratios_and_reads_label_lists(synthetic_root):
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import DATASETS, HOOKS, MODELS
    from projects.saip_dpal.utils import InputDataError
    dataset = DATASETS.build(
        dict(type='PA100KDataset',
             data_root=str(synthetic_root / 'PA-100K'), split='train'))
    expect = train_labels(str(synthetic_root / 'PA-100K')).mean(axis=0)
    hook = HOOKS.build(dict(type='AttributePositiveRatioHook'))

    def classifier(**loss):
        return MODELS.build(
            dict(type='ImageClassifier',
                 backbone=dict(type='mmpretrain.LeNet5'),
                 head=dict(type='MultiLabelLinearClsHead', in_channels=4,
                           num_classes=34,
                           loss=dict(type='AttributeWeightedBCELoss',
                                     **loss))))

    model = classifier()
    hook.before_train(fake_runner(model, dataset))
    np.testing.assert_allclose(model.head.loss_module.pos_ratio.numpy(),
                               expect, rtol=1e-6)

    given = [0.5] * 34
    model = classifier(pos_ratio=given)
    hook.before_train(fake_runner(model, dataset))
    assert model.head.loss_module.pos_ratio.tolist() == given

    # gt_label index lists (mmpretrain's multi-label datasets)
    class Lists:
        infos = [dict(gt_label=[0, 2]), dict(gt_label=[2])]

        def __len__(self):
            return len(self.infos)

        def get_data_info(self, i):
            return self.infos[i]

    model = classifier()
    hook.before_train(fake_runner(model, Lists()))
    ratio = model.head.loss_module.pos_ratio
    assert ratio[:3].tolist() == [0.5, 0.0, 1.0] and ratio.sum() == 1.5

    plain = MODELS.build(
        dict(type='ImageClassifier', backbone=dict(type='mmpretrain.LeNet5'),
             head=dict(type='MultiLabelLinearClsHead', in_channels=4,
                       num_classes=34)))
    with pytest.raises(InputDataError, match='no AttributeWeightedBCELoss'):
        hook.before_train(fake_runner(plain, dataset))
