"""No file we read runs code, through the real entry points: stored config
text (resume, test, extraction, publishing) is parsed without executing it,
mmengine's substitutions included; recorded architectures build only
allow-listed backbones; URL checkpoints are read weights-only; a resumed
run carries its own config into its files. Each refusal is one line and
leaves no side effect."""
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import (CodeRunningPickle, ROOT, formatted, run_tool,
                      tiny_train_cfg)
from mmengine.config import Config
from mmengine.registry import RUNNERS

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
        # literals only, until mmengine substitutes $NOPE as text: the
        # pattern it builds from a's default matches b, which becomes that
        # default, now code
        'substitution': (
            "a = '''{{\"$NOPE:__import__('os').mkdir(%s)\"}}'''\n"
            "b = {{\"$NOPE:__import__'os'Xmkdir%s\"}}\n" % (m, m)),
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
    assert ('is not a plain value' in msg or 'not valid' in msg
            or 'is a substitution mmengine makes' in msg)
    assert not marker.exists()


@pytest.mark.parametrize('kind', ['__import__', 'substitution'])
def test_the_payloads_are_live(tmp_path, kind):
    """Control: mmengine's own parser executes such text."""
    marker = tmp_path / 'ran'
    Config.fromstring(_payloads(marker)[kind], '.py')
    assert marker.exists()


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    """A real one-iteration checkpoint and its (dumped) config."""
    work = tmp_path_factory.mktemp('trained')
    cfg = tiny_train_cfg(MAE, synthetic_root, work, max_iters=1)
    RUNNERS.build(cfg).train()
    cfg.dump(str(work / 'config.py'))
    return work, torch.load(work / 'iter_1.pth', weights_only=True)


def _crafted(trained, tmp_path, key, text):
    ckpt = dict(trained[1])
    ckpt['meta'] = dict(ckpt['meta'], **{key: text})
    path = tmp_path / 'crafted.pth'
    torch.save(ckpt, path)
    return str(path)


@pytest.mark.parametrize('tool,key,kind', [
    ('tools/train.py', 'config', 'import'), ('tools/train.py', 'cfg', 'import'),
    ('tools/test.py', 'cfg', 'import'),
    ('tools/train.py', 'cfg', 'substitution')])
def test_runner_refuses_code_in_meta(trained, synthetic_root, tmp_path, tool,
                                     key, kind, capsys):
    marker = tmp_path / 'ran'
    path = _crafted(trained, tmp_path, key, _payloads(marker)[kind])
    if tool.endswith('train.py'):
        args = [trained[0] / 'config.py', '--resume', path]
    else:  # any config with a test loop: the meta is read before testing
        args = [osp.join(ROOT, 'configs', REID), path, '--cfg-options',
                'test_dataloader.dataset.data_root='
                f'{synthetic_root}/Market-1501/']
    code, err = run_tool(tool, args + ['--work-dir', tmp_path / 'w'], capsys)
    assert code == 1, err[-20:]
    what = ("a Import statement ('import os') is not a plain value"
            if kind == 'import' else
            'is a substitution mmengine makes before parsing')
    assert err[-1].startswith(
        f"error: checkpoint crafted.pth meta['{key}'] line 1: ")
    assert what in err[-1] and err[-1].endswith(
        'stored config text is read without running it')
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


def test_config_text_in_the_message_hub_is_checked(tmp_path):
    """mmengine's inferencers build a model from the message hub's cfg."""
    from projects.saip_dpal.utils import check_config_texts
    marker = tmp_path / 'ran'
    ckpt = dict(meta=dict(epoch=1), message_hub=dict(
        runtime_info=dict(cfg=_payloads(marker)['lambda'])))
    with pytest.raises(InputDataError, match=r"^checkpoint x.pth "
                       r"message_hub\['runtime_info'\]\['cfg'\] line 1: "):
        check_config_texts(ckpt, 'x.pth')
    assert not marker.exists()
    ckpt['message_hub']['runtime_info']['cfg'] = "model = dict(type='X')"
    check_config_texts(ckpt, 'x.pth')  # plain values pass


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


