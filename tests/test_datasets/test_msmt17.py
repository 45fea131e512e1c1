"""MSMT17 list files: train (+ val) relabelling, query / gallery flags,
cameras from the file names, V2 folder names, one-line errors, and the
MSMT17 ReID config training and reporting mAP on a tiny tree."""
import os
import os.path as osp
import shutil

import pytest
import torch

CONFIG = 'reid/reid_dpal-vit-tiny_1xb64-120e_msmt17-256x128.py'


def market_items(folder):
    """(path, pid, cam) of a synthetic Market-1501 folder, people only."""
    items = []
    for name in sorted(os.listdir(folder)):
        pid, cam = name.split('_')[:2]
        if int(pid) > 0:
            cam = int(cam[1:].split('s')[0])  # cCsS
            items.append((osp.join(folder, name), int(pid), cam))
    return items


def write_msmt17(root, market):
    """An MSMT17 V1 tree made of synthetic Market-1501 crops: raw ids
    ``10 * market id``, cameras ``market camera + 9`` (10..15), the last
    image of every training identity in ``list_val``.

    Returns:
        dict: per list file its (relative path, pid, cam) lines.
    """
    lists = dict(train=[], val=[], query=[], gallery=[])
    sources = dict(train=('bounding_box_train', 'train'),
                   query=('query', 'test'),
                   gallery=('bounding_box_test', 'test'))
    for key, (market_folder, folder) in sources.items():
        items = market_items(osp.join(market, market_folder))
        for k, (src, pid, cam) in enumerate(items):
            pid, cam = 10 * pid, cam + 9
            rel = f'{pid:04d}/{pid:04d}_{k:03d}_{cam:02d}_0303morning_' \
                f'{k:04d}_0.jpg'
            os.makedirs(osp.join(root, folder, f'{pid:04d}'), exist_ok=True)
            shutil.copy(src, osp.join(root, folder, rel))
            lists[key].append((rel, pid, cam))
    last = {}
    for i, (_, pid, _) in enumerate(lists['train']):
        last[pid] = i
    lists['val'] = [lists['train'][i] for i in sorted(last.values())]
    lists['train'] = [it for i, it in enumerate(lists['train'])
                      if i not in set(last.values())]
    for key, lines in lists.items():
        with open(osp.join(root, f'list_{key}.txt'), 'w') as f:
            f.writelines(f'{rel} {pid}\n' for rel, pid, _ in lines)
    return lists


@pytest.fixture(scope='module')
def msmt(synthetic_root, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('msmt17') / 'MSMT17_V1')
    lists = write_msmt17(root, str(synthetic_root / 'Market-1501'))
    return root, lists


def build(root, **kwargs):
    from projects.saip_dpal.datasets import MSMT17Dataset
    return MSMT17Dataset(root, **kwargs)


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_train_split_relabels_train_and_val(msmt):
    root, lists = msmt
    listed = lists['train'] + lists['val']
    raw_ids = sorted({pid for _, pid, _ in listed})
    assert len(raw_ids) >= 2 and raw_ids[0] > 0
    data = infos(build(root, split='train'))
    assert len(data) == len(listed)
    for info, (rel, pid, cam) in zip(data, listed):
        assert info['img_path'] == osp.join(root, 'train', rel)
        assert osp.isfile(info['img_path'])
        assert info['gt_label'] == raw_ids.index(pid)
        assert info['camid'] == cam and 10 <= cam <= 15
        assert info['is_query'] is False
    assert sorted({d['gt_label'] for d in data}) == list(range(len(raw_ids)))

    # without val: fewer images, the same identities (val's are train's)
    no_val = infos(build(root, split='train', with_val=False))
    assert len(no_val) == len(lists['train']) < len(data)
    assert {d['gt_label'] for d in no_val} == {d['gt_label'] for d in data}


def test_test_split_is_query_then_gallery(msmt):
    root, lists = msmt
    data = infos(build(root, split='test'))
    listed = lists['query'] + lists['gallery']
    assert len(data) == len(listed)
    n_query = len(lists['query'])
    assert [d['is_query'] for d in data] == [True] * n_query + [False] * (
        len(listed) - n_query)
    for info, (rel, pid, cam) in zip(data, listed):
        assert info['img_path'] == osp.join(root, 'test', rel)
        assert (info['gt_label'], info['camid']) == (pid, cam)


def test_v2_folder_names(msmt, tmp_path):
    root, lists = msmt
    v2 = tmp_path / 'MSMT17_V2'
    shutil.copytree(root, v2)
    os.rename(v2 / 'train', v2 / 'mask_train_v2')
    os.rename(v2 / 'test', v2 / 'mask_test_v2')
    train = infos(build(str(v2), split='train'))
    assert len(train) == len(lists['train'] + lists['val'])
    assert train[0]['img_path'].startswith(str(v2 / 'mask_train_v2'))
    test = infos(build(str(v2), split='test'))
    assert test[0]['img_path'].startswith(str(v2 / 'mask_test_v2'))


def one_line_error(root, match, **kwargs):
    from projects.saip_dpal.utils import InputDataError
    with pytest.raises(InputDataError, match=match) as err:
        build(str(root), **kwargs)
    assert '\n' not in str(err.value)
    return str(err.value)


def test_bad_trees_are_one_line_errors(msmt, tmp_path):
    root, lists = msmt
    bad = tmp_path / 'bad'
    shutil.copytree(root, bad)
    with pytest.raises(ValueError, match='split'):
        build(str(bad), split='val')

    os.remove(bad / 'list_gallery.txt')
    msg = one_line_error(bad, 'list file not found', split='test')
    assert 'list_gallery.txt' in msg
    build(str(bad), split='train')  # the train lists are still there

    os.remove(bad / 'list_val.txt')
    one_line_error(bad, 'list_val.txt', split='train')
    build(str(bad), split='train', with_val=False)

    rel = lists['train'][0][0]
    os.remove(bad / 'train' / rel)
    msg = one_line_error(bad, 'image not found', split='train',
                         with_val=False)
    assert rel in msg and 'list_train.txt:1' in msg

    with open(bad / 'list_train.txt', 'w') as f:
        f.write('0010/badname.jpg 10\n')
    one_line_error(bad, r'list_train.txt:1: expected', split='train',
                   with_val=False)

    shutil.rmtree(bad / 'test')
    one_line_error(bad, 'MSMT17 folder not found', split='test')


def test_config_trains_and_reports_map(msmt, tmp_path):
    from downstream_helpers import two_iteration_cfg
    from mmengine.registry import RUNNERS

    from mmpretrain.registry import DATASETS
    root, lists = msmt
    cfg = two_iteration_cfg(CONFIG, root, tmp_path)
    assert cfg.model.head.num_classes == 1041
    assert cfg.train_dataloader.dataset.type == 'MSMT17Dataset'
    assert cfg.train_dataloader.dataset.with_val
    assert cfg.test_dataloader.dataset.type == 'MSMT17Dataset'
    assert cfg.train_dataloader.sampler.type == 'IdentityBalancedSampler'
    cfg.model.backbone.init_cfg = None
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False

    import projects.saip_dpal  # noqa: F401
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(ds) == len(lists['train'] + lists['val'])
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 256, 128)

    runner = RUNNERS.build(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    for key in ('train/loss_softmax', 'train/loss_triplet'):
        assert torch.isfinite(torch.tensor(scalars[key].current()))
    assert 0 < scalars['val/reid/mAP'].current() <= 100
