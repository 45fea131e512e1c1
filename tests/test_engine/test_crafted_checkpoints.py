"""No config text stored in a checkpoint runs: resume, test, extraction and
publishing parse it without executing it and refuse anything but plain
values in one line, with no side effect."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, tiny_train_cfg
from mmengine.config import Config

from projects.saip_dpal.utils import InputDataError, parse_config_text

MAE = 'mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py'
REID = 'reid/reid_dpal-vit-tiny_1xb16-2e_synthetic-market1501-256x128.py'


def _payloads(marker):
    """Texts that would create ``marker`` if they were executed."""
    m = repr(str(marker))
    return {
        'import': f"import os\nos.system('touch ' + {m})",
        'call in a value': f"x = dict(a=open({m}, 'w'))",
        '__import__': f"x = __import__('os').system('touch ' + {m})",
        'lambda': f'x = (lambda: open({m}, "w"))()',
        'comprehension': f"x = [open({m}, 'w') for _ in 'a']",
        '_base_': f'_base_ = [{m}]',
    }


def test_every_shipped_config_reads_back_as_plain_values():
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                 recursive=True)):
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        text = cfg.pretty_text
        assert parse_config_text(text, path) == Config.fromstring(
            text, '.py').to_dict(), path


@pytest.mark.parametrize('kind', list(_payloads('m')))
def test_code_in_config_text_is_refused_without_running(kind, tmp_path):
    marker = tmp_path / 'ran'
    text = _payloads(marker)[kind]
    with pytest.raises(InputDataError) as exc:
        parse_config_text(text, "x.pth meta['cfg']")
    msg = str(exc.value)
    assert '\n' not in msg and msg.startswith("x.pth meta['cfg'] line ")
    assert 'is not a plain value' in msg or 'not valid' in msg
    assert not marker.exists()


def test_the_payloads_are_live(tmp_path):
    """Control: mmengine's own parser executes such text."""
    marker = tmp_path / 'ran'
    Config.fromstring(_payloads(marker)['__import__'], '.py')
    assert marker.exists()


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    """A real one-iteration checkpoint and its (dumped) config."""
    from mmengine.runner import Runner
    work = tmp_path_factory.mktemp('trained')
    cfg = tiny_train_cfg(MAE, synthetic_root, work, max_iters=1)
    Runner.from_cfg(cfg).train()
    cfg.dump(str(work / 'config.py'))
    return work, torch.load(work / 'iter_1.pth', weights_only=True)


def _crafted(trained, tmp_path, key, text):
    ckpt = dict(trained[1])
    ckpt['meta'] = dict(ckpt['meta'], **{key: text})
    path = tmp_path / 'crafted.pth'
    torch.save(ckpt, path)
    return str(path)


def _run(args, cwd):
    out = subprocess.run([sys.executable, *args], cwd=cwd,
                         capture_output=True, text=True, timeout=600)
    return out, out.stderr.strip().splitlines()[-1] if out.stderr else ''


@pytest.mark.parametrize('tool,key', [('tools/train.py', 'config'),
                                      ('tools/train.py', 'cfg'),
                                      ('tools/test.py', 'cfg')])
def test_runner_refuses_code_in_meta(trained, synthetic_root, tmp_path, tool,
                                     key):
    marker = tmp_path / 'ran'
    path = _crafted(trained, tmp_path, key, _payloads(marker)['import'])
    if tool.endswith('train.py'):
        args = [str(trained[0] / 'config.py'), '--resume', path]
    else:  # any config with a test loop: the meta is read before testing
        args = [osp.join(ROOT, 'configs', REID), path, '--cfg-options',
                'test_dataloader.dataset.data_root='
                f'{synthetic_root}/Market-1501/']
    out, last = _run([osp.join(ROOT, tool), *args, '--work-dir',
                      str(tmp_path / 'w')], tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    assert last == (f"error: checkpoint crafted.pth meta['{key}'] line 1: a "
                    "Import statement ('import os') is not a plain value; "
                    'stored config text is read without running it')
    assert 'Traceback' not in out.stderr
    assert not marker.exists()


def test_resume_from_our_own_checkpoint_still_works(trained, tmp_path):
    """The guard lets mmengine's own meta through (and drops a plain
    legacy meta['config'])."""
    path = _crafted(trained, tmp_path, 'config', "gpu_ids = [0]\n")
    out, _ = _run([osp.join(ROOT, 'tools/train.py'),
                   str(trained[0] / 'config.py'), '--resume', path,
                   '--work-dir', str(tmp_path / 'w'),
                   '--cfg-options', 'train_cfg.max_iters=2'], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    resumed = torch.load(tmp_path / 'w' / 'iter_2.pth', weights_only=True)
    assert resumed['meta']['iter'] == 2


@pytest.mark.parametrize('tool', ['tools/model_converters/extract_backbone.py',
                                  'tools/model_converters/publish_model.py'])
def test_converters_refuse_code_in_meta(trained, tmp_path, tool):
    marker = tmp_path / 'ran'
    path = _crafted(trained, tmp_path, 'cfg',
                    _payloads(marker)['call in a value'])
    out, last = _run([osp.join(ROOT, tool), path, str(tmp_path / 'o.pth')],
                     tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    assert last.startswith("error: checkpoint crafted.pth meta['cfg'] line 1:")
    assert "a call (\"open(" in last
    assert not marker.exists()
    assert not list(tmp_path.glob('o*.pth'))  # nothing written
