"""A toy model, data and Runner for the checkpoint and divergence tests
(imported by them, and run in a subprocess by the kill test)."""
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from projects.saip_dpal.engine import GuardedRunner
from torch.utils.data import Dataset

from projects.saip_dpal.engine.hooks import DivergenceGuardHook


class Toy(BaseModel):
    """loss_a = w . x (non-finite with x), loss_b = |w - 1|^2 (finite)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def forward(self, inputs, data_samples=None, mode='loss'):
        x = inputs.float()
        if mode == 'predict':
            return [-self.w.sum().item()] * len(x)
        return dict(loss_a=(self.w * x).sum(1).mean(),
                    loss_b=(self.w - 1).pow(2).sum())


class Values(Dataset):
    """Sample i is the vector (v_i, v_i, v_i)."""

    def __init__(self, values):
        self.values = values

    def __len__(self):
        return len(self.values)

    def __getitem__(self, i):
        return dict(inputs=torch.full((3, ), float(self.values[i])))


class Score(BaseMetric):
    """``-sum(w)``: grows at every step on positive values."""

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(score=results[0])


def toy_runner(work_dir, values, lr=0.01, max_skips=0, max_keep_ckpts=1,
               checkpoint='SafeCheckpointHook', resume=False,
               save_best=None, distributed=False):
    """One iteration per value, a checkpoint after each; with
    ``save_best='score'`` a validation and best checkpoint after each; with
    ``distributed`` in an initialised (gloo) process group, DDP on the CPU
    and the values shared out between the ranks."""
    if distributed:
        val_or_dist = dict(
            launcher='pytorch',
            cfg=dict(model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', device_ids=None)))
        max_iters = len(values) // torch.distributed.get_world_size()
    else:
        val_or_dist, max_iters = {}, len(values)
    if save_best:
        val_or_dist.update(
            val_dataloader=dict(
                dataset=Values(values[:1]),
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=1,
                collate_fn=dict(type='default_collate')),
            val_evaluator=[Score()],
            val_cfg=dict())
    return GuardedRunner(
        model=Toy(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=Values(values),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters,
                       val_interval=1),
        default_hooks=dict(
            checkpoint=dict(type=checkpoint, interval=1, by_epoch=False,
                            max_keep_ckpts=max_keep_ckpts,
                            save_best=save_best, rule='greater'),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[DivergenceGuardHook(max_skips=max_skips)],
        resume=resume,
        default_scope='mmpretrain',  # as our configs, so later builds resolve
        log_level='WARNING',
        experiment_name=f'toy_{abs(hash(str(work_dir)))}',
        **val_or_dist)
