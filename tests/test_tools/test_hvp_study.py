"""The study's bookkeeping: the chain's order (teacher once, DPAL from it),
a resumed study does no finished stage again, the table's mean +/- std
and the verdicts follow the numbers, and the plot is written. The stages
themselves are the recipes' own tests (test_cpu_recipes.py) and the
probes' (test_frozen_probes.py)."""
import json

import cv2
import numpy as np
import pytest

from projects.saip_dpal.benchmarks import hvp_study

#: row -> pose PCK per seed (SAIP clearly ahead, DPAL within the spread)
PCK = {'no features': [10.], 'random': [20., 22.], 'SAIP': [30., 31.],
       'DPAL': [21., 23.]}


@pytest.fixture
def fake_stages(monkeypatch, tmp_path):
    calls = []

    def pretrain(stage, data_root, work_dir, seed, log, max_epochs=None,
                 teacher=None):
        calls.append((stage, seed, teacher))
        path = tmp_path / f'{stage}_{seed}.pth'
        path.write_bytes(b'weights')
        return dict(backbone=str(path), seconds=1.,
                    losses=dict(loss=list(np.linspace(5, 1, 50))))

    def probe_model(path, seed=0):
        if path == 'prior':
            return 'no features', seed
        if path is None:
            return 'random', seed
        return ('SAIP' if 'SAIP' in path else 'DPAL'), seed

    def run_probes(model, data, seed):
        row, seed = model
        return dict(pose=dict(PCK=PCK[row][seed]))

    monkeypatch.setattr(hvp_study, '_pretrain_backbone', pretrain)
    monkeypatch.setattr(hvp_study, 'probe_model', probe_model)
    monkeypatch.setattr(hvp_study, 'run_probes', run_probes)
    monkeypatch.setattr(hvp_study, 'load_probe_data',
                        lambda root, tasks: {})
    return calls


def test_chain_order_resume_table_verdicts_and_plot(fake_stages, tmp_path):
    work = tmp_path / 'study'
    lines = []
    state = hvp_study.run_study('data', str(work), seeds=(0, 1),
                                tasks=['pose'], log=lines.append)
    teacher = str(tmp_path / 'teacher_0.pth')
    assert fake_stages == [('teacher', 0, None), ('SAIP', 0, None),
                           ('DPAL', 0, teacher), ('SAIP', 1, None),
                           ('DPAL', 1, teacher)]
    saved = json.loads((work / 'study.json').read_text())
    assert saved['probes']['SAIP'] == {'0': {'pose': {'PCK': 30.}},
                                       '1': {'pose': {'PCK': 31.}}}

    # killed after SAIP seed 1's probe: only DPAL seed 1 is left to do
    del saved['probes']['DPAL']['1']
    del saved['runs']['DPAL/1']
    (work / 'study.json').write_text(json.dumps(saved))
    fake_stages.clear()
    state = hvp_study.run_study('data', str(work), seeds=(0, 1),
                                tasks=['pose'], log=lines.append)
    assert fake_stages == [('DPAL', 1, teacher)]
    assert any('resuming' in line for line in lines)

    table = hvp_study.format_study_table(state).splitlines()
    assert table[0] == '| backbone | seeds | pose PCK |'
    assert table[2] == '| no features | 1 | 10.00 |'
    spread = np.std([20, 22], ddof=1)
    assert table[3] == f'| random | 2 | 21.00 ± {spread:.2f} |'
    assert table[4].startswith('| SAIP | 2 | 30.50 ± 0.71 |')
    verdicts = hvp_study.verdicts(state)
    assert verdicts[0] == ('SAIP pose PCK: +9.50 vs random (spread 1.41): '
                           'ahead of random')
    assert verdicts[1].endswith('within the spread of random')

    png = hvp_study.plot_study(state, str(work / 'study.png'))
    image = cv2.imread(png)
    assert image is not None and image.shape[0] > 400
    assert image.std() > 10  # bars and curves, not a blank canvas


def test_one_seed_has_no_spread_to_compare_with(fake_stages, tmp_path):
    state = hvp_study.run_study('data', str(tmp_path / 's'), seeds=(0, ),
                                tasks=['pose'], log=lambda line: None)
    assert hvp_study.verdicts(state)[0] == (
        'SAIP pose PCK: +10.00 vs random (one seed: no spread to compare '
        'with)')
