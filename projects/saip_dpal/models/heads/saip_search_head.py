"""Cross-scale search (CSS) head of SAIP."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..utils.attention import SDPAMultiheadAttention
from ..utils.reference_init import xavier_init


def mask_to_grid(masks: torch.Tensor,
                 grid: Sequence[int],
                 mode: str = 'nearest') -> torch.Tensor:
    """Resize image-size binary masks to the token grid.

    With ``mode='nearest'`` cell (i, j) takes the mask pixel at
    ``(floor(i * H / h), floor(j * W / w))``, i.e. the top-left pixel of
    its patch when the image is a whole number of patches.

    Args:
        masks (Tensor): Masks (B, H, W), any dtype.
        grid (Sequence[int]): Target grid (h, w).
        mode (str): ``F.interpolate`` mode. Defaults to 'nearest'.

    Returns:
        Tensor: (B, h, w) float32.
    """
    if masks.dim() != 3:
        raise ValueError(f'masks must be (B, H, W), got {tuple(masks.shape)}')
    out = F.interpolate(
        masks[:, None].float(), size=tuple(int(g) for g in grid), mode=mode)
    return out[:, 0]


class _AttentionBlock(nn.Module):
    """Pre-norm transformer block: ``x + Attn(LN x, context)``, then
    ``x + MLP(LN x)``. Self-attention without a context; with one it is
    cross-attention from the normed queries to the (un-normed) context.

    Shapes: x (B, N, C), context (B, M, C) or None -> (B, N, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float,
                 norm_eps: float):
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = SDPAMultiheadAttention(embed_dims, num_heads)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dims, hidden), nn.GELU(),
            nn.Linear(hidden, embed_dims))

    def forward(self,
                x: torch.Tensor,
                context: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), context)
        return x + self.mlp(self.norm2(x))


