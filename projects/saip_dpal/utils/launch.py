"""Launch-time checks and the CPU (gloo) fallback for distributed runs."""
import gc
import os
import os.path as osp
import tempfile
import time
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def check_work_dir_writable(work_dir: str) -> None:
    """Fail before training when ``work_dir`` cannot be created or written.

    Raises:
        PermissionError: one line naming the directory and the reason.
    """
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work_dir, prefix='.write_probe'):
            pass
    except OSError as err:
        raise PermissionError(
            f'work_dir {osp.abspath(work_dir)!r} is not writable: '
            f'{err.strerror or err}') from None


def prepare_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Make a ``pytorch``/``slurm`` launch work on machines without CUDA.

    mmengine's launchers call ``torch.cuda.set_device`` and wrap the model in
    DDP with ``device_ids=[LOCAL_RANK]``; neither works on the CPU. Without
    CUDA this initialises the process group with gloo from the launcher's
    environment variables and wraps the model with ``device_ids=None``.

    Returns:
        bool: whether the CPU fallback was applied.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    if not torch_dist.is_initialized():
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        kwargs = {}
        if timeout is not None:
            from datetime import timedelta
            kwargs['timeout'] = timedelta(seconds=timeout)
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def close_distributed() -> None:
    """Free what holds the default process group, then destroy it.

    The DDP wrapper's reducer holds the group, and a Runner sits in
    reference cycles (its loops point back to it), so only the garbage
    collector frees them. Left to the interpreter's exit, the group's gloo
    threads were torn down still running, and one rank in 5-7 aborted with
    ``terminate called without an active exception`` after a finished run
    (0 in 40 with this). Call it once the Runner is out of scope.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.collect()
        torch_dist.destroy_process_group()


def is_collective_timeout(err: BaseException) -> bool:
    """Whether ``err`` is a collective of the process group that timed out
    (gloo raises it in Python; NCCL's watchdog ends the process itself)."""
    text = str(err).lower()
    return (isinstance(err, RuntimeError) and torch_dist.is_available()
            and torch_dist.is_initialized()
            and ('timed out' in text or 'timeout' in text))


def unanswering_ranks(wait_s: float = 10.0) -> Optional[list]:
    """After a collective timed out: every rank still running marks itself
    in the process group's store; the ranks not marked within ``wait_s``
    seconds stopped answering (frozen, or their machine gone). None when
    the store cannot be reached (it lives on rank 0's machine)."""
    from torch.distributed import distributed_c10d
    get_store = getattr(distributed_c10d, '_get_default_store', None)
    if get_store is None:
        return None
    rank, world_size = torch_dist.get_rank(), torch_dist.get_world_size()
    try:
        store = get_store()
        store.set(f'saip_dpal/alive/{rank}', '1')
        deadline = time.monotonic() + wait_s
        while True:
            missing = [r for r in range(world_size)
                       if not store.check([f'saip_dpal/alive/{r}'])]
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.2)
    except RuntimeError:  # the store's own timeout: rank 0 is not answering
        return None


def stopped_ranks_line(timeout_s) -> str:
    """One line for a collective that timed out, naming the ranks that
    stopped answering."""
    world_size = torch_dist.get_world_size()
    waited = f'a collective waited {timeout_s} s' if timeout_s else \
        'a collective timed out'
    missing = unanswering_ranks()
    if missing is None:
        return (f'{waited} and the store on rank 0 does not answer: rank 0 '
                'stopped answering (look at its log and machine)')
    if not missing:
        return f'{waited}, but all {world_size} ranks answer now'
    alive = [r for r in range(world_size) if r not in missing]
    name = ', '.join(map(str, missing))
    return (f'rank{"s" if len(missing) > 1 else ""} {name} of {world_size} '
            f'stopped answering: {waited} for it; rank'
            f'{"s" if len(alive) > 1 else ""} {", ".join(map(str, alive))} '
            f'still running: look at rank {name} (its log, its machine)')
