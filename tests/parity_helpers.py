"""Shared pieces of the parity tests (tests/data/parity/README.md).

The fixtures hold one training step of each method computed with the
authors' code; the weights are not stored but defined by a rule over
parameter names, which :func:`rule_tensor` reproduces. :class:`Comparison`
checks a quantity against its golden value with the fixtures' scale-relative
tolerance and reports the first one that differs.
"""
import os.path as osp
import re
import zlib
from typing import Dict, List, Sequence, Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PARITY_DIR = osp.join(ROOT, 'tests', 'data', 'parity')
RTOL = 1e-4


def load_fixture(name: str) -> dict:
    """A fixture file, weights-only."""
    return torch.load(
        osp.join(PARITY_DIR, name), map_location='cpu', weights_only=True)


def rule_tensor(name: str, shape: Sequence[int],
                layernorm_weight: bool) -> torch.Tensor:
    """The fixtures' weight rule: seed = CRC-32 of the full name, a unit
    normal draw, ``1 + 0.1 x`` for LayerNorm weights, ``0.02 x`` else."""
    g = torch.Generator().manual_seed(zlib.crc32(name.encode('utf-8')))
    x = torch.randn(tuple(shape), generator=g, dtype=torch.float32)
    return 1 + 0.1 * x if layernorm_weight else 0.02 * x


def rename(name: str, rules: Sequence[Tuple[str, str]]) -> str:
    """Apply the first matching ``(regex, replacement)``; a name no rule
    matches is an error (so a renamed module breaks the test loudly)."""
    for pattern, repl in rules:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, repl, name)
    raise KeyError(f'no project name for reference parameter {name!r}')


#: reference ViT block names (timm) -> mmpretrain VisionTransformer names
VIT_RULES = [
    (r'backbone\.patch_embed\.proj\.(\w+)',
     r'backbone.patch_embed.projection.\1'),
    (r'backbone\.(cls_token|pos_embed)', r'backbone.\1'),
    (r'backbone\.blocks\.(\d+)\.norm1\.(\w+)', r'backbone.layers.\1.ln1.\2'),
    (r'backbone\.blocks\.(\d+)\.norm2\.(\w+)', r'backbone.layers.\1.ln2.\2'),
    (r'backbone\.blocks\.(\d+)\.attn\.(qkv|proj)\.(\w+)',
     r'backbone.layers.\1.attn.\2.\3'),
    (r'backbone\.blocks\.(\d+)\.mlp\.fc1\.(\w+)',
     r'backbone.layers.\1.ffn.layers.0.0.\2'),
    (r'backbone\.blocks\.(\d+)\.mlp\.fc2\.(\w+)',
     r'backbone.layers.\1.ffn.layers.1.\2'),
    (r'backbone\.norm\.(\w+)', r'backbone.ln1.\1'),
]


class Comparison:
    """Scale-relative checks: ``max|a - b| <= rtol * max|golden|`` for a
    tensor, ``|a - b| <= rtol * |golden|`` for a scalar. Every check is
    recorded; :meth:`assert_all` fails naming the first that differs."""

    def __init__(self, rtol: float = RTOL):
        self.rtol = rtol
        self.results: List[Tuple[str, float, bool]] = []

    def __call__(self, name: str, ours, golden) -> float:
        ours = torch.as_tensor(ours).detach().double()
        golden = torch.as_tensor(golden).detach().double()
        if ours.shape != golden.shape:
            if ours.numel() != golden.numel():
                self.results.append((f'{name}: shape {tuple(ours.shape)} vs '
                                     f'golden {tuple(golden.shape)}',
                                     float('inf'), False))
                return float('inf')
            ours = ours.reshape(golden.shape)
        scale = golden.abs().max().item()
        diff = (ours - golden).abs().max().item()
        rel = diff / scale if scale > 0 else diff
        self.results.append((name, rel, rel <= self.rtol))
        return rel

    def worst(self) -> Tuple[str, float]:
        name, rel, _ = max(self.results, key=lambda r: r[1])
        return name, rel

    def assert_all(self) -> None:
        assert self.results, 'nothing was compared'
        failed = [(n, r) for n, r, ok in self.results if not ok]
        if failed:
            name, rel = failed[0]
            raise AssertionError(
                f'{len(failed)} of {len(self.results)} quantities differ '
                f'from the golden run; first: {name} (relative difference '
                f'{rel:.3g} > {self.rtol:g})')


class Recorder:
    """Forward hook that keeps the inputs and outputs of every call."""

    def __init__(self, module: torch.nn.Module):
        self.calls: List[Tuple[tuple, object]] = []
        self.handle = module.register_forward_hook(self)

    def __call__(self, module, args, output):
        self.calls.append((args, output))

    def remove(self) -> Dict:
        self.handle.remove()
        return self.calls