# ------------------------------------------------- recorded architectures
def _backbone_file(path, backbone):
    """A backbone file (extract_backbone.py layout) recording ``backbone``,
    with the weights of a small ViT."""
    from mmpretrain.models import VisionTransformer
    state = VisionTransformer(arch='deit-tiny', img_size=(64, 32)).state_dict()
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in state.items()},
                    meta=dict(backbone=backbone)), path)
    return str(path)


def _callables(marker):
    """Recorded architectures whose build would create ``marker`` through
    the registry's import of a dotted path."""
    vit = dict(type='VisionTransformer', arch='deit-tiny', img_size=(64, 32))
    return {
        'type': dict(type='os.mkdir', path=str(marker)),
        'nested type': dict(vit, norm_cfg=dict(type='os.mkdir',
                                               path=str(marker))),
    }


def test_a_recorded_callable_is_live(tmp_path):
    """Control: the registry builds a dotted path it does not know."""
    from mmpretrain.registry import MODELS
    marker = tmp_path / 'ran'
    MODELS.build(_callables(marker)['type'])  # os.mkdir(path=marker)
    assert marker.exists()


@pytest.mark.parametrize('kind', ['type', 'nested type'])
def test_recorded_architecture_builds_only_allow_listed_backbones(
        tmp_path, kind, capsys):
    from mmpretrain.models import VisionTransformer
    marker = tmp_path / 'ran'
    path = _backbone_file(tmp_path / 'b.pth', _callables(marker)[kind])
    want = ("records a 'os.mkdir' backbone; only VisionTransformer, "
            'SwinTransformer are built from a file' if kind == 'type' else
            "norm_cfg.type='os.mkdir' is not one of LN, GELU, BN, SyncBN")
    # a downstream config's init_cfg
    model = VisionTransformer(arch='deit-tiny', img_size=(64, 32),
                              init_cfg=dict(type='StrictPretrained',
                                            checkpoint=path))
    with pytest.raises(InputDataError, match=want):
        model.init_weights()
    # the feature tool
    code, err = run_tool('tools/analysis_tools/extract_features.py',
                         [path, tmp_path, '--out', tmp_path / 'f.npz'],
                         capsys)
    assert code == 1 and len(err) == 1 and want in err[0], err
    assert not marker.exists()


def test_extraction_refuses_a_training_config_naming_a_callable(
        trained, tmp_path, capsys):
    """meta['cfg'] of plain values whose backbone type is a dotted path:
    extract_backbone.py records no such architecture."""
    marker = tmp_path / 'ran'
    text = f"model = dict(backbone=dict(type='os.mkdir', path={str(marker)!r}))"
    path = _crafted(trained, tmp_path, 'cfg', text)
    code, err = run_tool('tools/model_converters/extract_backbone.py',
                         [path, tmp_path / 'o.pth'], capsys)
    assert code == 1 and len(err) == 1, err
    assert "records a 'os.mkdir' backbone" in err[0]
    assert not marker.exists() and not (tmp_path / 'o.pth').exists()


# --------------------------------------------------------- URL checkpoints
def test_url_checkpoints_are_read_weights_only(trained, http_folder,
                                               synthetic_root, tmp_path,
                                               capsys, monkeypatch):
    """load_from, resume (a last_checkpoint naming a URL), tools/test.py and
    StrictPretrained download a URL and read it weights-only."""
    from mmpretrain.models import VisionTransformer
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    folder, url = http_folder
    marker = tmp_path / 'ran'
    torch.save(dict(trained[1], x=CodeRunningPickle(str(marker))),
               folder / 'evil.pth')
    evil = f'{url}/evil.pth'
    refusal = (f'checkpoint {evil} cannot be read weights-only: it pickles '
               'io.open, which is not allowed; nothing in it was run')
    config = trained[0] / 'config.py'
    code, err = run_tool('tools/train.py', [
        config, '--work-dir', tmp_path / 'w1', '--cfg-options',
        f'load_from={evil}'], capsys)
    assert code == 1 and err[-1] == f'error: {refusal}', err[-5:]
    code, err = run_tool('tools/test.py', [
        osp.join(ROOT, 'configs', REID), evil, '--work-dir', tmp_path / 'w2',
        '--cfg-options', 'test_dataloader.dataset.data_root='
        f'{synthetic_root}/Market-1501/'], capsys)
    assert code == 1 and err[-1] == f'error: {refusal}', err[-5:]
    work = tmp_path / 'w3'
    work.mkdir()
    (work / 'last_checkpoint').write_text(evil)
    cfg = Config.fromfile(str(config))
    cfg.work_dir, cfg.resume, cfg.load_from = str(work), True, None
    with pytest.raises(InputDataError, match='^' + refusal):
        RUNNERS.build(cfg).train()
    model = VisionTransformer(arch='deit-tiny', init_cfg=dict(
        type='StrictPretrained', checkpoint=evil))
    with pytest.raises(InputDataError, match='cannot be read weights-only'):
        model.init_weights()
    assert not marker.exists()
    # control: a weights-only file at a URL loads
    state = VisionTransformer(arch='deit-tiny').state_dict()
    torch.save(dict(state_dict=state), folder / 'good.pth')
    model = VisionTransformer(arch='deit-tiny', init_cfg=dict(
        type='StrictPretrained', checkpoint=f'{url}/good.pth'))
    model.init_weights()
    assert all(torch.equal(model.state_dict()[k], v)
               for k, v in state.items())


