"""ReID: the batch-hard triplet loss by hand, identity-balanced batches,
and the synthetic Market-1501 config training and evaluating mAP / CMC."""
import torch
from downstream_helpers import two_iteration_cfg
from mmengine.registry import RUNNERS

from projects.saip_dpal.datasets import (IdentityBalancedSampler,
                                         Market1501Dataset)
from projects.saip_dpal.models.heads import batch_hard_triplet_loss

SYNTHETIC = 'reid/reid_dpal-vit-tiny_1xb16-2e_synthetic-market1501' \
    '-256x128.py'


def test_batch_hard_triplet_loss_by_hand():
    feats = torch.tensor([[0., 0.], [1., 0.], [0., 3.], [0., 2.]])
    labels = torch.tensor([0, 0, 1, 1])
    # every hardest positive is at distance 1; hardest negatives:
    # anchor 0: min(3, 2) = 2; anchor 1: min(sqrt10, sqrt5) = sqrt5;
    # anchor 2: min(3, sqrt10) = 3; anchor 3: min(2, sqrt5) = 2
    loss = batch_hard_triplet_loss(feats, labels, margin=1.5)
    expect = (0.5 + (1 - 5**.5 + 1.5) + 0 + 0.5) / 4
    assert abs(float(loss) - expect) < 1e-5


def test_identity_balanced_batches(synthetic_root):
    import projects.saip_dpal  # noqa: F401
    ds = Market1501Dataset(str(synthetic_root / 'Market-1501'),
                           split='train', lazy_init=True)
    sampler = IdentityBalancedSampler(ds, num_instances=4, seed=0)
    indices = list(sampler)
    ids = [ds.get_data_info(i)['gt_label'] for i in indices]
    n_ids = len({ds.get_data_info(i)['gt_label'] for i in range(len(ds))})
    assert len(indices) == len(sampler) == 4 * n_ids
    for k in range(0, len(ids), 4):  # runs of 4 images of one identity
        assert len(set(ids[k:k + 4])) == 1
    assert len(set(ids)) == n_ids
    sampler.set_epoch(1)
    assert list(sampler) != indices


def test_synthetic_reid_trains_and_reports_map(synthetic_root, tmp_path):
    cfg = two_iteration_cfg(SYNTHETIC, synthetic_root / 'Market-1501',
                            tmp_path)
    runner = RUNNERS.build(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    for key in ('train/loss_softmax', 'train/loss_triplet'):
        assert torch.isfinite(torch.tensor(scalars[key].current()))
    mAP = scalars['val/reid/mAP'].current()
    assert 0 < mAP <= 100


def test_head_classes_follow_the_data_and_a_mismatch_is_one_line(
        synthetic_root, tmp_path):
    """The fine-tune loop sizes the classifier from the data's training
    identities (any data scale); a head too small for the labels stops
    with one line instead of an IndexError deep in cross_entropy."""
    import pytest
    from mmpretrain.structures import DataSample

    from projects.saip_dpal.benchmarks import finetune_config
    from projects.saip_dpal.datasets import Market1501Dataset
    from projects.saip_dpal.models.heads import ReIDHead
    from projects.saip_dpal.utils import InputDataError
    train = Market1501Dataset(str(synthetic_root / 'Market-1501'))
    ids = train.num_ids
    labels = {train.get_data_info(i)['gt_label'] for i in range(len(train))}
    assert labels == set(range(ids))
    cfg = finetune_config('reid', None, str(synthetic_root), str(tmp_path))
    assert cfg.model.head.num_classes == ids
    head = ReIDHead(in_channels=8, num_classes=3)
    samples = [DataSample().set_gt_label(label) for label in (0, 1, 5, 5)]
    with pytest.raises(InputDataError, match=r'^ReID label 5 is beyond the '
                       r"head's 3 classes: set model.head.num_classes"):
        head.loss(torch.randn(4, 8), samples)


def test_label_check_reads_no_device_value_on_the_host(meta_autocast):
    """The check of the labels makes no host-device sync: on the meta
    device the loss runs without a host read; with the CUDA behaviour (the
    largest label read one step late) a bad batch still gives a finite loss
    (its labels clamped into range, no device assert) and the next step
    stops with the line."""
    import pytest
    from mmpretrain.structures import DataSample

    from projects.saip_dpal.models.heads import ReIDHead
    from projects.saip_dpal.utils import InputDataError
    from projects.saip_dpal.utils.async_copies import LaggedHostRead
    from projects.saip_dpal.utils.host_syncs import HostSyncCounter
    samples = [DataSample().set_gt_label(label) for label in (0, 1, 5, 5)]
    head = ReIDHead(in_channels=8, num_classes=3).to('meta')
    meta_samples = [s.to('meta') for s in samples]
    with HostSyncCounter('meta') as syncs:
        losses = head.loss(torch.randn(4, 8, device='meta'), meta_samples)
    assert syncs.found == [] and losses['loss_softmax'].is_meta

    head = ReIDHead(in_channels=8, num_classes=3)
    head._label_max = LaggedHostRead(lag=True)
    losses = head.loss(torch.randn(4, 8), samples)
    assert torch.isfinite(losses['loss_softmax'])
    with pytest.raises(InputDataError, match=r'^ReID label 5 is beyond'):
        head.loss(torch.randn(4, 8), samples[:2])
