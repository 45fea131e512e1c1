"""Importing the plugin changes nothing outside it: stock OpenMMLab
behaviour is the same with and without ``import projects.saip_dpal``, each
in a fresh process, and the import replaces no function, method, class,
registry entry, warning filter or weights-only allow-list entry."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

SCRIPT = osp.join(ROOT, 'tests', 'plugin_behaviour.py')


@pytest.fixture(scope='module')
def served_vit():
    """The weights case_url_pretrained expects (its seed), as a file."""
    sys.path.insert(0, osp.join(ROOT, 'tests'))
    from plugin_behaviour import _vit
    torch.manual_seed(1)
    return _vit().state_dict()


def _run(mode, http_folder, tmp_path):
    folder, url = http_folder
    work = tmp_path / mode
    work.mkdir()
    env = dict(os.environ, TORCH_HOME=str(work / 'torch'),
               PYTHONPATH=ROOT)
    out = subprocess.run(
        [sys.executable, SCRIPT, mode, str(work), f'{url}/vit.pth'],
        capture_output=True, text=True, env=env, cwd=str(work))
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_stock_behaviour_is_the_same_with_and_without_the_plugin(
        http_folder, served_vit, tmp_path):
    torch.save(served_vit, http_folder[0] / 'vit.pth')
    without = _run('without', http_folder, tmp_path)
    with_plugin = _run('with', http_folder, tmp_path)
    # what stock mmengine does, as the table has it
    assert without == dict(
        changed=[],
        url_pretrained='loaded',  # a stock URL config downloads and loads
        partial_file='loaded the rest',  # strict=False: loads, warns
        strict_backbone_only='RuntimeError',  # strict=True stays strict
        warnings_as_errors={m: 'raised' for m in (
            'mmcv.image.photometric', 'mmseg.engine.hooks.visualization_hook',
            'mmseg.models.builder', 'mmengine.utils.package_utils')})
    assert with_plugin == without
