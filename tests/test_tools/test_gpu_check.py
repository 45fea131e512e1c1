"""The GPU check (tools/device/gpu_check.sh) in its CPU dry run: every part
runs at tiny sizes through the same wrapper and code as on a GPU machine,
so the kit cannot rot between the rare GPU loans."""
import json
import math
import os
import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'tools', 'device'))
from gpu_check import all_ok, format_summary  # noqa: E402


@pytest.mark.slow
def test_dry_run_on_the_cpu_runs_every_part(tmp_path):
    out = tmp_path / 'out'
    run = subprocess.run(
        ['bash', 'tools/device/gpu_check.sh', str(out), '--device', 'cpu'],
        cwd=ROOT, env=dict(os.environ, PYTHON=sys.executable),
        capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-3000:]
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['device'].startswith('CPU')

    steps = summary['steps']
    assert set(steps) == {'dpal_eager', 'dpal_compiled', 'saip_eager',
                          'saip_compiled'}
    for key, s in steps.items():
        assert s['batch'] == 2 and s['ms_per_step'] > 0, key
        assert s['images_per_s'] == pytest.approx(
            2000 / s['ms_per_step'], abs=0.01)
    # counted FLOPs: at least the PATH-B teacher's forward (ViT-B, 86M
    # weights, 129 tokens of 256x128: 2 x 86e6 x 129 per image)
    assert 2 * 2 * 86e6 * 129 / 1e12 < steps['dpal_eager'][
        'tflop_per_step'] < 1.0
    assert steps['saip_eager']['tflop_per_step'] > 0
    assert all('in_loss' not in s for s in summary['syncs'].values())

    for method, s in summary['launch'].items():
        assert s['ok'] and s['resume_ok'], (method, s)
        assert s['iters'] == 4 and s['checkpoint'], method
        assert s['bit_identical'] and s['max_abs_diff'] == 0, method
        assert math.isfinite(s['first_loss']), method
        assert 0 <= s['data_wait_fraction'] <= 1 and s['workers'] == 1
    # one batch from the extracted backbone, then the task's validation
    assert set(summary['finetune']) == {'pose', 'parsing'}
    for task, s in summary['finetune'].items():
        assert s['ok'] and s['iters'] == 1, (task, s)
        assert 0 <= s['value'] <= 100, (task, s)

    text = (out / 'summary.txt').read_text()
    assert text.splitlines()[-1] == 'all passed'
    assert 'dist_train saip: 4 iterations' in text
    assert 'resume bit-identical' in text
    assert 'finetune pose: 1 iteration(s), then pose AP' in text


def test_a_failed_part_fails_the_summary():
    data = dict(device='NVIDIA H100 80GB HBM3', torch='2.11.0',
                date='2026-12-08 00:00 UTC',
                steps=dict(dpal_eager=dict(
                    batch=256, ms_per_step=100.0, images_per_s=2560.0,
                    first_step_s=3.0, peak_gib=20.5, tflop_per_step=40.6,
                    mfu=0.41)),
                syncs=dict(dpal=dict(in_loss=0, in_step=3)),
                launch=dict(saip=dict(ok=False, rc=1, error='boom')))
    assert not all_ok(data)
    text = format_summary(data)
    assert ('step dpal_eager: batch 256, 100.0 ms, 2560.0 images/s, peak '
            '20.5 GiB, 40.6 TFLOP counted, MFU 41.0%') in text
    assert 'syncs dpal: 0 inside the loss, 3 in a whole step' in text
    assert 'dist_train saip: FAILED rc=1' in text
    assert text.splitlines()[-1] == 'SOME CHECKS FAILED'
    data['launch']['saip'] = dict(
        ok=True, resume_ok=True, iters=100, seconds=31.0, first_loss=10.9,
        last_loss=9.5, data_wait_fraction=0.042, workers=16,
        bit_identical=False, max_abs_diff=2e-7)
    assert all_ok(data)
    # a run stopped at its time limit: the parts not reached are named
    data['parts'] = ['steps', 'syncs', 'launch', 'finetune']
    lines = format_summary(data).splitlines()
    assert ('  dist_train saip: 100 iterations in 31.0 s, loss 10.900 -> '
            '9.500, data wait 4.2% with 16 workers, resume differs by 2e-07'
            ) in lines
    assert lines[-2:] == ['  not run: finetune', 'INCOMPLETE']
