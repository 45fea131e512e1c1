"""A part mask with a label outside the classes is named in one line."""
import cv2
import numpy as np
import pytest


def _load(tmp_path, labels):
    from projects.saip_dpal.parsing import LoadCheckedAnnotations
    path = tmp_path / 'mask.png'
    cv2.imwrite(str(path), np.array(labels, np.uint8).reshape(2, -1))
    load = LoadCheckedAnnotations(num_classes=20)
    return load(dict(seg_map_path=str(path), reduce_zero_label=False,
                     seg_fields=[]))


def test_labels_in_range_and_ignored_load_as_mmseg_does(tmp_path):
    out = _load(tmp_path, [0, 19, 255, 3])
    np.testing.assert_array_equal(out['gt_seg_map'], [[0, 19], [255, 3]])
    assert out['seg_fields'] == ['gt_seg_map']


def test_out_of_range_label_names_the_file(tmp_path):
    from projects.saip_dpal.utils.errors import InputDataError
    with pytest.raises(InputDataError) as err:
        _load(tmp_path, [0, 25, 20, 255])
    message = str(err.value)
    assert 'mask.png' in message and 'labels 20, 25' in message
    assert '\n' not in message
