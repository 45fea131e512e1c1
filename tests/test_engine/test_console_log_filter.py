"""The console shows a Runner's environment, config and hook order as a
line each, without per-parameter lines; the log file keeps all of it."""
import glob
import os.path as osp

from conftest import tiny_train_cfg

MAE = 'mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py'


def test_config_is_one_console_line_and_whole_in_the_log_file(
        synthetic_root, tmp_path, capsys):
    from mmengine.registry import RUNNERS
    cfg = tiny_train_cfg(MAE, synthetic_root, tmp_path, max_iters=1)
    cfg.log_level = 'INFO'
    capsys.readouterr()
    assert type(RUNNERS.build(cfg)).__name__ == 'GuardedRunner'
    console = capsys.readouterr().out
    lines = [x for x in console.splitlines() if 'Config:' in x]
    assert len(lines) == 1 and lines[0].endswith(
        'lines, in the log file and the work dir'), lines
    assert 'train_dataloader=dict(' not in console  # (unformatted in tests)
    assert 'FileClient' not in console
    assert len([x for x in console.splitlines()
                if ' - INFO - Environment: Python ' in x]) == 1
    hooks = [x for x in console.splitlines() if ' - INFO - Hooks: ' in x]
    assert len(hooks) == 1 and 'DivergenceGuardHook' in hooks[0]
    assert '(VERY_HIGH' not in console and 'System environment' not in console
    log, = glob.glob(osp.join(str(tmp_path), '*', '*.log'))
    with open(log) as f:
        text = f.read()
    assert 'Config:\n' in text and 'train_dataloader=dict(' in text
    assert 'System environment' in text and '(VERY_HIGH' in text
    n = int(lines[0].split('Config: ')[1].split()[0])
    config = text.split('Config:\n', 1)[1]
    assert len(config.splitlines()) >= n - 1  # the whole text is there


def test_known_warnings_of_the_stack_are_ignored_inside_only():
    """mmpretrain's ColorJitter makes mmcv warn on every saturation blend;
    GuardedRunner ignores that warning (and no other) while it runs, and
    the filters are as they were outside."""
    import warnings

    import mmcv
    import numpy as np

    from projects.saip_dpal.engine.console_log_filter import \
        known_warnings_ignored
    image = np.full((4, 4, 3), 100, np.uint8)
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.resetwarnings()
        with known_warnings_ignored():
            mmcv.adjust_color(image, alpha=0.5, backend='pillow')
            warnings.warn('another warning')
        assert [str(w.message) for w in seen] == ['another warning']
        mmcv.adjust_color(image, alpha=0.5, backend='pillow')
        assert str(seen[-1].message) == "Only use 'alpha' for pillow backend."
    assert warnings.filters == before
