"""Tests of the teacher temperature warm-up hook."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import MMDistributedDataParallel

import projects.saip_dpal  # noqa: F401  (registers the modules)
from mmpretrain.registry import HOOKS
from projects.saip_dpal.engine.hooks import TeacherTemperatureHook
from projects.saip_dpal.models.losses import CrossScaleMatchingLoss


class TinyAlgorithm(nn.Module):

    def __init__(self):
        super().__init__()
        self.matching_head = nn.Module()  # SAIP's: its matching loss
        self.matching_head.loss_rep = CrossScaleMatchingLoss(out_channels=8)


def ddp_without_process_group(model):
    wrapper = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapper)
    wrapper.module = model
    return wrapper


def make_runner(model, epoch_len):
    return SimpleNamespace(
        iter=0,
        model=model,
        train_dataloader=list(range(epoch_len)),
        message_hub=MessageHub.get_current_instance())


def linear(i, total, start=0.07, end=0.04):
    return start + (end - start) * min(i / total, 1.)


@pytest.mark.parametrize('wrap', [False, True])
def test_epoch_warmup_follows_linear_schedule(wrap):
    model = TinyAlgorithm()
    runner = make_runner(
        ddp_without_process_group(model) if wrap else model, epoch_len=5)
    hook = HOOKS.build(dict(type='TeacherTemperatureHook',
                            warmup_epochs=4))  # 20 iters
    for it, value in [(0, 0.07), (10, 0.055), (7, linear(7, 20)), (20, 0.04),
                      (19, linear(19, 20)), (35, 0.04), (1000, 0.04)]:
        runner.iter = it  # any order: only the global iteration matters
        hook.before_train_iter(runner, batch_idx=it % 5)
        loss = model.matching_head.loss_rep
        assert loss.teacher_temp == pytest.approx(value)
        assert runner.message_hub.get_scalar(
            'train/teacher_temp').current() == pytest.approx(value)
    assert linear(7, 20) == pytest.approx(0.07 - 0.03 * 7 / 20)


def test_iteration_warmup_custom_attr_and_errors():
    model = TinyAlgorithm()
    model.head = nn.Module()
    model.head.tau = 1.
    runner = make_runner(ddp_without_process_group(model), epoch_len=3)
    hook = TeacherTemperatureHook(
        warmup_temp=0.1, temp=0.05, warmup_iters=8, attr='head.tau')
    for it, value in [(0, 0.1), (4, 0.075), (8, 0.05), (9, 0.05)]:
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=0)
        assert model.head.tau == pytest.approx(value)
    assert model.matching_head.loss_rep.teacher_temp == 0.04  # untouched
    # no warm-up: constant from the start
    hook = TeacherTemperatureHook(warmup_epochs=0)
    runner.iter = 0
    hook.before_train_iter(runner, batch_idx=0)
    assert model.matching_head.loss_rep.teacher_temp == 0.04
    with pytest.raises(AttributeError):
        TeacherTemperatureHook(attr='loss_x.teacher_temp').before_train_iter(
            runner, batch_idx=0)
    with pytest.raises(ValueError):
        TeacherTemperatureHook(by_epoch=False)
