"""No config text stored in a checkpoint runs: resume, test, extraction and
publishing parse it without executing it and refuse anything but plain
values in one line, with no side effect."""
import os.path as osp

import pytest
import torch
from conftest import (CodeRunningPickle, ROOT, formatted, run_tool,
                      tiny_train_cfg)
from mmengine.config import Config

from projects.saip_dpal.utils import InputDataError, parse_config_text

MAE = 'mae/mae_vit-tiny-p16_1xb16-4e_synthetic-lup.py'
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


#: one config per family of bases (``pretty_text`` is about 1 s each)
FAMILIES = [
    'dpal_pathb_vit-tiny.py', 'dpal_soliderb_swin-tiny.py', 'saip_vit-tiny.py',
    'dpal/dpal_pathb_vit-tiny-p16_1xb16-2e_synthetic-lup.py', MAE,
    'pose/td-hm_dpal-vit-tiny_8xb64-210e_coco-256x192.py',
    'pose/td-hm_dpal-swin-tiny_8xb64-210e_coco-256x192.py',
    'parsing/uper_dpal-vit-tiny_8xb4-150e_cihp-512x512.py', REID,
    'attribute/par_dpal-vit-tiny_1xb64-30e_pa100k-256x128.py'
]


def test_every_config_family_reads_back_as_plain_values():
    """What mmengine stores in meta['cfg'] parses to the config itself."""
    for name in FAMILIES:
        cfg = formatted(Config.fromfile(osp.join(ROOT, 'configs', name)))
        assert parse_config_text(cfg.pretty_text, name) == cfg.to_dict(), \
            name
    # and mmengine's text before yapf formats it (the tests' Runners)
    object.__setattr__(cfg, '_format_python_code', False)
    assert parse_config_text(cfg.pretty_text, name) == cfg.to_dict()


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


@pytest.mark.parametrize('tool,key', [('tools/train.py', 'config'),
                                      ('tools/train.py', 'cfg'),
                                      ('tools/test.py', 'cfg')])
def test_runner_refuses_code_in_meta(trained, synthetic_root, tmp_path, tool,
                                     key, capsys):
    marker = tmp_path / 'ran'
    path = _crafted(trained, tmp_path, key, _payloads(marker)['import'])
    if tool.endswith('train.py'):
        args = [trained[0] / 'config.py', '--resume', path]
    else:  # any config with a test loop: the meta is read before testing
        args = [osp.join(ROOT, 'configs', REID), path, '--cfg-options',
                'test_dataloader.dataset.data_root='
                f'{synthetic_root}/Market-1501/']
    code, err = run_tool(tool, args + ['--work-dir', tmp_path / 'w'], capsys)
    assert code == 1, err[-20:]
    assert err[-1] == (f"error: checkpoint crafted.pth meta['{key}'] line 1: "
                       "a Import statement ('import os') is not a plain "
                       'value; stored config text is read without running '
                       'it')
    assert not any('Traceback' in line for line in err)
    assert not marker.exists()


def test_resume_from_our_own_checkpoint_still_works(trained, tmp_path,
                                                    capsys):
    """The guard lets mmengine's own meta through (and drops a plain
    legacy meta['config'])."""
    path = _crafted(trained, tmp_path, 'config', "gpu_ids = [0]\n")
    code, err = run_tool('tools/train.py', [
        trained[0] / 'config.py', '--resume', path, '--work-dir',
        tmp_path / 'w', '--cfg-options', 'train_cfg.max_iters=2'], capsys)
    assert code == 0, err[-20:]
    resumed = torch.load(tmp_path / 'w' / 'iter_2.pth', weights_only=True)
    assert resumed['meta']['iter'] == 2


@pytest.mark.parametrize('tool', ['tools/model_converters/extract_backbone.py',
                                  'tools/model_converters/publish_model.py'])
