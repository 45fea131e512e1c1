"""Resume under torch >= 2.6 weights-only loading, and only for our files."""
import os.path as osp
import pickle

import pytest
import torch
from conftest import CodeRunningPickle, tiny_train_cfg
from mmengine.runner import Runner

MAE = 'mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py'


def _adamw_steps(ckpt):
    return {int(s['step']) for s in ckpt['optimizer']['state'].values()}


def test_resume_continues_optimizer_and_iteration(synthetic_root, tmp_path):
    import projects.saip_dpal  # noqa: F401  (allow-list registered)
    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=2)
    Runner.from_cfg(cfg).train()
    first = torch.load(osp.join(tmp_path, 'iter_2.pth'))  # weights-only
    assert first['meta']['iter'] == 2 and _adamw_steps(first) == {2}

    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=4)
    cfg.resume = True  # picks iter_2.pth from work_dir
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    last = torch.load(osp.join(tmp_path, 'iter_4.pth'))
    assert last['meta']['iter'] == 4
    # a fresh optimizer would have made 2 steps; the resumed one made 4
    assert _adamw_steps(last) == {4}
    sched = last['param_schedulers'][0]
    assert sched['last_step'] == 4
    # the message hub's history survived the resume (2 + 2 losses)
    hub = last['message_hub']['log_scalars']['train/loss']
    assert hub.data[0].shape[0] == 4
    assert not torch.equal(first['state_dict']['backbone.cls_token'],
                           last['state_dict']['backbone.cls_token'])


def test_weights_only_still_refuses_other_globals(tmp_path):
    """The allow-list is narrow: a pickle calling open() is rejected."""
    import projects.saip_dpal  # noqa: F401
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': CodeRunningPickle(tmp_path / 'ran')}, f)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path))
    assert not (tmp_path / 'ran').exists()


def test_checkpoints_hold_only_allow_listed_globals(synthetic_root, tmp_path):
    """What a Runner checkpoint pickles is exactly the allow-list (no
    ``builtins.getattr``, which would open every attribute of every allowed
    class to the unpickler)."""
    import projects.saip_dpal  # noqa: F401
    from projects.saip_dpal.engine import checkpoint_safe_globals
    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=1)
    Runner.from_cfg(cfg).train()
    ser = torch.serialization
    registered = ser.get_safe_globals()
    ser.clear_safe_globals()  # list what the file needs beyond torch's own
    try:
        found = set(ser.get_unsafe_globals_in_checkpoint(
            str(tmp_path / 'iter_1.pth')))
    finally:
        ser.add_safe_globals(registered)
    allowed = {f'{g.__module__}.{g.__qualname__}'
               for g in checkpoint_safe_globals()}
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in found
    assert found <= allowed, found - allowed
