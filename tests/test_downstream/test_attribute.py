"""Attributes: the synthetic PA-100K config trains and reports mA."""
import torch
from downstream_helpers import two_iteration_cfg
from mmengine.runner import Runner

SYNTHETIC = 'attribute/par_dpal-vit-tiny_1xb16-2e_synthetic-pa100k' \
    '-256x128.py'


def test_synthetic_attributes_train_and_report_ma(synthetic_root, tmp_path):
    cfg = two_iteration_cfg(SYNTHETIC, synthetic_root / 'PA-100K', tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert torch.isfinite(torch.tensor(scalars['train/loss'].current()))
    mA = scalars['val/attribute/mA'].current()
    assert 0 <= mA <= 100