def test_other_url_schemes_are_refused_in_one_line(tmp_path):
    from projects.saip_dpal.utils import read_checkpoint
    with pytest.raises(InputDataError, match=r'^checkpoint s3://b/x.pth: '
                       r'only files and http://, https://'):
        read_checkpoint('s3://b/x.pth')


# ------------------------------------------- resumed runs and their files
def test_resumed_run_carries_its_own_config_to_a_stock_inferencer(
        trained, tmp_path, capsys):
    """The file a run resumed from may carry other (plain) config text: the
    resumed run's checkpoints, and what publish_model.py writes from them,
    hold the run's own config, read weights-only with no allow-list."""
    ckpt = dict(trained[1])
    foreign = "crafted = 'from the file'\n"
    ckpt['meta'] = dict(ckpt['meta'], cfg=foreign)
    hub = dict(ckpt['message_hub'])
    hub['runtime_info'] = dict(hub['runtime_info'], cfg=foreign)
    ckpt['message_hub'] = hub
    path = tmp_path / 'foreign.pth'
    torch.save(ckpt, path)
    work = tmp_path / 'w'
    code, err = run_tool('tools/train.py', [
        trained[0] / 'config.py', '--resume', path, '--work-dir', work,
        '--cfg-options', 'train_cfg.max_iters=2'], capsys)
    assert code == 0, err[-20:]
    written = torch.load(work / 'iter_2.pth', weights_only=True)
    for text in (written['meta']['cfg'],
                 written['message_hub']['runtime_info']['cfg']):
        assert 'crafted' not in text and 'max_iters=2' in text
    code, err = run_tool('tools/model_converters/publish_model.py',
                         [work / 'iter_2.pth', tmp_path / 'pub.pth'], capsys)
    assert code == 0, err
    published, = tmp_path.glob('pub-*.pth')
    meta = torch.load(published, weights_only=True)['meta']
    assert 'config' not in meta
    # what mmengine's inferencers do with it: the run's own config
    run_cfg = Config.fromstring(meta['cfg'], '.py')
    assert run_cfg.train_cfg.max_iters == 2 and 'crafted' not in run_cfg


def test_pickled_history_buffer_changes_no_class_state(tmp_path):
    """A buffer whose pickled state names statistics methods: read as plain
    data, mmengine's class-wide table untouched (allow-listing the class
    itself would let the file rewrite it for every message hub)."""
    from mmengine.logging import HistoryBuffer

    from projects.saip_dpal.engine.guarded_runner import \
        prepare_loaded_checkpoint
    from projects.saip_dpal.utils import read_checkpoint
    buffer = HistoryBuffer([1.0, 3.0], [1, 1])
    buffer.__getstate__ = lambda: dict(
        _log_history=np.array([1.0, 3.0]), _count_history=np.array([1, 1]),
        max_length=10, statistics_methods={'mean': 'overwritten'})
    path = tmp_path / 'hub.pth'
    torch.save(dict(message_hub=dict(log_scalars=dict(loss=buffer),
                                     runtime_info={}, resumed_keys={})), path)
    table = dict(HistoryBuffer._statistics_methods)
    ckpt = prepare_loaded_checkpoint(read_checkpoint(path), path)
    assert HistoryBuffer._statistics_methods == table
    loss = ckpt['message_hub']['log_scalars']['loss']
    assert type(loss) is HistoryBuffer and loss.mean() == 2.0
    assert loss.max_length == 10


