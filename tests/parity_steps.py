"""The two parity steps (tests/data/parity/README.md), shared by the parity
tests and ``tests/measure_departures.py``.

Each builds the shipped paper config, fills the student (and teacher) by the
fixture's weight rule through name maps written here, feeds the stored
inputs (and, for SAIP, the reference's random draws) and runs one loss +
backward in float32 on the CPU.
"""
import numpy as np
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample
from pytest import MonkeyPatch

from parity_helpers import (VIT_RULES, Recorder, load_fixture, rename,
                            rule_tensor)
from pretrain_helpers import CONFIG_DIR, build_model

DPAL_FIXTURE = 'dpal_pathb_vit-tiny.pt'
SAIP_FIXTURE = 'saip_vit-tiny.pt'

#: reference decoder names (``adapter.*``) -> DPALPatternDecoder names
DECODER_RULES = [
    (r'adapter\.attn\.(qkv|proj)\.(\w+)', r'neck.token_attn.\1.\2'),
    (r'adapter\.norm2\.(\w+)', r'neck.token_norm.\1'),
    (r'adapter\.gate\.moe_tokens', r'neck.gate_token'),
    (r'adapter\.gate\.norm\.(\w+)', r'neck.gate_norm.\1'),
    (r'adapter\.gate\.cross_attn\.in_proj_(weight|bias)',
     r'neck.gate_attn.qkv.\1'),
    (r'adapter\.gate\.cross_attn\.out_proj\.(\w+)', r'neck.gate_attn.proj.\1'),
    (r'adapter\.gate\.weight', r'neck.gate_fc.weight'),
    (r'adapter\.pattern_queries', r'neck.pattern_queries'),
    (r'adapter\.attn2\.(qkv|proj)\.(\w+)', r'neck.query_self_attn.\1.\2'),
    (r'adapter\.norm4\.(\w+)', r'neck.query_cross_norm.\1'),
    (r'adapter\.cross_attn\.in_proj_(weight|bias)',
     r'neck.query_cross_attn.qkv.\1'),
    (r'adapter\.cross_attn\.out_proj\.(\w+)',
     r'neck.query_cross_attn.proj.\1'),
    (r'adapter\.norm5\.(\w+)', r'neck.generator_norm.\1'),
    (r'adapter\.mlp\.(0|2)\.(\w+)', r'neck.generator.\1.\2'),
    (r'adapter\.after_experts\.norm\.(\w+)', r'neck.out_norm.\1'),
]
#: built by the reference, used by none of its computations
DPAL_UNUSED = {
    'backbone.inter_norm.weight', 'backbone.inter_norm.bias',
    'adapter.norm1.weight', 'adapter.norm1.bias', 'adapter.norm3.weight',
    'adapter.norm3.bias', 'adapter.expert_norm.weight',
    'adapter.expert_norm.bias'
}


def dpal_name(ref_name: str) -> str:
    """Project name of a reference student parameter (``student.`` cut)."""
    return rename(ref_name[len('student.'):], VIT_RULES + DECODER_RULES)


def dpal_rule_weights(fx, names):
    shapes, ln = fx['weight_rule']['shapes'], fx['weight_rule'][
        'layernorm_weights']
    return {n: rule_tensor(n, shapes[n], n in ln) for n in names}


