"""ONNX export of :class:`BackboneFeatures`, checked with onnxruntime.

The graph takes ``images`` (B, 3, H, W), normalised RGB float32 as
:func:`image_batch` makes them, and returns ``cls`` (B, C) and ``patch``
(B, C, h, w); the batch size is dynamic, the input size fixed.
"""
import copy
import warnings
from typing import Dict, Sequence

import numpy as np
import torch

from .backbone_features import BackboneFeatures


def _window_reverse(windows, H, W, window_size):
    """mmpretrain's ``ShiftWindowMSA.window_reverse`` with the batch left to
    ``view``: the original computes it with ``int()``, which an exporter
    records as a constant, so a Swin graph would only be right at the
    batch size it was exported with."""
    x = windows.view(-1, H // window_size, W // window_size, window_size,
                     window_size, windows.shape[-1])
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, windows.shape[-1])


def _with_dynamic_batch_windows(model: BackboneFeatures) -> BackboneFeatures:
    """A copy of ``model`` whose Swin windows are merged back without a
    Python batch size (same values); ``model`` itself is left as it is."""
    from mmpretrain.models.utils.attention import ShiftWindowMSA
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, ShiftWindowMSA):
            module.window_reverse = _window_reverse  # this copy only
    return model


def export_onnx(model: BackboneFeatures,
                path: str,
                opset: int = 17,
                dynamo: bool = False) -> None:
    """Write ``model`` to ``path`` with a dynamic batch dimension.

    ``dynamo=False`` uses torch's TorchScript exporter (opset ``opset``),
    ``True`` its ``torch.export`` one (opset 18 or later).
    """
    model.eval()
    images = torch.zeros(2, 3, *model.input_size)
    names = dict(input_names=['images'], output_names=['cls', 'patch'])
    if dynamo:
        batch = torch.export.Dim('batch', min=1, max=4096)
        kwargs = dict(dynamic_shapes=({0: batch}, ), dynamo=True,
                      opset_version=max(opset, 18))
    else:
        kwargs = dict(
            dynamic_axes={n: {0: 'batch'} for n in ('images', 'cls', 'patch')},
            dynamo=False, opset_version=opset)
    model = _with_dynamic_batch_windows(model)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer and deprecation notices
        torch.onnx.export(model, (images, ), path, **names, **kwargs)


def onnx_max_difference(model: BackboneFeatures, path: str,
                        batch_sizes: Sequence[int] = (1, 3),
                        seed: int = 0) -> Dict[str, float]:
    """Max absolute difference of onnxruntime (CPU) from PyTorch on random
    images, per output, over ``batch_sizes``."""
    import onnxruntime
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(seed)
    worst = dict(cls=0., patch=0.)
    model.eval()
    for batch in batch_sizes:
        images = torch.randn(batch, 3, *model.input_size,
                             generator=generator)
        with torch.no_grad():
            expected = [t.numpy() for t in model(images)]
        got = session.run(['cls', 'patch'], {'images': images.numpy()})
        for name, a, b in zip(worst, got, expected):
            if a.shape != b.shape:
                raise AssertionError(f'{name}: onnxruntime {a.shape} vs '
                                     f'PyTorch {b.shape} at batch {batch}')
            worst[name] = max(worst[name], float(np.abs(a - b).max()))
    return worst
