"""A kill -9 in the middle of a checkpoint write loses nothing: the last
complete checkpoint stays, ``last_checkpoint`` names it, and the run
resumes from it to the same result as an uninterrupted one."""
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import ROOT
from toy_runner import toy_runner

TESTS = osp.join(ROOT, 'tests')
VALUES = [1, 2, 3, 4, 5, 6]


def _killed_run(work_dir, hook, save_best=None):
    """Train the toy in a subprocess that dies (exit 137, no cleanup) half
    way through writing its third checkpoint (with ``save_best``: its
    second best checkpoint)."""
    script = textwrap.dedent(f'''
        import os, sys
        sys.path[:0] = [{TESTS!r}, {ROOT!r}]
        import projects.saip_dpal  # noqa
        from mmengine.fileio import LocalBackend
        from toy_runner import toy_runner
        real_put, saves = LocalBackend.put, []

        def dying_put(self, obj, filepath):
            name = os.path.basename(str(filepath))
            if name.endswith('.pth') or '.pth.' in name:
                saves.append(filepath)
                best = [n for n in saves if 'best' in str(n)]
                if {save_best!r} and len(best) == 2 or (
                        not {save_best!r} and len(saves) == 3):
                    with open(filepath, 'wb') as f:
                        f.write(obj[:len(obj) // 2])
                    os._exit(137)
            return real_put(self, obj, filepath)

        LocalBackend.put = dying_put
        toy_runner({str(work_dir)!r}, {VALUES!r}, checkpoint={hook!r},
                   save_best={save_best!r}).train()
    ''')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 137, out.stderr[-2000:]


def _last(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_kill_during_write_keeps_the_last_checkpoint_and_resumes(tmp_path):
    work = tmp_path / 'safe'
    _killed_run(work, 'SafeCheckpointHook')
    assert _last(work) == str(work / 'iter_2.pth')
    ckpt = torch.load(work / 'iter_2.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 2
    assert (work / '.iter_3.pth.tmp').exists()  # the partial write
    assert not (work / 'iter_3.pth').exists()

    resumed = toy_runner(work, VALUES, resume=True)
    resumed.train()
    straight = toy_runner(tmp_path / 'straight', VALUES)
    straight.train()
    assert resumed.iter == 6
    torch.testing.assert_close(resumed.model.w, straight.model.w,
                               rtol=0, atol=0)
    # rotation after the save: one file, the last one, and no leftovers
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_6.pth']
    assert _last(work) == str(work / 'iter_6.pth')


def test_control_mmengine_hook_loses_the_checkpoint(tmp_path):
    """mmengine's own hook deleted iter_2 before writing iter_3."""
    work = tmp_path / 'plain'
    _killed_run(work, 'CheckpointHook')
    assert _last(work) == str(work / 'iter_2.pth')
    assert not (work / 'iter_2.pth').exists()
    with pytest.raises(Exception):
        torch.load(work / 'iter_3.pth', weights_only=True)


@pytest.mark.parametrize('hook', ['SafeCheckpointHook', 'CheckpointHook'])
def test_kill_while_saving_a_new_best_keeps_the_old_best(tmp_path, hook):
    """Killed half way through ``best_score_iter_2.pth``: the safe hook
    still has the best of iteration 1; mmengine's deleted it first."""
    _killed_run(tmp_path, hook, save_best='score')
    bests = sorted(p.name for p in tmp_path.glob('*best*'))
    if hook == 'CheckpointHook':
        assert bests == ['best_score_iter_2.pth']  # partial, old one gone
        with pytest.raises(Exception):
            torch.load(tmp_path / 'best_score_iter_2.pth', weights_only=True)
        return
    assert bests == ['.best_score_iter_2.pth.tmp', 'best_score_iter_1.pth']
    best = torch.load(tmp_path / 'best_score_iter_1.pth', weights_only=True)
    assert best['meta']['iter'] == 1


def test_new_best_replaces_the_old_one_after_it_is_written(tmp_path):
    runner = toy_runner(tmp_path, VALUES[:3], save_best='score')
    runner.train()
    assert sorted(p.name for p in tmp_path.glob('*best*')) == [
        'best_score_iter_3.pth']
    assert not list(tmp_path.glob('.*.tmp'))
    best = torch.load(tmp_path / 'best_score_iter_3.pth', weights_only=True)
    assert best['meta']['iter'] == 3


def test_full_disk_is_one_line_and_leaves_no_partial_file(
        synthetic_root, tmp_path, capsys, monkeypatch):
    """Through ``tools/train.py``: the disk fills up half way through the
    second checkpoint (the write fails with ENOSPC). One line names the
    file and the space, the partial file is gone, ``last_checkpoint``
    still names the first. A partial file left by a kill is removed when
    the next run starts."""
    import errno
    import re

    from conftest import run_tool, tiny_train_cfg
    from mmengine.fileio import LocalBackend
    cfg = tiny_train_cfg('mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py',
                         synthetic_root, tmp_path / 'w', max_iters=3)
    cfg.default_hooks.checkpoint.type = 'SafeCheckpointHook'
    cfg.dump(str(tmp_path / 'config.py'))
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / '.iter_9.pth.tmp').write_bytes(b'left by a kill')
    real_put = LocalBackend.put

    def full_disk_put(self, obj, filepath):
        if str(filepath).endswith('.iter_2.pth.tmp'):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', full_disk_put)
    code, err = run_tool('tools/train.py', [tmp_path / 'config.py'], capsys)
    work = tmp_path / 'w'
    assert code == 1
    assert re.fullmatch(
        rf'error: could not save iter_2\.pth in {work}: the disk is full '
        r'\(about [\d.]+ MB needed, [\d.]+ [KMG]B free\); the partial file '
        rf'is removed, {work}/iter_1\.pth is kept: free space and continue '
        'with --resume', err[-1]), err[-3:]
    assert sorted(p.name for p in work.iterdir() if p.is_file()) == [
        'config.py', 'iter_1.pth', 'last_checkpoint']  # no .tmp left
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_1.pth')
    monkeypatch.setattr(LocalBackend, 'put', real_put)
    code, err = run_tool('tools/train.py', [tmp_path / 'config.py',
                                            '--resume'], capsys)
    assert code == 0, err[-10:]
    assert (work / 'iter_3.pth').is_file()
