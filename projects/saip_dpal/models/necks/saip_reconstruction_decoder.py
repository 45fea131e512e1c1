"""The MAE-style pixel decoder of SAIP's cross-scale reconstruction."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule, ModuleList
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.models.utils import build_norm_layer, resize_pos_embed
from mmpretrain.registry import MODELS

from ..utils.reference_init import xavier_init


def sincos_pos_embed_2d(grid: Sequence[int],
                        dims: int,
                        temperature: float = 10000.) -> torch.Tensor:
    """Fixed 2-D sin-cos position embedding (h * w, dims), row-major.

    Channels are ``[sin(x w), cos(x w), sin(y w), cos(y w)]`` with x the
    column and y the row of a patch and ``dims / 4`` frequencies w.
    """
    if dims % 4 != 0:
        raise ValueError(f'dims={dims} must be divisible by 4')
    h, w = grid
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64),
        torch.arange(w, dtype=torch.float64),
        indexing='ij')
    freqs = temperature**-(
        torch.arange(dims // 4, dtype=torch.float64) / (dims // 4))
    ax = xs.reshape(-1, 1) * freqs
    ay = ys.reshape(-1, 1) * freqs
    return torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], dim=1).float()


@MODELS.register_module()
class SAIPReconstructionDecoder(BaseModule):
    """Decoder of SAIP's cross-scale reconstruction (CSR).

    Sequence ``[cls, context_cls, patches]`` where the patches are the kept
    encoder tokens plus a learned mask token for every removed patch, put
    back in grid order with ``ids_restore``; all projected to ``embed_dims``
    (one ``Linear``), plus fixed decoder position embeddings: a 2-D sin-cos
    table on ``base_grid`` with one extra (zero) slot shared by both cls
    tokens, resized in 2-D (bicubic) to the input's grid. Then ``depth``
    pre-norm transformer blocks, LayerNorm and ``Linear`` to the
    ``patch_size**2 * in_chans`` pixels of each patch.

    Args:
        in_channels (int): Encoder width Cin.
        embed_dims (int): Decoder width D. Defaults to 512.
        depth (int): Number of blocks. Defaults to 8.
        num_heads (int): Heads per block. Defaults to 16.
        mlp_ratio (float): FFN hidden width / D. Defaults to 4.
        patch_size (int): Patch size p. Defaults to 16.
        in_chans (int): Image channels. Defaults to 3.
        base_grid (tuple): Grid (h, w) of the position table.
            Defaults to (16, 8) (256x128 images).
        norm_cfg (dict): Norm config. Defaults to LN with eps 1e-6.
        init_cfg (dict, optional): Initialisation config.

    Shapes:
        visible (B, 1 + K, Cin), context_cls (B, 1, Cin), ids_restore (B, L)
        with L = h * w -> predictions (B, L, p * p * in_chans), grid order.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 512,
                 depth: int = 8,
                 num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 patch_size: int = 16,
                 in_chans: int = 3,
                 base_grid: Sequence[int] = (16, 8),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.in_chans = in_chans
        self.base_grid = tuple(base_grid)
        self.decoder_embed = nn.Linear(in_channels, embed_dims)
        self.mask_token = nn.Parameter(torch.rand(1, 1, embed_dims))
        pos = torch.cat([
            torch.zeros(1, embed_dims),
            sincos_pos_embed_2d(self.base_grid, embed_dims)
        ]).unsqueeze(0)
        # fixed and rebuilt at construction: not stored in checkpoints
        self.register_buffer('decoder_pos_embed', pos, persistent=False)
        self.blocks = ModuleList([
            TransformerEncoderLayer(
                embed_dims,
                num_heads,
                int(mlp_ratio * embed_dims),
                qkv_bias=True,
                norm_cfg=norm_cfg) for _ in range(depth)
        ])
        self.norm = build_norm_layer(norm_cfg, embed_dims)
        self.decoder_pred = nn.Linear(embed_dims, patch_size**2 * in_chans)

    def init_weights(self):
        """The reference's initialisation: xavier-uniform linears with zero
        bias, unit LayerNorms, mask token U[0, 1)."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        xavier_init(self)
        nn.init.uniform_(self.mask_token, 0., 1.)

    def pos_embed(self, grid: Sequence[int]) -> torch.Tensor:
        """(1, 2 + h * w, D): the extra slot twice, then the table resized
        (bicubic, 2-D) from ``base_grid`` to ``grid``."""
        pos = resize_pos_embed(
            self.decoder_pos_embed,
            self.base_grid,
            tuple(grid),
            mode='bicubic',
            num_extra_tokens=1)
        return torch.cat([pos[:, :1], pos], dim=1)

    def forward(self, visible: torch.Tensor, context_cls: torch.Tensor,
                ids_restore: torch.Tensor,
                grid: Sequence[int]) -> torch.Tensor:
        """Predict the pixels of every patch.

        Args:
            visible (Tensor): (B, 1 + K, Cin), the masked view's cls token
                then its K kept tokens (in ``keep_ids`` order).
            context_cls (Tensor): (B, 1, Cin), the other view's cls token.
            ids_restore (Tensor): (B, L) long, unshuffles
                ``[kept..., removed...]`` to grid order.
            grid (tuple): (h, w) with h * w = L.

        Returns:
            Tensor: (B, L, patch_size**2 * in_chans) in grid order.
        """
        B, L = ids_restore.shape
        if grid[0] * grid[1] != L:
            raise ValueError(f'grid {tuple(grid)} does not hold the {L} '
                             f'patches of ids_restore')
        num_kept = visible.shape[1] - 1
        x = self.decoder_embed(torch.cat([visible, context_cls], dim=1))
        D = x.shape[-1]
        patches = torch.cat([
            x[:, 1:1 + num_kept],
            self.mask_token.expand(B, L - num_kept, -1)
        ],
                            dim=1)
        patches = patches.gather(1,
                                 ids_restore.unsqueeze(-1).expand(-1, -1, D))
        x = torch.cat([x[:, :1], x[:, 1 + num_kept:], patches], dim=1)
        x = x + self.pos_embed(grid).to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.decoder_pred(self.norm(x))[:, 2:]
