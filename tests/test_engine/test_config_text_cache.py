"""GuardedRunner's config (CachedTextConfig) formats its text once: the same
text as mmengine's, yapf run once per distinct config, a changed config
gives its new text, and stock Config is untouched."""
import os.path as osp

from conftest import CONFIG_DIR, formatted
from mmengine.config import Config


def test_pretty_text_is_formatted_once_and_follows_changes(monkeypatch):
    from mmengine.config import config as config_module

    from projects.saip_dpal.engine import CachedTextConfig
    stock = formatted(
        Config.fromfile(osp.join(CONFIG_DIR, 'saip_vit-tiny.py')))
    stock.train_cfg.max_epochs = 7  # a config no earlier test formatted
    cfg = CachedTextConfig.of(stock)
    calls = []
    format_code = config_module.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return format_code(*args, **kwargs)

    monkeypatch.setattr(config_module, 'FormatCode', counted)
    first = cfg.pretty_text
    assert first == cfg.pretty_text == cfg.copy().pretty_text
    assert len(calls) == 1
    assert 'max_epochs=7' in first
    assert stock.pretty_text == first and len(calls) == 2  # stock: yapf again
    cfg.train_cfg.max_epochs = 9
    assert 'max_epochs=9' in cfg.pretty_text and len(calls) == 3
    Config.fromstring(cfg.pretty_text, '.py')  # still valid Python
    assert type(Config.pretty_text) is property and \
        Config.pretty_text.fget.__module__ == 'mmengine.config.config'
