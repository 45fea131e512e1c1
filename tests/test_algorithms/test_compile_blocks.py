"""``model.compile``: the chosen parts' transformer blocks run compiled
(traced whole: fullgraph), give the eager losses and gradients, and the
state dict keeps its keys."""
import numpy as np
import pytest
import torch
from pretrain_helpers import (DPAL_DEMO, SAIP_DEMO, build_model, one_batch,
                              tiny_cfg, with_small_teacher)

from projects.saip_dpal.models.utils.compile_blocks import parse_compile

#: aot_eager traces with dynamo and AOT autograd, as inductor does, without
#: building C++ kernels (minutes on this CPU)
TRACE_ONLY = dict(backend='aot_eager', fullgraph=True)


def test_parse_compile():
    parts = ('student', 'teacher')
    assert parse_compile(False, parts) == {}
    assert parse_compile(True, parts) == {'student': {}, 'teacher': {}}
    assert parse_compile(dict(teacher=True, mode='max-autotune'), parts) == {
        'teacher': {'mode': 'max-autotune'}}
    with pytest.raises(ValueError, match='names none of'):
        parse_compile(dict(mode='max-autotune'), parts)
    with pytest.raises(TypeError):
        parse_compile('student', parts)


@pytest.mark.parametrize('config', [DPAL_DEMO, SAIP_DEMO])
@pytest.mark.slow
def test_compiled_blocks_give_the_eager_step(config, synthetic_root):
    torch._dynamo.reset()
    cfg = tiny_cfg(config, synthetic_root)
    if config == DPAL_DEMO:
        with_small_teacher(cfg)
    steps = {}
    other = 'teacher' if config == DPAL_DEMO else 'momentum_encoder'
    for compiled in (False, True):
        cfg.model.compile = dict(student=True, **{other: True},
                                 **TRACE_ONLY) if compiled else False
        torch.manual_seed(0)
        model = build_model(cfg)
        data = model.data_preprocessor(one_batch(cfg), True)
        torch.manual_seed(1)
        np.random.seed(1)
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(losses.values()).backward()
        grads = {n: p.grad for n, p in model.named_parameters()
                 if p.grad is not None}
        steps[compiled] = (losses, grads, list(model.state_dict()))
    (l0, g0, k0), (l1, g1, k1) = steps[False], steps[True]
    assert k0 == k1
    for key in l0:
        torch.testing.assert_close(l1[key], l0[key], rtol=1e-4, atol=1e-6)
    assert g0.keys() == g1.keys()
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], rtol=1e-3, atol=1e-5)
    compiled_blocks = [m for m in model.modules()
                       if getattr(m, '_compiled_call_impl', None)]
    assert compiled_blocks