def test_converters_refuse_code_in_meta(trained, tmp_path, tool, capsys):
    marker = tmp_path / 'ran'
    path = _crafted(trained, tmp_path, 'cfg',
                    _payloads(marker)['call in a value'])
    code, err = run_tool(tool, [path, tmp_path / 'o.pth'], capsys)
    assert code == 1, err
    assert len(err) == 1 and err[0].startswith(
        "error: checkpoint crafted.pth meta['cfg'] line 1:")
    assert "a call (\"open(" in err[0]
    assert not marker.exists()
    assert not list(tmp_path.glob('o*.pth'))  # nothing written


def test_flexible_runner_refuses_code_in_meta(tmp_path):
    """mmengine's FlexibleRunner reads meta['config'] after its strategy
    loaded the file: refused there too."""
    from mmengine.runner import FlexibleRunner
    from toy_runner import Toy, Values
    marker = tmp_path / 'ran'
    path = tmp_path / 'crafted.pth'
    torch.save(dict(state_dict=Toy().state_dict(),
                    meta=dict(epoch=0, iter=0,
                              config=_payloads(marker)['import'])), path)
    runner = FlexibleRunner(
        model=Toy(), work_dir=str(tmp_path / 'w'),
        train_dataloader=dict(
            dataset=Values([1, 2]), batch_size=1,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        load_from=str(path), resume=True, log_level='WARNING',
        default_scope='mmpretrain')
    with pytest.raises(InputDataError, match=r"^checkpoint crafted.pth "
                       r"meta\['config'\] line 1: a Import statement"):
        runner.train()
    assert not marker.exists()


def test_config_text_in_the_message_hub_is_checked(tmp_path):
    """mmengine's inferencers build a model from the message hub's cfg."""
    from projects.saip_dpal.engine import check_checkpoint_meta
    marker = tmp_path / 'ran'
    ckpt = dict(meta=dict(epoch=1), message_hub=dict(
        runtime_info=dict(cfg=_payloads(marker)['lambda'])))
    with pytest.raises(InputDataError, match=r"^checkpoint x.pth "
                       r"message_hub\['runtime_info'\]\['cfg'\] line 1: "):
        check_checkpoint_meta(ckpt, 'x.pth')
    assert not marker.exists()
    ckpt['message_hub']['runtime_info']['cfg'] = "model = dict(type='X')"
    check_checkpoint_meta(ckpt, 'x.pth')  # plain values pass


@pytest.mark.parametrize('kind', ['pickled code', 'truncated'])
def test_runner_names_an_unreadable_checkpoint(trained, synthetic_root,
                                               tmp_path, kind, capsys):
    """``tools/test.py`` / ``--resume`` on a file weights-only loading
    refuses: one line (not torch's advice to load it unsafely)."""
    marker = tmp_path / 'ran'
    path = tmp_path / 'bad.pth'
    if kind == 'pickled code':
        torch.save(dict(trained[1], x=CodeRunningPickle(str(marker))), path)
        reason = 'it pickles io.open, which is not allowed; nothing in it ' \
            'was run'
    else:
        path.write_bytes((trained[0] / 'iter_1.pth').read_bytes()[:4096])
        reason = 'truncated, or not a torch checkpoint ('
    code, err = run_tool('tools/test.py', [
        osp.join(ROOT, 'configs', REID), path, '--work-dir', tmp_path / 'w',
        '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_root}/Market-1501/'
    ], capsys)
    assert code == 1
    # (the last line: earlier in-process runs may leave logging noise)
    assert err[-1].startswith(f'error: checkpoint {path} cannot be read '
                              f'weights-only: {reason}'), err[-5:]
    assert not marker.exists()


def test_missing_checkpoint_is_named(tmp_path):
    from toy_runner import toy_runner
    runner = toy_runner(tmp_path, [1])
    with pytest.raises(InputDataError, match='^checkpoint not found: '):
        runner.load_checkpoint(str(tmp_path / 'nope.pth'))
