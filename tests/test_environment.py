"""The pinned OpenMMLab stack imports together and has what we rely on."""
import importlib


def test_five_libraries_import_together():
    import mmcv
    import mmdet
    import mmengine
    import mmpose
    import mmpretrain
    import mmseg
    import torch
    for mod in ('mmcv.ops', 'mmpretrain.models', 'mmseg.models',
                'mmdet.models', 'mmpose.models'):
        importlib.import_module(mod)
    assert mmcv.__version__ == '2.1.0'
    assert mmengine.__version__ == '0.10.7'
    assert mmpretrain.__version__ == '1.2.0'
    assert (mmseg.__version__, mmpose.__version__,
            mmdet.__version__) == ('1.2.2', '1.3.2', '3.3.0')
    assert torch.__version__.split('+')[0] == '2.14.1'


def test_mmcv_compiled_ops_run():
    """mmcv was built with its C++ ops (mmseg needs ``mmcv._ext``)."""
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_plugin_registers_into_mmpretrain():
    import projects.saip_dpal  # noqa: F401
    from mmpretrain.registry import DATASETS, TRANSFORMS
    assert DATASETS.get('LUPersonDataset') is not None
    assert TRANSFORMS.get('LoadCheckedImageFromFile') is not None
