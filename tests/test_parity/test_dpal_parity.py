"""DPAL against the authors' code: one PATH-B -> ViT-Ti step of the paper
config, compared with the golden fixture (tests/data/parity/README.md).

The student and decoder are filled by the fixture's weight rule; the
teacher is a PATH-layout state dict by the same rule, passed through our
own converter and strict loader. Every stored loss term, per-call gate and
expert value, target, diagnostic and gradient is compared.
"""
import pytest
import torch
import torch.nn.functional as F

from parity_helpers import Comparison
from parity_steps import dpal_name, dpal_step


@pytest.fixture(scope='module')
def run():
    return dpal_step()


def test_losses_match(run):
    fx, _, _, losses, total, _ = run
    check = Comparison()
    for key, value in losses.items():
        check(key, value, fx['outputs']['losses'][key])
    check('total', total, fx['outputs']['losses']['total'])
    check.assert_all()


def test_teacher_targets_match(run):
    """cls target, PCA shape mask, local target and relation target."""
    from projects.saip_dpal.models.losses.dpal_relation_alignment_loss import \
        token_relation_log_softmax
    from projects.saip_dpal.models.utils import pca_shape_mask
    fx, model, views, _, _, _ = run
    out = fx['outputs']
    t_global, grid = model.teacher_tokens(views['global'])
    assert grid == (16, 8)
    mask = pca_shape_mask(t_global[:, 1:], (16, 8), sign='reference')
    check = Comparison()
    check('teacher_cls_target', t_global[:, :1], out['teacher_cls_target'])
    check('shape_mask', mask, out['shape_mask'])
    local = mask * t_global[:, 1:]
    check('local_target', local, out['local_target'])
    stats = out['local_target_stats']
    check('local_target.sum', local.double().sum(), stats['sum'])
    check('local_target.norm', local.double().norm(), stats['norm'])
    relation = token_relation_log_softmax(
        model.teacher_tokens(views['crowd'])[0])
    check('teacher_relation_target', relation.exp(),
          out['teacher_relation_target'])
    check.assert_all()


def test_each_decoder_call_matches(run):
    """The batched global call split into the reference's per-view calls:
    gate cross-entropy, expert regulariser and gate scores of all 5."""
    fx, model, _, _, _, calls = run
    golden = fx['outputs']['decoder_calls']
    B = 2
    per_call = []  # (pattern, logits (B, 3), mixed expert (B, C, Ct))
    for (x, pattern), out in calls:
        for logits, mixed in zip(out['gate_logits'].split(B),
                                 out['mixed_expert'].split(B)):
            per_call.append((pattern, logits, mixed))
    # ours: global, local-1, local-2 (one call), patches, crowd;
    # the reference: global, patches, crowd, local-1, local-2
    per_call = [per_call[i] for i in (0, 3, 4, 1, 2)]
    assert [p for p, _, _ in per_call] == golden['pattern']
    check = Comparison()
    for i, (pattern, logits, mixed) in enumerate(per_call):
        name = golden['order'][i]
        target = torch.full((B, ), pattern, dtype=torch.long)
        check(f'{name}.gate_ce', F.cross_entropy(logits.float(), target),
              golden['gate_ce'][i])
        reg = model.neck.expert_reg_weight * mixed.pow(2).sum((1, 2)).mean()
        check(f'{name}.expert_reg', reg, golden['expert_reg'][i])
        check(f'{name}.gate_scores', logits.softmax(-1),
              golden['gate_scores'][i])
    check.assert_all()


def test_positions_and_student_tokens_match(run):
    """Teacher 14x14 -> 16x8 / 16x16 directly; student 16x8 -> 8x6 / 16x16
    in 2-D; the student's final tokens of every view."""
    from mmpretrain.models.utils import resize_pos_embed
    fx, model, views, _, _, _ = run
    diag = fx['diagnostics']
    check = Comparison()
    for grid in ((16, 8), (16, 16)):
        check(f'teacher_pos_{grid[0]}x{grid[1]}',
              resize_pos_embed(model.teacher.pos_embed, (14, 14), grid,
                               'bicubic', 1),
              diag[f'teacher_pos_{grid[0]}x{grid[1]}'])
    for grid in ((8, 6), (16, 16)):
        check(f'student_pos_{grid[0]}x{grid[1]}',
              resize_pos_embed(model.backbone.pos_embed, (16, 8), grid,
                               'bicubic', 1),
              diag[f'student_pos_{grid[0]}x{grid[1]}'])
    names = ('global_view', 'local_view_1', 'local_view_2', 'crowd')
    ordered = (views['global'], *views['locals'], views['pasted_local'],
               views['crowd'])
    with torch.no_grad():
        for name, view in zip(names, ordered):
            check(f'student_tokens.{name}', model.extract_feat(view),
                  diag['student_tokens'][name])
    check.assert_all()


def test_gradients_match(run):
    """The 16 stored gradient tensors and the norms of all 183 used ones;
    the parameters the reference leaves unused have no project twin."""
    fx, model, _, _, _, _ = run
    params = dict(model.named_parameters())
    check = Comparison()
    for name, golden in fx['outputs']['grads'].items():
        check(f'grad {name}', params[dpal_name(name)].grad, golden)
    norms = fx['outputs']['grad_norms']
    assert len(norms) == 183
    for name, golden in norms.items():
        check(f'grad norm {name}',
              params[dpal_name(name)].grad.double().norm(), golden)
    check.assert_all()
    trained = {n for n, p in params.items() if p.requires_grad}
    assert trained == {dpal_name(n) for n in norms}
    assert not any(p.requires_grad for p in model.teacher.parameters())
