"""resolved_configs.py: a dump resolves each config's inheritance, and a
compare finds exactly the settings that changed, after the renames."""
import json
import os
import os.path as osp

from conftest import ROOT, load_cli

TOOL = osp.join(ROOT, 'tools/analysis_tools/resolved_configs.py')


def _checkout(root, lr):
    os.makedirs(osp.join(root, 'configs', '_base_'))
    with open(osp.join(root, 'configs', '_base_', 'model.py'), 'w') as f:
        f.write("model = dict(type='OldName', depth=12)\n"
                "data_root = '{{ fileDirname }}/../data/'\n")
    with open(osp.join(root, 'configs', 'old_name_vit.py'), 'w') as f:
        f.write(f"_base_ = ['./_base_/model.py']\nlr = {lr}\n")


def test_dump_and_compare(tmp_path, capsys):
    tool = load_cli(TOOL)
    for name, lr in (('before', 0.1), ('after', 0.2)):
        _checkout(str(tmp_path / name), lr)
        assert tool.main(['dump', str(tmp_path / f'{name}.json'), '--root',
                          str(tmp_path / name)]) == 0
    with open(tmp_path / 'before.json') as f:
        before = json.load(f)
    assert before == {'configs/old_name_vit.py': dict(
        model=dict(type='OldName', depth=12), lr=0.1,
        data_root='<root>/configs/data/')}  # paths normalised
    capsys.readouterr()
    files = [str(tmp_path / 'before.json'), str(tmp_path / 'after.json')]
    assert tool.main(['compare', *files]) == 1
    out = capsys.readouterr().out
    assert "configs/old_name_vit.py: lr: 0.1 -> 0.2" in out
    assert '1 settings differ in 1 configs, 0 added' in out
    assert tool.main(['compare', files[0], files[0]]) == 0
    # a rename on purpose: only the renamed type remains to explain
    os.rename(tmp_path / 'after/configs/old_name_vit.py',
              tmp_path / 'after/configs/new_name_vit.py')
    tool.main(['dump', files[1], '--root', str(tmp_path / 'after')])
    capsys.readouterr()
    assert tool.main(['compare', *files, '--rename',
                      'old_name=new_name']) == 1
    out = capsys.readouterr().out
    assert 'gone' not in out and 'lr: 0.1 -> 0.2' in out


def test_every_shipped_config_is_listed():
    tool = load_cli(TOOL)
    listed = tool.shipped_configs(ROOT)
    assert 'configs/dpal_pathb_vit-tiny.py' in listed
    assert not any('_base_' in c for c in listed)
    assert len(listed) == sum(
        f.endswith('.py') for d, _, fs in os.walk(osp.join(ROOT, 'configs'))
        if '_base_' not in d for f in fs)


def test_moved_and_added_settings(tmp_path, capsys):
    """A setting moved on purpose compares equal with --move; a new one is
    listed as added and does not fail the comparison."""
    tool = load_cli(TOOL)
    before = {'c.py': dict(model=dict(neck=dict(depth=8), lr=1))}
    after = {'c.py': dict(model=dict(head=dict(decoder=dict(depth=8)),
                                     lr=1), crop=dict(scale=4))}
    files = []
    for name, settings in (('before', before), ('after', after)):
        files.append(str(tmp_path / f'{name}.json'))
        with open(files[-1], 'w') as f:
            json.dump(settings, f)
    assert tool.main(['compare', *files]) == 1
    capsys.readouterr()
    # scoped to the configs a glob matches
    assert tool.main(['compare', *files, '--move',
                      'other*:model.neck=model.head.decoder']) == 1
    capsys.readouterr()
    assert tool.main(['compare', *files, '--move',
                      'c.*:model.neck=model.head.decoder']) == 0
    out = capsys.readouterr().out
    assert "c.py: crop: added {'scale': 4}" in out
    assert '0 settings differ in 1 configs, 1 added' in out
