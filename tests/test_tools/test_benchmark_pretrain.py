"""benchmark_pretrain.py --compare-with: two checkouts (here the same one
twice) take steps in turn and the medians' ratio is printed; --profile
prints the operators by self time."""
import importlib.util
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

TOOL = osp.join(ROOT, 'tools/analysis_tools/benchmark_pretrain.py')
SAIP_DEMO_REL = 'configs/saip/saip_vit-tiny-p16_1xb8-2e_synthetic-lup.py'
SAIP_DEMO = osp.join(ROOT, SAIP_DEMO_REL)


@pytest.mark.parametrize('other', ['checkout', 'config'])
@pytest.mark.slow
def test_compare_with_alternates_two_processes(tmp_path, other):
    """Against a checkout (here this one again) or another config of this
    checkout (a child that masks less)."""
    if other == 'checkout':
        target, names = ROOT, [SAIP_DEMO_REL] * 2
    else:
        target = str(tmp_path / 'half_masked.py')
        with open(target, 'w') as f:
            f.write(f'_base_ = [{SAIP_DEMO!r}]\n'
                    'model = dict(mask_ratio=0.5)\n')
        names = [SAIP_DEMO_REL, osp.relpath(target, ROOT)]
    out = subprocess.run(
        [sys.executable, TOOL, SAIP_DEMO, '--batch-size', '2', '--device',
         'cpu', '--iters', '2', '--warmup', '0', '--compare-with', target],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    sides = [x for x in lines if re.match(r'^ *(this|other): ', x)]
    assert len(sides) == 2, out.stdout
    medians = []
    for line, name in zip(sides, names):
        medians.append(float(line.split(':')[1].split()[0]))
        assert 'process peak RSS' in line
        assert line.endswith(f'{name} in ' +
                             osp.join(ROOT, 'projects', 'saip_dpal'))
    ratio = float(lines[-1].split('ratio this / other: ')[1].split()[0])
    # (both printed rounded: medians to 0.1 ms, the ratio to 0.001)
    assert abs(ratio - medians[0] / medians[1]) < 5e-3
    assert all(m > 0 for m in medians)


def test_profile_lists_the_operators_by_self_time(capsys):
    spec = importlib.util.spec_from_file_location('benchmark', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    a = torch.randn(64, 64)
    tool.print_profile(lambda: a @ a, cuda=False, top=3)
    printed = capsys.readouterr().out
    assert printed.startswith('profile of 2 steps, by self_cpu_time_total')
    assert 'aten::mm' in printed


def test_an_old_flat_config_path_is_followed(capsys):
    """As tools/train.py: configs/NAME.py of a moved pretraining config is
    read from configs/METHOD/NAME.py, with a note."""
    from conftest import load_cli
    tool = load_cli(TOOL)
    old = osp.join(ROOT, 'configs', osp.basename(SAIP_DEMO))
    args = tool.parse_args([old])
    assert args.config == SAIP_DEMO and args.config_given == old
    assert capsys.readouterr().out.strip() == f'{old} is now {SAIP_DEMO}'
