"""The dynamic pattern decoder of DPAL."""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.attention import SDPAMultiheadAttention
from ..utils.reference_init import xavier_init


@MODELS.register_module()
class DPALPatternDecoder(BaseModule):
    """Dynamic pattern decoder: gated mixture of per-sample generated experts.

    Maps student tokens (B, N, Cs) to the teacher's width (B, N, Ct) for one
    of ``num_patterns`` alignment patterns (0 global, 1 local, 2 relation).
    With C the working width (``mid_channels`` or ``in_channels``):

    1. optional down-projection ``x0 = LN(GELU(Linear(x)))`` (Cs -> C);
       otherwise ``x0 = x``;
    2. token mixing ``x1 = LN(x0 + SelfAttn(x0))`` (``num_heads`` heads, no
       pre-norm);
    3. gate: one learned token, LayerNorm-ed, cross-attends to ``x1``
       (``gate_num_heads`` heads, no residual); ``Linear(C, P, bias=False)``
       gives logits (B, P); scores = softmax(logits); auxiliary loss =
       cross-entropy of the logits against the pattern index;
    4. experts: P learned pattern queries (B, P, C) -> ``q + SelfAttn(q)``
       (no pre-norm) -> ``q + CrossAttn(LN(q), x0)`` (``num_heads`` heads;
       keys/values are the decoder *input* ``x0``, not ``x1``) ->
       ``LN(GELU(Linear(LN(q))))`` (C -> C * Ct) -> P matrices (C, Ct) per
       sample;
    5. ``W = sum_k score_k W_k / expert_scale`` (B, C, Ct); regulariser
       ``expert_reg_weight * sum(W ** 2)`` per sample, averaged over B;
    6. ``out = LN(GELU(x1 @ W))`` (B, N, Ct).

    Reading of the reference (``Hermine-D/DPAL``, ``pretrain_moe_decoder.py``)
    that fixed the details the method description leaves open: the gate
    attends to the mixed and normed tokens ``x1`` with 12 heads (hard-coded
    there), the expert generator's cross-attention attends to the tokens
    before mixing ``x0`` with the decoder's head count (16 in every released
    config), the FFN input is LayerNorm-ed, all LayerNorms use eps 1e-6, and
    the gate token enters the gate without a residual.

    Args:
        in_channels (int): Student width Cs.
        out_channels (int): Teacher width Ct. Defaults to 768.
        mid_channels (int, optional): Working width Ci after a
            down-projection (192 for a ViT-B student). None: no projection.
        num_heads (int): Heads of the token mixing and of the expert
            generator's attentions. Defaults to 16.
        gate_num_heads (int): Heads of the gate's cross-attention.
            Defaults to 12.
        num_patterns (int): Number of patterns / experts P. Defaults to 3.
        expert_scale (float): Divisor of the mixed expert. Defaults to 256.
        expert_reg_weight (float): Weight of the expert regulariser.
            Defaults to 0.025 (weight decay 0.05 x 0.5 in the reference).
        norm_eps (float): Epsilon of every LayerNorm. Defaults to 1e-6.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 768,
                 mid_channels: Optional[int] = None,
                 num_heads: int = 16,
                 gate_num_heads: int = 12,
                 num_patterns: int = 3,
                 expert_scale: float = 256.,
                 expert_reg_weight: float = 0.025,
                 norm_eps: float = 1e-6,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.num_patterns = num_patterns
        self.expert_scale = expert_scale
        self.expert_reg_weight = expert_reg_weight
        dims = mid_channels or in_channels
        self.embed_dims = dims

        if mid_channels is not None:
            self.down_proj = nn.Sequential(
                nn.Linear(in_channels, mid_channels), nn.GELU(),
                nn.LayerNorm(mid_channels, eps=norm_eps))
        else:
            self.down_proj = nn.Identity()

        # token mixing
        self.token_attn = SDPAMultiheadAttention(dims, num_heads)
        self.token_norm = nn.LayerNorm(dims, eps=norm_eps)

        # gate
        self.gate_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.gate_norm = nn.LayerNorm(dims, eps=norm_eps)
        self.gate_attn = SDPAMultiheadAttention(dims, gate_num_heads)
        self.gate_fc = nn.Linear(dims, num_patterns, bias=False)

        # expert generator
        self.pattern_queries = nn.Parameter(torch.zeros(1, num_patterns, dims))
        self.query_self_attn = SDPAMultiheadAttention(dims, num_heads)
        self.query_cross_norm = nn.LayerNorm(dims, eps=norm_eps)
        self.query_cross_attn = SDPAMultiheadAttention(dims, num_heads)
        self.generator_norm = nn.LayerNorm(dims, eps=norm_eps)
        self.generator = nn.Sequential(
            nn.Linear(dims, dims * out_channels), nn.GELU(),
            nn.LayerNorm(dims * out_channels, eps=norm_eps))

        self.out_act = nn.GELU()
        self.out_norm = nn.LayerNorm(out_channels, eps=norm_eps)

    def init_weights(self) -> None:
        """The reference's initialisation (unless ``init_cfg`` is given):
        Xavier-uniform linear weights with zero biases, unit LayerNorms (as
        the reference); the gate's linear layer keeps PyTorch's default
        (Kaiming-uniform), the gate token is a unit normal and the pattern
        queries are zeros, all as in the reference (the three experts become
        distinct through their gate-weighted gradients).
        """
        super().init_weights()
        if self.init_cfg is not None:
            return
        xavier_init(self)
        self.gate_fc.reset_parameters()
        nn.init.normal_(self.gate_token, std=1.)
        nn.init.zeros_(self.pattern_queries)

    def generate_experts(self, x0: torch.Tensor) -> torch.Tensor:
        """Per-sample expert matrices from the input tokens.

        Args:
            x0 (Tensor): Decoder input tokens (B, N, C).

        Returns:
            Tensor: Experts (B, P, C, Ct).
        """
        B = x0.shape[0]
        q = self.pattern_queries.expand(B, -1, -1)
        q = q + self.query_self_attn(q)
        q = q + self.query_cross_attn(self.query_cross_norm(q), x0)
        experts = self.generator(self.generator_norm(q))
        return experts.reshape(B, self.num_patterns, self.embed_dims,
                               self.out_channels)

    def gate(self, x1: torch.Tensor) -> torch.Tensor:
        """Gate logits (B, P) from the mixed tokens x1 (B, N, C)."""
        token = self.gate_norm(self.gate_token.expand(x1.shape[0], -1, -1))
        return self.gate_fc(self.gate_attn(token, x1)).squeeze(1)

    def forward(self, x: torch.Tensor,
                gate_target: Union[int,
                                   torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Decode tokens; the experts are mixed by the gate's own softmax,
        ``gate_target`` is only what its cross-entropy is trained towards.

        Args:
            x (Tensor): Student tokens (B, N, Cs).
            gate_target (int | Tensor): Pattern index in [0, P), or per-sample
                indices (B,): the target of the gate's cross-entropy (it
                does not choose the route).

        Returns:
            dict[str, Tensor]:
            - ``out``: decoded tokens (B, N, Ct);
            - ``gate_logits``: (B, P);
            - ``loss_gate``: gate cross-entropy against ``gate_target``,
              scalar;
            - ``loss_expert_reg``: expert regulariser, scalar;
            - ``mixed_expert``: the mixed expert W (B, C, Ct), fp32.
        """
        x0 = self.down_proj(x)
        x1 = self.token_norm(x0 + self.token_attn(x0))

        logits = self.gate(x1)
        if isinstance(gate_target, torch.Tensor):
            target = gate_target.to(device=logits.device, dtype=torch.long)
            target = target.expand(logits.shape[0])
        else:
            target = torch.full((logits.shape[0], ),
                                int(gate_target),
                                dtype=torch.long,
                                device=logits.device)
        loss_gate = F.cross_entropy(logits.float(), target)
        scores = logits.float().softmax(dim=-1)

        experts = self.generate_experts(x0)
        # mixture and regulariser in fp32, as the LayerNorm-ed experts are
        with torch.autocast(device_type=x.device.type, enabled=False):
            mixed = torch.einsum('bk,bkcd->bcd', scores,
                                 experts.float()) / self.expert_scale
            loss_expert_reg = self.expert_reg_weight * mixed.pow(2).sum(
                dim=(1, 2)).mean()

        out = torch.bmm(x1, mixed.to(x1.dtype))
        out = self.out_norm(self.out_act(out))
        return dict(
            out=out,
            gate_logits=logits,
            loss_gate=loss_gate,
            loss_expert_reg=loss_expert_reg,
            mixed_expert=mixed)
