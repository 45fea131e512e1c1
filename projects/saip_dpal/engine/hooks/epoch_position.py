"""Where a run stands inside its epoch, counted in samples, so that a resume
with another batch size or number of ranks continues at the same sample.

A checkpoint stores ``epoch_position``: the epoch, the iterations done in
it, the iterations per epoch and the batch size and world size that made
them. On resume with ``B' x W'`` images per iteration the ``P`` samples done
become ``P / (B' W')`` iterations (refused in one line when that is not a
whole number; ``resume_at_epoch_start=True`` restarts the epoch instead),
the iteration counter moves there, and the parameter schedulers and the
optimizer's values are those a run at the new batch has at that iteration
(replayed from the start of the schedule; with ``auto_scale_lr`` the
learning rate follows the new total batch as it would for a fresh run).
"""
import copy
from types import SimpleNamespace

from ...utils import InputDataError

#: the top-level config key that resumes at the start of the saved epoch
RESUME_AT_EPOCH_START = 'resume_at_epoch_start'


def images_per_iter(runner) -> tuple:
    """``(batch size per rank, world size)`` of the running train loop."""
    return runner.train_loop.dataloader.batch_size, runner.world_size


def iters_per_epoch(loop) -> int:
    """Iterations of one epoch of an ``EpochBasedTrainLoop`` (its total over
    its epochs: the loader shrinks while a resumed epoch skips samples)."""
    return loop.max_iters // loop.max_epochs


def saved_position(runner, meta: dict) -> dict:
    """The ``epoch_position`` of a checkpoint whose meta is ``meta``."""
    per_epoch = iters_per_epoch(runner.train_loop)
    batch_size, world_size = images_per_iter(runner)
    return dict(
        epoch=int(meta['epoch']),
        iters_done=int(meta['iter']) - int(meta['epoch']) * per_epoch,
        iters_per_epoch=per_epoch,
        batch_size=int(batch_size),
        world_size=int(world_size))


def _iterations(n: int) -> str:
    return f'{n} iteration' + ('' if n == 1 else 's')


def _describe(batch_size: int, world_size: int) -> str:
    ranks = 'rank' if world_size == 1 else 'ranks'
    return f'batch {batch_size} x {world_size} {ranks}'


def resumed_iters_done(runner, saved: dict) -> int:
    """Iterations of the saved epoch done, at the resumed run's scale.

    Raises:
        InputDataError: the samples done are not a whole number of the new
            iterations (one line saying what changed and how to resume).
    """
    per_epoch = iters_per_epoch(runner.train_loop)
    done, old_per_epoch = saved['iters_done'], saved['iters_per_epoch']
    if done >= old_per_epoch:
        return per_epoch  # the epoch was complete
    if runner.cfg.get(RESUME_AT_EPOCH_START, False):
        return 0
    old = saved['batch_size'] * saved['world_size']
    batch_size, world_size = images_per_iter(runner)
    new = batch_size * world_size
    if old == new:
        return done
    samples = done * old
    if samples % new:
        raise InputDataError(
            f'saved {_iterations(done)} into epoch {saved["epoch"] + 1} at '
            f'{_describe(saved["batch_size"], saved["world_size"])} '
            f'({samples} samples), which is not a whole number of '
            f'iterations at {_describe(batch_size, world_size)}: resume '
            f'with a total batch that divides {samples}, or from the start '
            f'of the epoch with --cfg-options {RESUME_AT_EPOCH_START}=True')
    return samples // new


def _counted_step():
    """A stand-in ``optimizer.step`` (mmengine's schedulers check for their
    step counter on it)."""


_counted_step._with_counter = True


