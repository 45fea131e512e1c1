# Runtime shared by every saip-dpal config: registries, hooks, environment.
custom_imports = dict(
    imports=['projects.saip_dpal'], allow_failed_imports=False)
default_scope = 'mmpretrain'
# mmengine's Runner reading checkpoints weights-only (files and URLs) and
# refusing stored config text that is not plain values, with a quiet console
# (projects/saip_dpal/engine/guarded_runner.py)
runner_type = 'GuardedRunner'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic writes; old files are deleted only after the new one is in place
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # stop at a non-finite loss and never save non-finite weights; set
    # max_skips=N to skip up to N such steps instead (enabled=False: off)
    divergence_guard=dict(type='DivergenceGuardHook'),
    # the random generators travel with each checkpoint and a resumed epoch
    # continues where it stopped (with ResumableSampler): a resumed run
    # draws what the uninterrupted run draws
    resume_state=dict(type='ResumeStateHook'),
    # SIGTERM (a cluster's preemption or time limit): save the current
    # iteration atomically, one line, exit 143; add 'SIGUSR1' if the
    # scheduler sends that (sbatch --signal)
    signal_checkpoint=dict(type='SignalCheckpointHook', signals=['SIGTERM']),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo (CPU processes) where CUDA is absent;
    # a rank that stops answering fails the others after `timeout` seconds
    # (torch's default is 30 minutes)
    dist_cfg=dict(backend='nccl', timeout=600),
)

log_processor = dict(window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
