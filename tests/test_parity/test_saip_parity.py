"""SAIP against the authors' code: one ViT-Ti step of the paper config,
compared with the golden fixture (tests/data/parity/README.md).

Student and EMA teacher are filled by the fixture's weight rule, the random
draws (rescale factors, CSR keep noise) are injected into the project's own
draw calls, and every stored loss, head output, probe and gradient is
compared.
"""
import pytest
import torch

from parity_helpers import Comparison
from parity_steps import saip_name, saip_step


@pytest.fixture(scope='module')
def run():
    return saip_step()


def test_losses_match(run):
    fx, _, losses, total, _ = run
    check = Comparison()
    for key, golden in fx['outputs']['losses'].items():
        check(key, losses[key], golden)
    check('loss_total', total, fx['outputs']['loss_total'])
    check.assert_all()


def test_head_outputs_and_probes_match(run):
    """CSM projections of student and teacher, the centre after the step,
    CSS logits, and the tokens that feed every head."""
    fx, model, _, _, calls = run
    out, probes = fx['outputs'], fx['probes']
    check = Comparison()
    student_in = torch.cat([args[0] for args, _ in calls['head']])
    student_out = torch.cat([o for _, o in calls['head']])
    (teacher_in, ), teacher_out = calls['teacher_head'][0]
    check('csm_student', student_out, out['csm_student'])
    check('csm_teacher', teacher_out, out['csm_teacher'])
    check('student_cls_g1', student_in[:2], out['student_cls_g1'])
    check('student_cls_g2', student_in[2:4], out['student_cls_g2'])
    check('student_cls_per_view', student_in, probes['student_cls_per_view'])
    check('teacher_cls_g1g2', teacher_in, probes['teacher_cls_g1g2'])
    check('csm_center_after', model.matching_head.loss_rep.center,
          out['csm_center_after'])
    # one search-head call for both queries (the mask features once)
    ((inst_query, roi_query), search, _), (inst_logits, roi_logits) = \
        calls['search'][0]
    check('css_logits_inst', inst_logits, out['css_logits_inst'])
    check('css_logits_roi', roi_logits, out['css_logits_roi'])
    check('teacher_inter_ref', search, probes['teacher_inter_ref'])
    check('student_inter_l_last_rescaled', roi_query,
          probes['student_inter_l_last_rescaled'])
    check('student_inter_cls_g1g2', calls['inter_norm'][0][1][:, 0],
          probes['student_inter_cls_g1g2'])
    table = model.reconstruction_head.decoder.pos_embed((20, 10)).double()
    check('csr_decoder_pos_table', [table.sum(), table.abs().sum()],
          probes['csr_decoder_pos_table_check'])
    check.assert_all()


def test_csr_draws_are_the_reference_keep_set(run):
    """The project's own masking code, fed the injected noise, keeps the
    fixture's patches and reconstructs on the removed ones."""
    fx, _, _, _, calls = run
    draws = fx['draws']
    (visible, _, ids_restore, grid), _ = calls['neck'][0]
    assert tuple(grid) == (20, 10) and visible.shape[1] == 1 + 50
    assert torch.equal(ids_restore.sort(1).values,
                       torch.arange(200).expand(2, -1))
    kept = ids_restore < 50  # restored positions of the kept block
    assert torch.equal(kept.float(), 1 - draws['csr_loss_mask'])


def test_gradients_match(run):
    """The 12 stored gradient tensors and all 316 gradient norms; the
    reference's gradient-free parameters have none here either."""
    fx, model, _, _, _ = run
    params = dict(model.named_parameters())
    check = Comparison()
    for name, golden in fx['grads'].items():
        check(f'grad {name}', params[saip_name(name)].grad, golden)
    assert len(fx['grad_norm']) == 316
    for name, golden in fx['grad_norm'].items():
        check(f'grad norm {name}',
              params[saip_name(name)].grad.double().norm(), golden)
    check.assert_all()
    assert params['matching_head.projection.last_layer.weight_g'].grad is None
    trained = {n for n, p in params.items() if p.requires_grad}
    assert trained == {saip_name(n) for n in fx['grad_norm']}
    momentum_encoder = model.momentum_encoder
    assert not any(p.requires_grad for p in momentum_encoder.parameters())