class _Call:
    """Pickles as ``func(*args)``; ``func`` may itself be a ``_Call``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)

    def __call__(self, *args):  # pickle accepts only callables as func
        raise TypeError('only pickled, never called')


def test_a_stock_history_buffer_reads_and_getattr_reaches_nothing(tmp_path):
    """A stock mmengine buffer pickles ``getattr(buffer, 'mean')`` (the
    checkpoints of mmpose's own train tool hold these): it reads. A file
    chaining ``getattr`` to reach ``os`` from the same class, live under a
    full unpickle, gets only strings and is refused in one line."""
    from mmengine.logging import HistoryBuffer

    from projects.saip_dpal.engine.guarded_runner import \
        prepare_loaded_checkpoint
    from projects.saip_dpal.utils import read_checkpoint
    stock = tmp_path / 'stock.pth'
    hub = dict(log_scalars=dict(loss=HistoryBuffer([1.0, 3.0], [1, 1])),
               runtime_info={}, resumed_keys={})
    torch.save(dict(message_hub=hub), stock)
    ckpt = prepare_loaded_checkpoint(read_checkpoint(stock), stock)
    assert ckpt['message_hub']['log_scalars']['loss'].mean() == 2.0

    marker = tmp_path / 'ran'
    scope = _Call(getattr, _Call(getattr, HistoryBuffer, '__init__'),
                  '__globals__')
    builtins = _Call(_Call(getattr, scope, 'get'), '__builtins__')
    import_ = _Call(_Call(getattr, builtins, 'get'), '__import__')
    mkdir = _Call(getattr, _Call(import_, 'os'), 'mkdir')
    crafted = tmp_path / 'crafted.pth'
    torch.save(dict(state_dict={}, meta=_Call(mkdir, str(marker))), crafted)
    torch.load(crafted, weights_only=False)
    assert marker.is_dir()  # live
    marker.rmdir()
    with pytest.raises(InputDataError) as err:
        read_checkpoint(crafted)
    assert '\n' not in str(err.value) and str(crafted) in str(err.value)
    assert not marker.exists()


def test_a_damaged_checkpoint_is_one_line_without_unsafe_advice(tmp_path):
    """Truncated or garbage files: one line naming the file, no warning,
    and never torch's advice to re-run with ``weights_only=False``."""
    import warnings

    from projects.saip_dpal.utils import read_checkpoint
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1000))), good)
    data = good.read_bytes()
    for name, content in (('truncated.pth', data[:len(data) // 2]),
                          ('garbage.pth', b'\x80\x04garbage')):
        path = tmp_path / name
        path.write_bytes(content)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter('always')
            with pytest.raises(InputDataError) as err:
                read_checkpoint(path)
        text = str(err.value)
        assert text.startswith(f'checkpoint {path} cannot be read '
                               'weights-only: '), text
        assert 'not a torch checkpoint' in text, text
        assert '\n' not in text and 'weights_only' not in text, text
        assert not [w for w in seen if 'pickle' in str(w.message)]


# ---------------------------------------------------------- the generator
def test_generator_deletes_only_what_it_wrote(tmp_path, capsys):
    real = tmp_path / 'data' / 'coco'
    real.mkdir(parents=True)
    (real / 'annotations.json').write_text('{}')
    code, err = run_tool('tools/dataset_converters/'
                         'generate_synthetic_humans.py',
                         [tmp_path / 'data', '--scale', '0.05'], capsys)
    assert code != 0 and len(err) == 1, err
    assert err[0].endswith(
        f'{real} exists and was not written by the synthetic generator (no '
        '.saip-dpal-synthetic in it); nothing was deleted: choose another '
        'output folder')
    assert (real / 'annotations.json').read_text() == '{}'
    assert not (tmp_path / 'data' / 'LUPerson').exists()
