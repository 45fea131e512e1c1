"""The EMA schedule runs over optimizer steps: it starts at the reference's
effective per-step decay and ends at exactly 1, also under accumulation."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from projects.saip_dpal.engine.hooks import EMAUpdateHook
from projects.saip_dpal.models.utils.optim_step_cosine_ema import \
    OptimStepCosineEMA


class _Model(nn.Module):
    """A module with an EMA copy of its linear layer, as DPAL / SAIP."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(3, 2)
        self.ema = OptimStepCosineEMA(self.net, momentum=0.004)

    def update_ema(self):
        self.ema.update_parameters(self.net)


class _Wrapper:
    """Optimizer wrapper stand-in: steps every ``accumulation`` iterations
    and on the last one, as mmengine's."""

    def __init__(self, accumulation, max_iters):
        self._accumulative_counts = accumulation
        self.max_iters = max_iters
        self.count = 0

    def should_update(self):
        return (self.count % self._accumulative_counts == 0
                or self.count == self.max_iters)


def _train(model, max_iters, accumulation):
    wrapper = _Wrapper(accumulation, max_iters)
    runner = SimpleNamespace(model=model, optim_wrapper=wrapper,
                             max_iters=max_iters)
    hook = EMAUpdateHook()
    hook.before_train(runner)
    momenta, sources = [], []
    for i in range(max_iters):
        wrapper.count += 1
        if wrapper.should_update():
            with torch.no_grad():
                model.net.weight.add_(1.)  # the optimizer moved the student
            momenta.append(model.ema.momentum_at(model.ema._host_steps or 0))
            sources.append(model.net.weight.clone())
        hook.after_train_iter(runner, i)
    return momenta, sources


@pytest.mark.parametrize('max_iters,accumulation', [(12, 4), (10, 4), (7, 1)])
def test_schedule_spans_the_optimizer_steps(max_iters, accumulation):
    torch.manual_seed(0)
    model = _Model()
    start = model.ema.module.weight.clone()
    momenta, sources = _train(model, max_iters, accumulation)
    steps = math.ceil(max_iters / accumulation)
    assert len(momenta) == steps == int(model.ema.steps)
    assert model.ema.total_steps == steps
    # the reference's per-batch decay 0.996, compounded per optimizer step
    assert momenta[0] == pytest.approx(1 - 0.996**accumulation, abs=1e-12)
    assert momenta[-1] == 0.  # decay exactly 1 on the last step
    assert all(a > b for a, b in zip(momenta, momenta[1:]))
    # the copy is the lerp chain of the student snapshots
    expect = start
    for m, src in zip(momenta, sources):
        expect = (1 - m) * expect + m * src
    torch.testing.assert_close(model.ema.module.weight, expect)


def test_cosine_midpoint_and_no_schedule_fallback():
    from mmengine.logging import MessageHub
    ema = OptimStepCosineEMA(nn.Linear(2, 2), momentum=0.004)
    ema.set_schedule(total_steps=101, accumulation=4)
    start = 1 - 0.996**4
    assert ema.momentum_at(50) == pytest.approx(start / 2, rel=1e-12)
    assert ema.momentum_at(100) == 0. and ema.momentum_at(500) == 0.
    # without a schedule: the message hub's max_iters, one batch per step
    MessageHub.get_current_instance().update_info('max_iters', 11)
    plain = OptimStepCosineEMA(nn.Linear(2, 2), momentum=0.004)
    assert plain.momentum_at(0) == pytest.approx(0.004)
    assert plain.momentum_at(10) == 0.
    with pytest.raises(ValueError):
        ema.set_schedule(0)
    with pytest.raises(ValueError):
        OptimStepCosineEMA(nn.Linear(2, 2), momentum=1.5)


def test_resume_continues_the_schedule():
    torch.manual_seed(0)
    model = _Model()
    _train(model, 4, 1)
    state = model.state_dict()
    assert int(state['ema.steps']) == 4
    resumed = _Model()
    resumed.ema.set_schedule(10)
    resumed.load_state_dict(state)
    resumed.ema.update_parameters(resumed.net)
    assert int(resumed.ema.steps) == 5 and resumed.ema._host_steps == 5
