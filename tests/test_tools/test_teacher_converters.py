"""tools/model_converters/{path,solider}2mmpretrain.py: help from anywhere,
real-arch files that load strictly, one-line refusals."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, CodeRunningPickle, load_cli
from mmpretrain.registry import MODELS

import projects.saip_dpal  # noqa: F401
from projects.saip_dpal.models.utils.checkpoint_loading import \
    load_teacher_weights

sys.path.insert(0, osp.join(ROOT, 'tests', 'test_models'))
from test_teachers import (path_state_dict, solider_state_dict,  # noqa: E402
                           teacher_cfg)

PATH_CLI = osp.join(ROOT, 'tools', 'model_converters', 'path2mmpretrain.py')
SOLIDER_CLI = osp.join(ROOT, 'tools', 'model_converters',
                       'solider2mmpretrain.py')


def run(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def path_b():
    """PATH-B shapes (fp16 to keep the files small)."""
    return path_state_dict(768, 12, 3072, rel_pos=True, dtype=torch.float16)


def test_path_b_training_checkpoint_converts_and_loads(path_b, tmp_path):
    bare = path_b  # in the training-checkpoint layout
    src = tmp_path / 'path_b_train.pth'
    torch.save({'state_dict': {
        **{f'module.backbone_module.{k}': v for k, v in bare.items()},
        'module.neck_module.w': torch.zeros(2)}}, src)
    dst = tmp_path / 'out' / 'pathb_mmpretrain.pth'
    out = run([PATH_CLI, str(src), str(dst)], cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "-> mmpretrain VisionTransformer arch 'b'" in lines[0]
    # the teacher keeps PATH's 14x14 grid: nothing is resized on load
    for expect in ('dropped 25', 'added 2', 'resized on load 0',
                   'missing 0', 'unexpected 0', 'mismatched 0'):
        assert expect in lines, (expect, lines)
    assert lines[-1] == f'wrote {dst}'

    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['arch'] == 'b' and ckpt['meta']['source'] == 'PATH'
    model = MODELS.build(teacher_cfg('teacher_pathb.py'))
    report = load_teacher_weights(model, str(dst))
    assert report['missing'] == report['unexpected'] == []
    assert report['source'] == 'pathb_mmpretrain.pth'
    assert torch.equal(model.layers[11].ffn.layers[1].weight,
                       bare['blocks.11.mlp.fc2.weight'].float())
    assert torch.equal(model.pos_embed[:, :1],
                       bare['cls_token_pos_embed'].float())
    assert torch.equal(model.pos_embed[:, 1:], bare['pos_embed'].float())


def refuse(cli, args, capsys):
    """Run a converter in-process; it must exit 1 with one error line."""
    with pytest.raises(SystemExit) as exc:
        load_cli(cli).main([str(a) for a in args])
    assert exc.value.code == 1
    out, err = capsys.readouterr()
    assert 'Traceback' not in err and len(err.strip().splitlines()) == 1
    return out.splitlines(), err.strip()


def test_path_cli_refuses_bad_inputs_in_one_line(path_b, tmp_path, capsys):
    dst = tmp_path / 'x.pth'
    wide = tmp_path / 'wide.pth'
    torch.save(path_state_dict(width=96, hidden=384), wide)
    _, err = refuse(PATH_CLI, [wide, dst], capsys)
    assert err == ('error: PATH ViT width 96 is neither PATH-B (768) nor '
                   'PATH-L (1024)')

    _, err = refuse(PATH_CLI, [tmp_path / 'nope.pth', dst], capsys)
    assert err.endswith('not found: ' + str(tmp_path / 'nope.pth'))

    # a missing tensor: it is listed and nothing is written
    short = {k: v for k, v in path_b.items() if k != 'blocks.11.mlp.fc2.bias'}
    src = tmp_path / 'short.pth'
    torch.save(short, src)
    lines, err = refuse(PATH_CLI, [src, dst], capsys)
    at = lines.index('missing 1')
    assert lines[at + 1] == '  layers.11.ffn.layers.1.bias'
    assert err.endswith(
        '(1 missing, 0 unexpected, 0 shape mismatch); nothing written')

    # weights-only: a pickle with another global is refused, not run
    flag = tmp_path / 'ran'
    torch.save({'state_dict': short, 'x': CodeRunningPickle(str(flag))},
               tmp_path / 'evil.pth')
    _, err = refuse(PATH_CLI, [tmp_path / 'evil.pth', dst], capsys)
    assert 'evil.pth cannot be read weights-only' in err
    assert not flag.exists() and not dst.exists()


@pytest.mark.slow
def test_solider_b_student_converts_and_loads(tmp_path):
    dims = dict(embed=128, depths=(2, 2, 18, 2), heads=(4, 8, 16, 32))
    teacher = solider_state_dict(**dims, seed=0)
    student = solider_state_dict(**dims, seed=1)
    src = tmp_path / 'solider_b.pth'
    torch.save({
        'teacher': {f'backbone.{k}': v.half() if v.is_floating_point() else v
                    for k, v in teacher.items()},
        'student': {f'module.backbone.{k}': v.half()
                    if v.is_floating_point() else v
                    for k, v in student.items()},
        'epoch': 100,
    }, src)
    del teacher
    dst = tmp_path / 'soliderb_student.pth'
    out = run([SOLIDER_CLI, str(src), str(dst), '--which', 'student'],
              cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    for expect in ('dropped 6', 'missing 0', 'unexpected 0', 'mismatched 0'):
        assert expect in lines, (expect, lines)
    model = MODELS.build(teacher_cfg('teacher_soliderb.py'))
    report = load_teacher_weights(model, str(dst))
    assert report['missing'] == report['unexpected'] == []
    assert torch.equal(model.semantic_embed_w[2].weight,
                       student['semantic_embed_w.2.weight'].half().float())