def replayed_schedule(built: list, states: list, new_iter: int,
                      epochs: int, per_epoch: int, lr_ratio: float):
    """The resumed run's schedule at iteration ``new_iter``.

    The freshly built schedulers (ranges for the new iterations per epoch)
    are replayed from their start on stand-in parameter groups, one per
    distinct set of saved base values (the learning rate's times
    ``lr_ratio``): each steps once as it is built, the iteration-based ones
    after every iteration, the epoch-based ones after each of the
    ``epochs`` finished epochs, as ``ParamSchedulerHook`` steps them.
    Returns the schedulers' states and, per parameter name, the value and
    base value of every parameter group."""
    bases = {}
    for state in states:
        name = state['param_name']
        scale = lr_ratio if name == 'lr' else 1
        bases.setdefault(name, [v * scale for v in state['base_values']])
    names = list(bases)
    keys = list(zip(*(bases[name] for name in names)))
    distinct = sorted(set(keys))
    groups = [{
        **{name: key[j] for j, name in enumerate(names)},
        **{f'initial_{name}': key[j] for j, name in enumerate(names)}
    } for key in distinct]
    stand_in = SimpleNamespace(param_groups=groups, step=_counted_step,
                               _global_step=-1)
    replays = []
    for scheduler in built:
        replay = copy.copy(scheduler)
        replay.optimizer = stand_in
        replay.base_values = [g[f'initial_{replay.param_name}']
                              for g in groups]
        replay.last_step = replay._global_step = -1
        replay.step()  # as when it is built
        replays.append(replay)
    stepped_epochs = 0
    for it in range(new_iter):
        for replay in replays:
            if not replay.by_epoch:
                replay.step()
        if (it + 1) % per_epoch == 0 and stepped_epochs < epochs:
            stepped_epochs += 1
            for replay in replays:
                if replay.by_epoch:
                    replay.step()
    slot = [distinct.index(key) for key in keys]
    out = []
    for replay in replays:
        state = replay.state_dict()
        state['base_values'] = [state['base_values'][k] for k in slot]
        state['_last_value'] = [state['_last_value'][k] for k in slot]
        out.append(state)
    values = {name: ([groups[k][name] for k in slot], bases[name])
              for name in names}
    return out, values


def _set_groups(optimizer_state: dict, values: dict) -> None:
    for name, (current, initial) in values.items():
        for group, value, base in zip(optimizer_state['param_groups'],
                                      current, initial):
            group[name], group[f'initial_{name}'] = value, base


def scale_optimizer_lr(state: dict, ratio: float) -> None:
    """Multiply the learning rates (current and initial) of an optimizer or
    optim-wrapper-dict state by ``ratio``, in place."""
    if 'param_groups' in state:
        for group in state['param_groups']:
            for key in ('lr', 'initial_lr'):
                if key in group:
                    group[key] *= ratio
        return
    for value in state.values():
        if isinstance(value, dict):
            scale_optimizer_lr(value, ratio)


def lr_ratio(runner, saved: dict) -> float:
    """New over saved total batch when ``auto_scale_lr`` is enabled (the
    learning rate a fresh run at the new batch would get), else 1."""
    auto = runner.auto_scale_lr or {}
    if not auto.get('enable', False):
        return 1.0
    batch_size, world_size = images_per_iter(runner)
    return batch_size * world_size / (saved['batch_size'] *
                                      saved['world_size'])


def move_to_new_scale(runner, checkpoint: dict) -> int:
    """Rewrite a checkpoint being resumed for the running train loop's
    iterations (iteration counter, schedulers, learning rate) and return the
    iterations of the saved epoch done at the new scale."""
    saved = checkpoint['epoch_position']
    meta = checkpoint['meta']
    loop = runner.train_loop
    per_epoch = iters_per_epoch(loop)
    done = resumed_iters_done(runner, saved)
    batch_size, world_size = images_per_iter(runner)
    unchanged = (saved['iters_per_epoch'] == per_epoch
                 and saved['batch_size'] * saved['world_size'] ==
                 batch_size * world_size)
    if unchanged and done == saved['iters_done']:
        return done
    new_iter = saved['epoch'] * per_epoch + done
    meta['iter'] = new_iter
    ratio = lr_ratio(runner, saved)
    built = runner.param_schedulers
    if 'param_schedulers' in checkpoint and built:
        states = checkpoint['param_schedulers']
        named = isinstance(built, dict)
        for name in (built if named else [None]):
            moved, values = replayed_schedule(
                built[name] if named else built,
                states[name] if named else states, new_iter,
                saved['epoch'], per_epoch, ratio)
            if named:
                states[name] = moved
            else:
                checkpoint['param_schedulers'] = moved
            optimizer = checkpoint.get('optimizer')
            if optimizer is not None:
                _set_groups(optimizer[name] if named else optimizer, values)
    elif ratio != 1 and 'optimizer' in checkpoint:
        scale_optimizer_lr(checkpoint['optimizer'], ratio)
    change = (f'saved at {_describe(saved["batch_size"], saved["world_size"])}'
              f', resumed at {_describe(batch_size, world_size)}: '
              if not unchanged else '')
    lr = f'; learning rate x{ratio:g} (auto_scale_lr)' if ratio != 1 else ''
    runner.logger.warning(
        f'{change}epoch {saved["epoch"] + 1} resumes after {done} of '
        f'{_iterations(per_epoch)} (iteration {new_iter} of '
        f'{loop.max_iters}){lr}')
    return done
