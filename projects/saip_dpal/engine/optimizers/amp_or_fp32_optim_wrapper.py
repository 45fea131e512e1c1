"""fp16 AMP where the device has it, fp32 steps on a CPU."""
from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
def AmpOrFP32OptimWrapper(loss_scale='dynamic', dtype=None,
                          use_fsdp=False, **kwargs) -> OptimWrapper:
    """An ``AmpOptimWrapper`` (``loss_scale``, ``dtype``, ``use_fsdp`` as
    it takes them) where mmengine runs AMP (CUDA, NPU, MLU, MUSA); on a
    machine without one, which ``AmpOptimWrapper`` refuses, an
    ``OptimWrapper`` with the other arguments (fp32 steps), said once in
    the log. The paper configs use it, so they also run on a CPU."""
    if is_cuda_available() or is_npu_available() or is_mlu_available() \
            or is_musa_available():
        return AmpOptimWrapper(
            loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
    print_log('no GPU: AMP is off, the optimizer steps in fp32',
              logger='current', level=30)
    return OptimWrapper(**kwargs)
