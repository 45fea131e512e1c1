"""LUPerson as distributed (an LMDB of JPEG bytes) and LUP1M key lists:
the same images as the folder layout, key files read as text with their
hash checked, nothing unpickled, reproducible sampling."""
import importlib.util
import os.path as osp
import pickle

import cv2
import lmdb
import numpy as np
import pytest
from conftest import CodeRunningPickle, ROOT

from projects.saip_dpal.datasets import LUPersonLMDBDataset, read_key_file
from projects.saip_dpal.utils import InputDataError

LOAD = [dict(type='LoadCheckedImageFromFile')]


def _sampler():
    path = osp.join(ROOT, 'tools/dataset_converters/sample_lup1m.py')
    spec = importlib.util.spec_from_file_location('sample_lup1m', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _folder_file(root, key):
    city, video, index = key.split('_')
    return osp.join(root, 'LUPerson', city, video, f'{index}.jpg')


def test_lmdb_gives_the_images_of_the_folder_layout(synthetic_root):
    ds = LUPersonLMDBDataset(data_root=str(synthetic_root), pipeline=LOAD)
    assert len(ds) == 50  # the generator's 200 crops at scale 0.25
    for i in (0, 17, 49):
        key = ds.get_data_info(i)['img_path']
        expected = cv2.imread(_folder_file(synthetic_root, key))
        assert np.array_equal(ds[i]['img'], expected), key


def test_key_file_from_the_sampler_is_checked_and_reproducible(
        synthetic_root, tmp_path, capsys):
    sample = _sampler()
    db = str(synthetic_root / 'LUPerson-lmdb')
    paths = [tmp_path / f'{name}.txt' for name in ('a', 'b', 'c')]
    for path, seed in zip(paths, (0, 0, 1)):
        sample([db, str(path), '--num', '20', '--seed', str(seed)])
    printed = capsys.readouterr().out
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert read_key_file(paths[0]) != read_key_file(paths[2])
    digest = printed.splitlines()[1].split(': ')[1]
    assert f'# sha256 of the key lines: {digest}' in paths[0].read_text()

    ds = LUPersonLMDBDataset(data_root=str(tmp_path), db_path=db,
                             key_file='a.txt', pipeline=LOAD)
    keys = read_key_file(paths[0])
    assert len(ds) == 20 and ds.get_data_info(3)['img_path'] == keys[3]
    assert ds[3]['img'].shape[2] == 3

    edited = tmp_path / 'edited.txt'
    edited.write_text(paths[0].read_text().replace(keys[5], keys[6]))
    with pytest.raises(InputDataError, match='do not match the sha256'):
        read_key_file(edited)
    absent = tmp_path / 'absent.txt'
    absent.write_text('\n'.join(keys[:3] + ['city9_video9999_999999']))
    with pytest.raises(InputDataError, match='1 keys are not in'):
        LUPersonLMDBDataset(data_root=str(tmp_path), db_path=db,
                            key_file='absent.txt', check_keys=True,
                            pipeline=LOAD)
    unchecked = LUPersonLMDBDataset(data_root=str(tmp_path), db_path=db,
                                    key_file='absent.txt', pipeline=LOAD)
    with pytest.raises(InputDataError,
                       match='missing image file: city9_video9999_999999'):
        unchecked[3]


def test_nothing_in_an_lmdb_or_a_key_file_is_unpickled(synthetic_root,
                                                       tmp_path):
    import shutil
    db = tmp_path / 'lmdb'
    shutil.copytree(synthetic_root / 'LUPerson-lmdb', db)
    marker = tmp_path / 'RAN'
    payload = pickle.dumps(CodeRunningPickle(str(marker)))
    env = lmdb.open(str(db), lock=False)
    with env.begin(write=True) as txn:  # some distributions ship this
        txn.put(b'__keys__', payload)
    env.close()
    ds = LUPersonLMDBDataset(data_root=str(tmp_path), db_path='lmdb',
                             pipeline=LOAD)
    assert len(ds) == 50 and not marker.exists()
    pickled = tmp_path / 'keys.pkl'
    pickled.write_bytes(payload)
    with pytest.raises(InputDataError, match=r'line 1: not ASCII text'):
        read_key_file(pickled)
    assert not marker.exists()


def test_pretraining_views_run_on_lmdb_samples(synthetic_root):
    """The DPAL demo pipeline (crowd composite views) on LMDB samples."""
    from mmengine.registry import DefaultScope
    from pretrain_helpers import DPAL_DEMO, tiny_cfg

    from mmpretrain.registry import DATASETS
    cfg = tiny_cfg(DPAL_DEMO, synthetic_root).train_dataloader.dataset
    cfg.update(type='LUPersonLMDBDataset', db_path='LUPerson-lmdb')
    cfg.pop('data_prefix')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build(cfg)
    sample = ds[0]
    views = sample['inputs']
    assert list(views) == ['global', 'locals', 'pasted_local', 'crowd']
    assert views['global'].shape == (3, 64, 32)
    assert views['crowd'].shape == (3, 64, 64)
