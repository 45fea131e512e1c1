"""Config.pretty_text is memoised: the same text, yapf run once per
distinct config, and a changed config gives its new text."""
import os.path as osp

from conftest import CONFIG_DIR, formatted
from mmengine.config import Config


def test_pretty_text_is_formatted_once_and_follows_changes(monkeypatch):
    import projects.saip_dpal  # noqa: F401  (installs the cache)
    from mmengine.config import config as config_module
    cfg = formatted(
        Config.fromfile(osp.join(CONFIG_DIR, 'saip_vit-tiny.py')))
    calls = []
    format_code = config_module.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return format_code(*args, **kwargs)

    monkeypatch.setattr(config_module, 'FormatCode', counted)
    cfg.train_cfg.max_epochs = 7  # a config no earlier test formatted
    first = cfg.pretty_text
    assert first == cfg.pretty_text == cfg.copy().pretty_text
    assert len(calls) == 1
    assert 'max_epochs=7' in first
    # identical to what mmengine itself writes
    wrapped = type(cfg).pretty_text.fget.__wrapped__
    assert wrapped(cfg) == first
    cfg.train_cfg.max_epochs = 9
    assert 'max_epochs=9' in cfg.pretty_text and len(calls) == 3
    Config.fromstring(cfg.pretty_text, '.py')  # still valid Python
