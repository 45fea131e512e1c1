"""LUPerson folder loading and the bad-image paths."""
import re
import shutil

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger


@pytest.fixture
def folder(tmp_path):
    """Four images in nested folders, one of them corrupt, one missing."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'lup'
    for i, sub in enumerate(['a', 'a', 'b/c', 'b/c']):
        (root / sub).mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 255, (32, 16, 3), dtype=np.uint8)
        cv2.imwrite(str(root / sub / f'{i}.jpg'), img)
    (root / 'b' / 'c' / '3.jpg').write_bytes(b'this is not a jpeg')
    (root / 'notes.txt').write_text('ignored: not an image')
    return root


def build(folder, **load_kwargs):
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import DATASETS
    return DATASETS.build(
        dict(
            type='LUPersonDataset',
            data_root=str(folder),
            pipeline=[dict(type='LoadCheckedImageFromFile', **load_kwargs)]))


def test_recursive_scan_and_load(folder):
    ds = build(folder)
    assert len(ds) == 4
    paths = sorted(ds.get_data_info(i)['img_path'] for i in range(4))
    assert paths[0].endswith('a/0.jpg') and paths[3].endswith('b/c/3.jpg')
    sample = ds[0]
    assert sample['img'].shape == (32, 16, 3)
    assert sample['img'].dtype == np.uint8


def test_corrupt_and_missing_images_name_the_file(folder):
    from projects.saip_dpal.utils import InputDataError
    ds = build(folder)
    idx = [ds.get_data_info(i)['img_path'] for i in range(4)]
    corrupt = idx.index(str(folder / 'b' / 'c' / '3.jpg'))
    with pytest.raises(InputDataError) as err:
        ds[corrupt]
    assert str(err.value) == ('corrupt or unreadable image: '
                              f'{folder}/b/c/3.jpg')
    (folder / 'a' / '0.jpg').unlink()
    with pytest.raises(InputDataError,
                       match=r'^missing image file: .*a/0\.jpg$'):
        ds[idx.index(str(folder / 'a' / '0.jpg'))]


def test_skip_bad_refetches_and_counts(folder, caplog):
    ds = build(folder, skip_bad=True)
    loader = ds.pipeline.transforms[0]
    paths = [ds.get_data_info(i)['img_path'] for i in range(4)]
    corrupt = paths.index(str(folder / 'b' / 'c' / '3.jpg'))
    MMLogger.get_instance('saip_dpal_test')  # a current logger for warnings
    sample = ds[corrupt]
    assert sample['img_path'] != paths[corrupt]
    assert sample['img'].shape == (32, 16, 3)
    assert loader.num_bad >= 1
    for i in range(4):
        ds[i]
    assert loader.num_bad >= 2  # the corrupt file is counted every time


def test_missing_or_empty_folder(tmp_path):
    from projects.saip_dpal.utils import InputDataError
    with pytest.raises(InputDataError, match='image folder not found: '):
        build(tmp_path / 'nope')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'x.txt').write_text('no images')
    with pytest.raises(InputDataError, match='no images .* found under '):
        build(tmp_path / 'empty')
    shutil.rmtree(tmp_path / 'empty')


def test_empty_or_garbage_canvas_names_the_file(tmp_path):
    from projects.saip_dpal.datasets.transforms.canvas_pool import CanvasPool
    from projects.saip_dpal.utils import InputDataError
    (tmp_path / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'garbage.png').write_bytes(b'\x89PNG not really')
    pool = CanvasPool(str(tmp_path))
    for i, path in enumerate(pool.files):
        with pytest.raises(InputDataError) as exc:
            pool.load(i)
        assert str(exc.value) == f'corrupt or unreadable canvas image: {path}'


def test_seeded_index_fixes_the_augmentation(folder):
    from mmpretrain.registry import DATASETS

    from projects.saip_dpal.datasets.samplers.seeded_index import SeededIndex
    ds = DATASETS.build(
        dict(
            type='LUPersonDataset',
            data_root=str(folder),
            pipeline=[
                dict(type='LoadCheckedImageFromFile'),
                dict(type='RandomResizedCrop', scale=8,
                     crop_ratio_range=(0.1, 1.0))
            ]))
    crops = []
    for global_seed in (0, 1):
        np.random.seed(global_seed)
        crops.append(ds[SeededIndex(0, 5)]['img'])
    np.testing.assert_array_equal(crops[0], crops[1])
    others = [ds[SeededIndex(0, s)]['img'] for s in range(6, 10)]
    assert any(not np.array_equal(crops[0], o) for o in others)


def test_skip_bad_with_every_image_bad_is_one_line(folder, capsys):
    """A wrong root: every image is bad. It stops after 50 in a row with
    one line, having logged 10 of them (not mmengine's 1000 refetches and
    a traceback)."""
    from projects.saip_dpal.utils import InputDataError
    for image in folder.rglob('*.jpg'):
        image.write_bytes(b'not an image')
    ds = build(folder, skip_bad=True)
    MMLogger.get_instance('saip_dpal_test_all_bad')
    capsys.readouterr()
    with pytest.raises(InputDataError) as err:
        ds[0]
    assert re.fullmatch(
        r'50 images in a row were bad with skip_bad=True \(the last, corrupt '
        rf'or unreadable image: {folder}/.+\.jpg\): check the dataset\'s '
        'data_root and data_prefix', str(err.value)), str(err.value)
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if 'skipped corrupt' in line]) == 10
