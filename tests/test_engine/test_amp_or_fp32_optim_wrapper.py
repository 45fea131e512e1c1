"""AmpOrFP32OptimWrapper: fp16 AMP where mmengine runs it, fp32 steps on a
CPU (where AmpOptimWrapper refuses to build)."""
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper, build_optim_wrapper

from projects.saip_dpal.engine.optimizers import amp_or_fp32_optim_wrapper

CFG = dict(type='AmpOrFP32OptimWrapper', loss_scale='dynamic',
           accumulative_counts=2, optimizer=dict(type='SGD', lr=0.1))


def test_cpu_gets_fp32_steps_with_the_other_arguments(monkeypatch):
    for name in ('is_cuda_available', 'is_npu_available', 'is_mlu_available',
                 'is_musa_available'):
        monkeypatch.setattr(amp_or_fp32_optim_wrapper, name, lambda: False)
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), CFG)
    assert type(wrapper) is OptimWrapper
    assert wrapper._accumulative_counts == 2


def test_accelerator_gets_amp_with_its_arguments(monkeypatch):
    made = {}

    class Recorder(AmpOptimWrapper):
        def __init__(self, **kwargs):  # no GPU needed to record the call
            made.update(kwargs)

    monkeypatch.setattr(amp_or_fp32_optim_wrapper, 'is_cuda_available',
                        lambda: True)
    monkeypatch.setattr(amp_or_fp32_optim_wrapper, 'AmpOptimWrapper',
                        Recorder)
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), CFG)
    assert isinstance(wrapper, Recorder)
    assert made['loss_scale'] == 'dynamic' and made['dtype'] is None
    assert made['accumulative_counts'] == 2
