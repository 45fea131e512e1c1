"""mmengine's CheckpointHook with atomic writes and rotation after saving."""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS


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
    moment ``last_checkpoint`` names a complete file. Other storage backends
    keep mmengine's behaviour. Registered in mmengine's root registry, so
    every toolbox's config can use it. Arguments as ``CheckpointHook``.
    """

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
        tmp_name = f'.{name}.tmp'
        runner.save_checkpoint(
            self.out_dir,
            tmp_name,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        tmp = self.file_backend.join_path(self.out_dir, tmp_name)
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(self.out_dir)
        write_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), final)
        if expired is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(expired))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
