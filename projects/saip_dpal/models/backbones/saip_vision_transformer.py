"""The SAIP student / teacher ViT: mmpretrain's ViT plus an intermediate
output after one block."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import build_norm_layer, resize_pos_embed
from mmpretrain.registry import MODELS
from ..utils.patch_embed import embed_patches


@MODELS.register_module()
class SAIPVisionTransformer(VisionTransformer):
    """mmpretrain's ``VisionTransformer`` with an intermediate token output.

    ``forward`` is mmpretrain's unchanged, and the only extra weights are
    ``inter_norm.*``: the state dict without them loads into a plain
    ``VisionTransformer`` of the same arch and gives the same outputs.

    SAIP uses :meth:`forward_tokens`, which returns the tokens after block
    ``inter_index`` through ``inter_norm`` (the reconstruction and search
    branches), the final tokens through ``ln1``, and optionally the last
    block's q-k and v-v attention maps (the attention-relation loss). It can
    keep only a subset of the patch tokens (masked views) and can stop after
    block ``inter_index``.

    Args:
        arch (str | dict): ViT arch as in ``VisionTransformer``.
            Defaults to ``'deit-tiny'`` (ViT-Ti: 192 wide, 12 blocks,
            3 heads).
        inter_index (int): Index of the block whose output is the
            intermediate output; negative counts from the end. Defaults to 6
            (the 7th block).
        norm_cfg (dict): Norm config of every LayerNorm, ``inter_norm``
            included. Defaults to ``dict(type='LN', eps=1e-6)``.
        **kwargs: Other ``VisionTransformer`` arguments (``img_size``,
            ``patch_size``, ``out_type``, ``drop_path_rate``, ...).
    """

    def __init__(self,
                 arch='deit-tiny',
                 inter_index: int = 6,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 **kwargs):
        super().__init__(arch=arch, norm_cfg=norm_cfg, **kwargs)
        if self.cls_token is None:
            raise ValueError('SAIPVisionTransformer needs with_cls_token=True')
        if inter_index < 0:
            inter_index += self.num_layers
        if not 0 <= inter_index < self.num_layers:
            raise ValueError(f'inter_index={inter_index} is outside the '
                             f'{self.num_layers} blocks')
        self.inter_index = inter_index
        self.inter_norm = build_norm_layer(norm_cfg, self.embed_dims)

    def _embed(
        self, x: torch.Tensor, keep_ids: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Patch embedding, cls token, 2-D resized position embedding and the
        optional patch selection: (B, 3, H, W) -> (B, 1 + K, C), (h, w)."""
        B = x.shape[0]
        x, grid = embed_patches(self.patch_embed, x)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            grid,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        if keep_ids is not None:
            if keep_ids.dim() != 2 or keep_ids.shape[0] != B:
                raise ValueError(f'keep_ids must be (B={B}, K), got '
                                 f'{tuple(keep_ids.shape)}')
            patches = x[:, 1:].gather(
                1,
                keep_ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
            x = torch.cat([x[:, :1], patches], dim=1)
        x = self.drop_after_pos(x)
        return self.pre_norm(x), tuple(grid)

    @staticmethod
    def _layer_with_attn(
            layer, x: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One ``TransformerEncoderLayer`` that also returns its maps.

        Same output as ``layer(x)``, with the attention output computed as
        ``attn_qk @ v``. Returns x (B, N, C), attn_qk and attn_vv
        (B, heads, N, N): ``softmax(q k^T * s)`` and ``softmax(v v^T * s)``
        with ``s = head_dims ** -0.5`` (before attention dropout).
        """
        attn = layer.attn
        if attn.v_shortcut:
            raise NotImplementedError('v_shortcut attention is not supported')
        h = layer.ln1(x)
        B, N, _ = h.shape
        q, k, v = attn.qkv(h).reshape(B, N, 3, attn.num_heads,
                                      attn.head_dims).permute(2, 0, 3, 1,
                                                              4).unbind(0)
        scale = attn.head_dims**-0.5
        attn_qk = (q @ k.transpose(-2, -1) * scale).softmax(dim=-1)
        attn_vv = (v @ v.transpose(-2, -1) * scale).softmax(dim=-1)
        weights = F.dropout(attn_qk, attn.attn_drop, attn.training)
        out = (weights @ v).transpose(1, 2).reshape(B, N, attn.embed_dims)
        out = attn.out_drop(attn.gamma1(attn.proj_drop(attn.proj(out))))
        x = x + out
        x = layer.ffn(layer.ln2(x), identity=x)
        return x, attn_qk, attn_vv

    def forward_tokens(self,
                       x: torch.Tensor,
                       keep_ids: Optional[torch.Tensor] = None,
                       inter_only: bool = False,
                       with_attn: bool = False) -> Dict[str, object]:
        """Token outputs for SAIP.

        Args:
            x (Tensor): Images (B, 3, H, W); H and W any multiples of the
                patch size (grid (h, w) = (H / p, W / p); the position
                embedding is resized in 2-D to it).
            keep_ids (Tensor, optional): (B, K) long indices (row-major on the
                (h, w) grid) of the patch tokens to keep, after the position
                embedding is added; the cls token is always kept. None: all
                L = h * w patches (K = L).
            inter_only (bool): Stop after block ``inter_index``.
            with_attn (bool): Also return the last block's attention maps
                (not with ``inter_only``).

        Returns:
            dict:
            - ``inter`` (B, 1 + K, C): block ``inter_index`` output through
              ``inter_norm``, cls first.
            - ``tokens`` (B, 1 + K, C): last block output through ``ln1``
              (if ``final_norm``); None with ``inter_only``.
            - ``attn_qk``, ``attn_vv`` (B, heads, 1 + K, 1 + K), with
              ``with_attn`` only: the last block's softmax(q k^T * scale) and
              softmax(v v^T * scale), rows summing to 1.
            - ``grid`` (h, w): the patch grid of the input.
        """
        if inter_only and with_attn:
            raise ValueError('with_attn needs the last block: it cannot be '
                             'combined with inter_only')
        x, grid = self._embed(x, keep_ids)
        out: Dict[str, object] = dict(grid=grid, tokens=None)
        last = self.num_layers - 1
        stop = self.inter_index + 1 if inter_only else self.num_layers
        for i in range(stop):
            layer = self.layers[i]
            if with_attn and i == last:
                x, out['attn_qk'], out['attn_vv'] = self._layer_with_attn(
                    layer, x)
            else:
                x = layer(x)
            if i == self.inter_index:
                out['inter'] = self.inter_norm(x)
        if not inter_only:
            out['tokens'] = self.ln1(x) if self.final_norm else x
        return out
