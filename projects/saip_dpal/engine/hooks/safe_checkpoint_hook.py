"""mmengine's CheckpointHook with atomic writes and rotation after saving."""
import errno
import functools
import glob
import os
import os.path as osp
import shutil

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ...utils.errors import CheckpointNotSaved


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to a temporary name, fsync it, rename it over
    ``path`` and fsync the folder: readers see the old or the new text."""
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync(osp.dirname(osp.abspath(path)))


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose files survive a kill at any moment.

    mmengine deletes the oldest kept checkpoint *before* writing the new one
    and writes in place, so a kill (or a refused save) during the write can
    leave only a partial file, with ``last_checkpoint`` naming it. Here, on a
    local disk, each checkpoint is written to ``.<name>.tmp``, fsynced and
    renamed into place; ``last_checkpoint`` is then replaced atomically; only
    after that are checkpoints beyond ``max_keep_ckpts`` deleted. At every
    moment ``last_checkpoint`` names a complete file. ``save_best`` files
    are written the same way, and the previous best is deleted only once
    the new one is in place. Other storage backends
    keep mmengine's behaviour. A write that fails (a full disk) removes its
    partial file and stops with one line naming the file, the space needed
    and free, and the checkpoint that is kept; partial files a kill left
    are removed when training starts. Registered in mmengine's root
    registry, so every toolbox's config can use it. Arguments as
    ``CheckpointHook``.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not is_main_process() or not isinstance(self.file_backend,
                                                   LocalBackend):
            return
        partial = glob.glob(osp.join(glob.escape(self.out_dir), '.*.tmp'))
        partial += glob.glob(
            osp.join(glob.escape(runner.work_dir), 'last_checkpoint.tmp'))
        for path in sorted(set(partial)):
            os.remove(path)
        if partial:
            runner.logger.warning(
                f'removed {len(partial)} partial file(s) an interrupted save '
                f'left: {", ".join(sorted(map(osp.basename, partial)))}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        name = self.filename_tmpl.format(step)
        final = self.file_backend.join_path(self.out_dir, name)
        # the bookkeeping as mmengine's (it is saved in the message hub),
        # but the file that falls out is deleted only after the new one
        # is in place
        expired = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                expired = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        self.last_ckpt = final
        runner.message_hub.update_info('last_ckpt', final)
        _save_atomically(
            runner.save_checkpoint,
            self.out_dir,
            name,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        write_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), final)
        if expired is not None:
            _remove_file(self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(expired)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's, with the new best written atomically and the old
        best deleted only after it."""
        if not self.save_best or not isinstance(self.file_backend,
                                                LocalBackend):
            return super()._save_best_checkpoint(runner, metrics)
        superseded = []
        # mmengine removes the old best before it saves the new one:
        # both calls are intercepted for the duration of its method
        self.file_backend.remove = superseded.append
        runner.save_checkpoint = functools.partial(_save_atomically,
                                                   runner.save_checkpoint)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del self.file_backend.remove
            del runner.save_checkpoint
        if not is_main_process():
            return
        kept = {getattr(self, 'best_ckpt_path', None),
                *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in superseded:
            if path not in kept:
                _remove_file(path)


def _save_atomically(save_checkpoint, out_dir, filename, *args, **kwargs):
    """``Runner.save_checkpoint`` to ``.<filename>.tmp``, then (on the main
    process) fsync and rename it to ``filename``."""
    tmp_name = f'.{filename}.tmp'
    tmp = osp.join(out_dir, tmp_name)
    try:
        save_checkpoint(out_dir, tmp_name, *args, **kwargs)
        if not is_main_process():
            return
        _fsync(tmp)
        os.replace(tmp, osp.join(out_dir, filename))
        _fsync(out_dir)
    except OSError as err:
        written = osp.getsize(tmp) if osp.isfile(tmp) else 0
        _remove_file(tmp)
        raise CheckpointNotSaved(_not_saved(out_dir, filename, err,
                                            written)) from None


def _size(n: float) -> str:
    for unit in ('bytes', 'KB', 'MB', 'GB'):
        if n < 1024 or unit == 'GB':
            return f'{n:.0f} {unit}' if unit == 'bytes' else \
                f'{n:.1f} {unit}'
        n /= 1024


def _not_saved(out_dir: str, filename: str, err: OSError,
               written: int) -> str:
    """One line: which file failed, why, the space (for a full disk) and
    the checkpoint that is kept."""
    kept = sorted((p for p in glob.glob(osp.join(glob.escape(out_dir),
                                                   '*.pth'))),
                  key=osp.getmtime)
    full = err.errno in (errno.ENOSPC, errno.EDQUOT)
    if full:
        need = (f'about {_size(osp.getsize(kept[-1]))} needed'
                if kept else f'more than {_size(written)} needed')
        why = (f'the disk is full ({need}, '
               f'{_size(shutil.disk_usage(out_dir).free)} free)')
    else:
        why = err.strerror or str(err)
    last = f'{kept[-1]} is kept' if kept else 'there is no earlier one'
    return (f'could not save {filename} in {out_dir}: {why}; the partial '
            f'file is removed, {last}: '
            f'{"free space" if full else "fix that"} and continue with '
            '--resume')


def _remove_file(path: str) -> None:
    if osp.isfile(path):
        os.remove(path)
