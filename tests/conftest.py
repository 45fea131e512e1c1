"""Put the repository root on sys.path so ``projects.saip_dpal`` imports."""
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


import pytest  # noqa: E402


@pytest.fixture(scope='session', autouse=True)
def unformatted_config_text():
    """Configs made in the tests keep mmengine's plain text (valid Python,
    one key a line) instead of yapf's, which takes 1-3 s per Runner; the
    tests of the formatted text turn it back on for their config
    (``object.__setattr__(cfg, '_format_python_code', True)``)."""
    from mmengine.config import Config
    init = Config.__init__

    def plain(self, *args, format_python_code=False, **kwargs):
        init(self, *args, format_python_code=False, **kwargs)

    Config.__init__ = plain
    yield
    Config.__init__ = init


@pytest.fixture(autouse=True)
def no_process_left_running():
    """A test that leaves a child process running fails: multiprocessing
    joins its children at exit, so a DataLoader worker that outlives its
    iterator hangs the interpreter's exit (the whole suite, in CI)."""
    import gc
    import multiprocessing
    before = {p.pid for p in multiprocessing.active_children()}
    yield
    left = [p for p in multiprocessing.active_children()
            if p.pid not in before]
    if not left:
        return
    gc.collect()  # an iterator in a reference cycle stops its workers
    for process in left:
        process.join(timeout=20)
    alive = [p for p in left if p.is_alive()]
    for process in alive:
        process.kill()
        process.join()
    assert not alive, f'left running: {alive}'


def formatted(cfg):
    """``cfg`` with its text formatted by yapf again (as outside tests)."""
    object.__setattr__(cfg, '_format_python_code', True)
    return cfg


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic human-centric dataset tree, generated once."""
    from projects.saip_dpal.datasets.synthetic import \
        generate_synthetic_humans
    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_humans(str(root), seed=0, scale=0.25)
    return root


CONFIG_DIR = osp.join(ROOT, 'configs')


class CodeRunningPickle:
    """Unpickling this creates the file ``flag``: what a crafted checkpoint,
    key list or LMDB value would do to an unsafe (full pickle) load."""

    def __init__(self, flag):
        self.flag = str(flag)

    def __reduce__(self):
        return (open, (self.flag, 'w'))


def tiny_train_cfg(config, data_root, work_dir, max_iters=2, batch_size=2):
    """Load a shipped config and shrink it to a few CPU iterations.

    Iteration-based loop, no workers, checkpoints every iteration, quiet logs.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0,
             end=100)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False, max_keep_ckpts=-1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


def load_cli(path):
    """A tool script (``tools/...py``) loaded as a module, to call its
    ``main(argv)`` in this process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(tool, argv, capsys):
    """``main(argv)`` of ``tool`` (relative to the repository) in this
    process: (exit code, stderr lines)."""
    capsys.readouterr()
    code = 0
    try:
        load_cli(osp.join(ROOT, tool)).main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def http_folder(tmp_path):
    """``(folder, base URL)``: files put in ``folder`` are served at
    ``http://127.0.0.1:PORT/NAME`` for the test (a loopback server)."""
    import functools
    import http.server
    import threading
    folder = tmp_path / 'served'
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def meta_autocast(monkeypatch):
    """``torch.autocast`` is a no-op on the meta device in this test, so a
    model's autocast blocks run there (the host-sync checks)."""
    import contextlib

    import torch
    autocast = torch.autocast
    monkeypatch.setattr(
        torch, 'autocast', lambda device_type, *a, **k: contextlib.
        nullcontext() if device_type == 'meta' else autocast(
            device_type, *a, **k))