@MODELS.register_module()
class SAIPSearchHead(BaseModule):
    """Cross-scale search head: find the query person in a composite image.

    Query kernel, from the student's intermediate tokens of the query image
    (B, 1 + Nq, C): ``Linear(C, D)`` -> ``num_layers`` pre-norm
    self-attention blocks -> cls token ``q`` -> one pre-norm cross-attention
    block (``q + CrossAttn(LN q, S)``, ``q + MLP(LN q)``) with
    ``S = LN(Linear(C, D))`` of the search patch tokens -> LayerNorm ->
    ``Linear(D, D)`` -> kernel (B, D).

    Mask features, from the teacher's intermediate patch tokens of the
    composite (B, 1 + Ns, C) laid out as (B, C, h, w): ``conv1x1(C, D)`` +
    GELU, then ``num_convs`` x (``conv3x3(D, D)`` + GELU) -> (B, D, h, w).

    ``logits[b, y, x] = sum_c kernel[b, c] * features[b, c, y, x]``.

    Args:
        in_channels (int): Token width C of the backbone (192 for ViT-Ti).
        embed_dims (int): Working width D. Defaults to 512.
        num_heads (int): Heads of every attention. Defaults to 16 (the
            reference's).
        num_layers (int): Self-attention blocks of the query branch.
            Defaults to 2.
        num_convs (int): 3x3 convolutions of the mask branch. Defaults to 3.
        mlp_ratio (float): MLP ratio of the attention blocks.
            Defaults to 4.
        norm_eps (float): Epsilon of the LayerNorms. Defaults to 1e-6.
        loss_weight (float): Weight of both search losses. Defaults to 1.0.
        init_cfg (dict, optional): Initialisation config. By default, as
            the reference: Xavier-uniform linear and convolution weights,
            zero linear biases (convolution biases keep PyTorch's default),
            unit LayerNorms (:meth:`init_weights`).
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 512,
                 num_heads: int = 16,
                 num_layers: int = 2,
                 num_convs: int = 3,
                 mlp_ratio: float = 4.,
                 norm_eps: float = 1e-6,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.loss_weight = loss_weight

        # query branch
        self.query_embed = nn.Linear(in_channels, embed_dims)
        self.query_blocks = nn.ModuleList([
            _AttentionBlock(embed_dims, num_heads, mlp_ratio, norm_eps)
            for _ in range(num_layers)
        ])
        self.search_embed = nn.Sequential(
            nn.Linear(in_channels, embed_dims),
            nn.LayerNorm(embed_dims, eps=norm_eps))
        self.cross_block = _AttentionBlock(embed_dims, num_heads, mlp_ratio,
                                           norm_eps)
        self.kernel_norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.kernel_proj = nn.Linear(embed_dims, embed_dims)

        # mask branch
        layers = [nn.Conv2d(in_channels, embed_dims, 1), nn.GELU()]
        for _ in range(num_convs):
            layers += [
                nn.Conv2d(embed_dims, embed_dims, 3, padding=1),
                nn.GELU()
            ]
        self.mask_head = nn.Sequential(*layers)

    def init_weights(self) -> None:
        """The reference's initialisation unless ``init_cfg`` is given."""
        super().init_weights()
        if self.init_cfg is None:
            xavier_init(self, convs=True)

    def query_kernel(self, query_tokens: torch.Tensor,
                     search_patches: torch.Tensor) -> torch.Tensor:
        """Kernel (B, D) from query tokens (B, 1 + Nq, C) and search patch
        tokens (B, Ns, C)."""
        x = self.query_embed(query_tokens)
        for block in self.query_blocks:
            x = block(x)
        cls = self.cross_block(x[:, :1], self.search_embed(search_patches))
        return self.kernel_proj(self.kernel_norm(cls[:, 0]))

    def mask_features(self, search_patches: torch.Tensor,
                      search_grid: Sequence[int]) -> torch.Tensor:
        """Features (B, D, h, w) from search patch tokens (B, h * w, C)."""
        B, N, C = search_patches.shape
        h, w = (int(g) for g in search_grid)
        x = search_patches.transpose(1, 2).reshape(B, C, h, w)
        return self.mask_head(x)

    def forward(self,
                query_tokens: Union[torch.Tensor, Sequence[torch.Tensor]],
                search_tokens: torch.Tensor, search_grid: Tuple[int, int]
                ) -> Union[torch.Tensor, List[torch.Tensor]]:
        """Search logits of one query, or of several queries in the same
        composite (its mask features are then computed once).

        Args:
            query_tokens (Tensor | list[Tensor]): Student intermediate
                tokens of the query image, cls first (B, 1 + Nq, C), or a
                list of such (their Nq may differ).
            search_tokens (Tensor): Teacher intermediate tokens of the
                composite, cls first (B, 1 + h * w, C).
            search_grid (tuple[int, int]): Patch grid (h, w) of the
                composite.

        Returns:
            Tensor | list[Tensor]: Logits (B, h, w), one per query.
        """
        h, w = (int(g) for g in search_grid)
        if search_tokens.shape[1] != 1 + h * w:
            raise ValueError(f'{search_tokens.shape[1]} search tokens do not '
                             f'make a cls token and a {h}x{w} grid')
        patches = search_tokens[:, 1:]
        features = self.mask_features(patches, (h, w))
        queries = [query_tokens] if torch.is_tensor(query_tokens) \
            else list(query_tokens)
        logits = [
            torch.einsum('bc,bchw->bhw', self.query_kernel(q, patches),
                         features) for q in queries
        ]
        return logits[0] if torch.is_tensor(query_tokens) else logits

    def loss(self, queries: Dict[str, torch.Tensor],
             search_tokens: torch.Tensor, search_grid: Tuple[int, int],
             paste_masks: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``loss_css_<name>`` of each named query: :meth:`mask_loss` of its
        search logits (:meth:`forward`, one pass over the mask features)
        against its paste mask (B, H, W) of the same name."""
        logits = self(list(queries.values()), search_tokens, search_grid)
        return {
            f'loss_css_{name}': self.mask_loss(out, paste_masks[name])
            for name, out in zip(queries, logits)
        }

    def mask_loss(self, logits: torch.Tensor,
                  paste_masks: torch.Tensor) -> torch.Tensor:
        """BCE-with-logits against the paste masks on the logits' grid.

        Args:
            logits (Tensor): Search logits (B, h, w).
            paste_masks (Tensor): Binary image-size masks (B, H, W), resized
                to (h, w) by :func:`mask_to_grid` (nearest).

        Returns:
            Tensor: Scalar loss (fp32, mean over B, h, w).
        """
        target = mask_to_grid(paste_masks, logits.shape[-2:]).to(logits.device)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            loss = F.binary_cross_entropy_with_logits(logits.float(), target)
        return self.loss_weight * loss