def dpal_step(fx=None):
    """One float32 CPU step of the shipped DPAL PATH-B -> ViT-Ti paper
    config on the fixture: (fixture, model, views, losses, total, decoder
    calls), gradients populated."""
    torch.manual_seed(0)
    fx = fx or load_fixture(DPAL_FIXTURE)
    rule = fx['weight_rule']
    student = dpal_rule_weights(fx, rule['names_student_reference'])
    teacher = dpal_rule_weights(fx, rule['names_teacher_path_layout'])
    for n, (total, *first) in rule['checks'].items():
        w = student.get(n, teacher.get(n))
        assert abs(w.double().sum().item() - total) <= 1e-6 * max(
            1., abs(total)), f'the weight rule draws {n} differently'
        assert torch.allclose(w.flatten()[:4], torch.tensor(first))

    from conftest import load_cli
    from pretrain_helpers import ROOT

    from projects.saip_dpal.models.utils import load_teacher_weights
    convert_path_state_dict = load_cli(
        f'{ROOT}/tools/model_converters/path2mmpretrain.py'
    ).convert_path_state_dict
    cfg = Config.fromfile(f'{CONFIG_DIR}/dpal_pathb_vit-tiny.py')
    cfg.model.teacher_checkpoint = None
    cfg.model.ema = None
    cfg.model.teacher_dtype = None  # the reference's fp32 teacher
    model = build_model(cfg)
    path_state = {n[len('teacher.'):]: v for n, v in teacher.items()}
    state, _ = convert_path_state_dict(path_state)
    report = load_teacher_weights(model.teacher, state)
    assert report['resized'] == []  # the teacher keeps PATH's 14x14 grid
    ours = {dpal_name(n): v for n, v in student.items()
            if n[len('student.'):] not in DPAL_UNUSED}
    result = model.load_state_dict(ours, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.train()

    inp = fx['inputs']
    *locals_, pasted = inp['local_views']
    views = {'global': inp['global_view'], 'locals': locals_,
             'pasted_local': pasted, 'crowd': inp['crowd']}
    decoder = Recorder(model.neck)
    losses = model.loss(views)
    total = sum(losses.values())
    total.backward()
    return fx, model, views, losses, total, decoder.remove()


_BLOCK = r'(\d+)\.'
#: reference head names -> SAIP's modules
HEAD_RULES = [
    (r'backbone\.inter_norm\.(\w+)', r'backbone.inter_norm.\1'),
    (r'csm_decoder\.mlp\.(\d)\.(\w+)', r'head.mlp.\1.\2'),
    (r'csm_decoder\.last_layer\.(weight_g|weight_v)', r'head.last_layer.\1'),
    (r'csr_decoder\.(decoder_embed|decoder_pred)\.(\w+)', r'neck.\1.\2'),
    (r'csr_decoder\.mask_token', r'neck.mask_token'),
    (r'csr_decoder\.decoder_blocks\.' + _BLOCK + r'norm(1|2)\.(\w+)',
     r'neck.blocks.\1.ln\2.\3'),
    (r'csr_decoder\.decoder_blocks\.' + _BLOCK + r'attn\.(qkv|proj)\.(\w+)',
     r'neck.blocks.\1.attn.\2.\3'),
    (r'csr_decoder\.decoder_blocks\.' + _BLOCK + r'mlp\.fc1\.(\w+)',
     r'neck.blocks.\1.ffn.layers.0.0.\2'),
    (r'csr_decoder\.decoder_blocks\.' + _BLOCK + r'mlp\.fc2\.(\w+)',
     r'neck.blocks.\1.ffn.layers.1.\2'),
    (r'csr_decoder\.decoder_norm\.(\w+)', r'neck.norm.\1'),
    (r'css_decoder\.q_decoder_embed\.(\w+)', r'search_head.query_embed.\1'),
    (r'css_decoder\.kv_decoder_embed\.(\w+)',
     r'search_head.search_embed.0.\1'),
    (r'css_decoder\.kv_decoder_norm\.(\w+)', r'search_head.search_embed.1.\1'),
    (r'css_decoder\.self_atten_blocks\.' + _BLOCK +
     r'(norm1|norm2|attn\.qkv|attn\.proj)\.(\w+)',
     r'search_head.query_blocks.\1.\2.\3'),
    (r'css_decoder\.self_atten_blocks\.' + _BLOCK + r'mlp\.fc1\.(\w+)',
     r'search_head.query_blocks.\1.mlp.0.\2'),
    (r'css_decoder\.self_atten_blocks\.' + _BLOCK + r'mlp\.fc2\.(\w+)',
     r'search_head.query_blocks.\1.mlp.2.\2'),
    (r'css_decoder\.cross_atten_block\.(norm1|norm2)\.(\w+)',
     r'search_head.cross_block.\1.\2'),
    (r'css_decoder\.cross_atten_block\.attn\.in_proj_(weight|bias)',
     r'search_head.cross_block.attn.qkv.\1'),
    (r'css_decoder\.cross_atten_block\.attn\.out_proj\.(\w+)',
     r'search_head.cross_block.attn.proj.\1'),
    (r'css_decoder\.cross_atten_block\.mlp\.fc1\.(\w+)',
     r'search_head.cross_block.mlp.0.\1'),
    (r'css_decoder\.cross_atten_block\.mlp\.fc2\.(\w+)',
     r'search_head.cross_block.mlp.2.\1'),
    (r'css_decoder\.q_decoder_norm\.(\w+)', r'search_head.kernel_norm.\1'),
    (r'css_decoder\.kernel_pred\.(\w+)', r'search_head.kernel_proj.\1'),
    (r'css_decoder\.mask_head\.(\d)\.(\w+)', r'search_head.mask_head.\1.\2'),
]
#: the learned 1-D decoder table (replaced by a fixed 2-D sin-cos one, a
#: kept departure) and a norm the reference builds but never uses
SAIP_UNUSED = {
    'csr_decoder.decoder_pos_embed', 'csm_decoder.decoder_norm.weight',
    'csm_decoder.decoder_norm.bias'
}


def _new_saip_key(key: str) -> str:
    """A key of the layout before SAIP's heads owned their networks
    (``head.``, ``neck.``, ``teacher.``) in today's, by the table SAIP's
    load hook applies to older checkpoints."""
    from projects.saip_dpal.models.algorithms.saip import OLD_KEY_PREFIXES
    old, new = next(((o, n) for o, n in OLD_KEY_PREFIXES
                     if key.startswith(o)), ('', ''))
    return new + key[len(old):]


def saip_name(ref_name: str, part: str = '') -> str:
    """Our key of a reference key; ``part='teacher.module.'`` for the
    momentum encoder's copy."""
    return _new_saip_key(part + rename(ref_name, VIT_RULES + HEAD_RULES))


def saip_rule_weights(fx):
    """Student and teacher tensors by reference name."""
    student, teacher = {}, {}
    for name, shape, kind in fx['weights']['names_shapes_kinds']:
        if kind == 'ones':
            student[name] = teacher[name] = torch.ones(shape)
            continue
        student[name] = rule_tensor(f'student.{name}', shape,
                                    kind == 'ln_weight')
        teacher[name] = student[name] + rule_tensor(f'teacher.{name}',
                                                    shape, False)
    return student, teacher


def saip_step(fx=None):
    """One float32 CPU step of the shipped SAIP ViT-Ti paper config on the
    fixture, the reference's draws injected: (fixture, model, losses, total,
    recorded head calls), gradients populated."""
    torch.manual_seed(0)
    fx = fx or load_fixture(SAIP_FIXTURE)
    student, teacher = saip_rule_weights(fx)
    for n, (total, abs_total) in fx['weights']['check_student'].items():
        assert abs(student[n].double().sum().item() - total) <= 1e-6 * max(
            1., abs_total), f'the weight rule draws {n} differently'

    cfg = Config.fromfile(f'{CONFIG_DIR}/saip_vit-tiny.py')
    model = build_model(cfg)
    state = {saip_name(n): v for n, v in student.items()
             if n not in SAIP_UNUSED}
    for n, v in teacher.items():
        if n.startswith(('backbone.', 'csm_decoder.')) \
                and n not in SAIP_UNUSED:
            state[saip_name(n, 'teacher.module.')] = v
    state['momentum_encoder.steps'] = torch.tensor(0)
    state['matching_head.loss_rep.center'] = torch.zeros(1, 65536)
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.train()
    assert model.matching_head.loss_rep.teacher_temp == 0.04

    inp, draws = fx['inputs'], fx['draws']
    *locals_, pasted = inp['locals'].float().unbind(0)
    views = {'global': inp['g1'].float(), 'global_2': inp['g2'].float(),
             'locals': locals_, 'pasted_local': pasted,
             'region': inp['region'].float(), 'crowd': inp['ref'].float()}
    samples = []
    for boxes in inp['paste_boxes']:  # (2, 4): the pasted local's, region's
        sample = DataSample()
        sample.paste_boxes = dict(pasted_local=boxes[0], region=boxes[1])
        samples.append(sample)

    noises = [draws['csr_base_noise'], draws['csr_order_noise']]
    torch_rand = torch.rand

    def injected_rand(*shape, **kwargs):
        want = noises.pop(0)
        assert tuple(shape) == tuple(want.shape), shape
        return want.to(kwargs.get('device') or 'cpu')

    hooks = dict(
        head=Recorder(model.matching_head.projection),
        teacher_head=Recorder(model.momentum_encoder.module.projection),
        search=Recorder(model.search_head),
        inter_norm=Recorder(model.backbone.inter_norm),
        neck=Recorder(model.reconstruction_head.decoder))
    with MonkeyPatch.context() as mp:
        mp.setattr(np.random, 'choice',
                   lambda *a, **k: np.array(draws['rescale_factors']))
        mp.setattr(torch, 'rand', injected_rand)
        losses = model.loss(views, samples)
    assert not noises and torch.rand is torch_rand
    calls = {k: h.remove() for k, h in hooks.items()}
    total = sum(losses.values())
    total.backward()
    return fx, model, losses, total, calls
