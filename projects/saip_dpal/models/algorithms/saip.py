"""SAIP: Scale-Aware Image Pretraining (self-supervised, EMA teacher)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ...utils.async_copies import to_device_async
from ..utils.anchor_mask import anchor_keep_ids
from ..utils.attention import unbind_qkv_attention
from ..utils.compile_blocks import compile_blocks, parse_compile
from ..utils.old_checkpoint_keys import old_key_renamer
from ..utils.optim_step_cosine_ema import OptimStepCosineEMA
from ..utils.reference_init import check_backbone_init, init_backbone
from ..utils.teacher_precision import (as_float32, check_teacher_dtype,
                                       teacher_autocast)
from ..utils.views_data_preprocessor import check_views, views_preprocessor


def boxes_to_masks(boxes: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Binary masks (B, H, W) of (x1, y1, x2, y2) boxes (B, 4), x2/y2
    exclusive, built on the boxes' device."""
    H, W = size
    ys = torch.arange(H, device=boxes.device).view(1, H, 1)
    xs = torch.arange(W, device=boxes.device).view(1, 1, W)
    x1, y1, x2, y2 = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    return ((ys >= y1) & (ys < y2) & (xs >= x1) & (xs < x2)).float()


#: checkpoint key prefixes before the heads owned their networks and the
#: EMA copy was called the momentum encoder -> now
OLD_KEY_PREFIXES = (
    ('teacher.module.head.', 'momentum_encoder.module.projection.'),
    ('teacher.', 'momentum_encoder.'),
    ('head.', 'matching_head.projection.'),
    ('loss_csm.', 'matching_head.loss_rep.'),
    ('neck.', 'reconstruction_head.decoder.'),
)


@MODELS.register_module()
class SAIP(BaseSelfSupervisor):
    """Cross-scale matching (CSM), reconstruction (CSR) and search (CSS)
    against a momentum encoder (an EMA copy of the student).

    Inputs are the named views of :class:`CrowdCompositeViews` with a
    second global view and the region: ``global`` and ``global_2`` (g1, g2:
    (B, 3, Hg, Wg)), ``locals`` (l_1..l_{n-2}), ``pasted_local`` (l_{n-1})
    and ``region`` ((B, 3, Hl, Wl) each), ``crowd`` (ref: (B, 3, Hr, Wr));
    each data sample carries ``paste_boxes``: the boxes (4,) of
    ``pasted_local`` (ROI) and ``region`` (instance) on ``crowd``.

    - CSM (``matching_head``): cls tokens of g1, g2, l_1..l_{n-2}, and of
      l_{n-1} and the region each rescaled by a factor drawn from
      ``rescale_factors``, against the momentum encoder's projections of
      g1 and g2 (``loss_csm_rep``); the last blocks' q.k and v.v maps of the
      global views against the momentum encoder's (``loss_csm_att``).
    - CSR (``reconstruction_head``): g2 upscaled by ``csr_scale``, an anchor
      keep-mask drawn on g2's grid, the student encoder up to its
      intermediate block on the kept patches, decoded conditioned on g1's
      intermediate cls; normalised-pixel MSE on removed patches
      (``loss_csr``).
    - CSS (``search_head``): the momentum encoder's intermediate tokens of
      ``ref`` are searched with the student's intermediate tokens of g1
      (target: the region box, ``loss_css_inst``) and of the rescaled
      l_{n-1} (target: its box, ``loss_css_roi``).

    Each loss is weighted in its head's (or loss's) config only. Older
    checkpoints (``teacher.``, ``head.``, ``neck.``, ``loss_csm.`` keys)
    load through a state-dict hook.

    Args:
        backbone (dict): :class:`SAIPVisionTransformer`.
        matching_head (dict): :class:`SAIPMatchingHead` (CSM).
        reconstruction_head (dict): :class:`SAIPReconstructionHead` (CSR).
        search_head (dict): :class:`SAIPSearchHead` (CSS).
        rescale_factors (Sequence[float]): Scales of l_{n-1} and the region.
            Sizes are rounded to multiples of the patch size.
        csr_scale (float): Upscale of g2 for CSR. Defaults to 1.25.
        mask_ratio (float): Removed share of patches in CSR. Defaults to 0.75.
        backbone_init (str): ``'reference'`` initialises the student ViT as
            the authors' code (:func:`reference_vit_init`; its
            ``inter_norm`` too); ``'default'`` keeps mmpretrain's. A
            ``Pretrained`` init_cfg is kept. Defaults to 'reference'.
        ema (dict): :class:`OptimStepCosineEMA` args of the momentum encoder
            (an averaged copy of the backbone and the matching projection):
            decay 0.996 per training batch (``momentum=0.004``), i.e.
            0.996^a per optimizer step with ``a`` accumulation steps, cosine
            to exactly 1 on the last optimizer step; updated by
            :class:`EMAUpdateHook`.
        momentum_dtype (str, optional): ``'bfloat16'`` runs the momentum
            encoder's forward (no gradient) under bf16 autocast where the
            device computes bf16 natively, its outputs handed on in fp32;
            None (the default) keeps the step's precision.
        compile (bool | dict): ``torch.compile`` the transformer blocks of
            the ``student`` (backbone and reconstruction decoder) and / or
            the ``momentum_encoder``: True for both, or e.g.
            ``dict(student=True, mode='max-autotune')`` (other keys are
            ``torch.compile`` options). Defaults to False.
    """

    def __init__(self,
                 backbone: dict,
                 matching_head: dict,
                 reconstruction_head: dict,
                 search_head: dict,
                 rescale_factors: Sequence[float] = (0.75, 0.875, 1.125,
                                                     1.25),
                 csr_scale: float = 1.25,
                 mask_ratio: float = 0.75,
                 backbone_init: str = 'reference',
                 ema: dict = dict(momentum=0.004, end_momentum=0.),
                 momentum_dtype: Optional[str] = None,
                 compile: Union[bool, dict] = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            data_preprocessor=views_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        # built in the order of the former neck, head, search_head, so the
        # optimizer's parameter order (and older optimizer states) stays
        self.reconstruction_head = MODELS.build(reconstruction_head)
        self.matching_head = MODELS.build(matching_head)
        self.search_head = MODELS.build(search_head)
        decoder = self.reconstruction_head.decoder
        unbind_qkv_attention(self.backbone)  # the EMA copies it below
        unbind_qkv_attention(decoder)
        self.rescale_factors = tuple(rescale_factors)
        self.csr_scale = csr_scale
        self.mask_ratio = mask_ratio
        self.backbone_init = check_backbone_init(backbone_init)
        self.patch_size = self.backbone.patch_embed.projection.stride[0]
        self.momentum_encoder = OptimStepCosineEMA(self._averaged(), **ema)
        self.momentum_dtype = check_teacher_dtype(momentum_dtype)
        # after the copy: the momentum encoder gets its own compiled blocks
        parts = dict(student=nn.ModuleList([self.backbone, decoder]),
                     momentum_encoder=self.momentum_encoder.module.backbone)
        for part, options in parse_compile(compile, tuple(parts)).items():
            compile_blocks(parts[part], **options)
        self.register_load_state_dict_pre_hook(
            old_key_renamer(OLD_KEY_PREFIXES))

    def _averaged(self) -> nn.ModuleDict:
        """The student parts the momentum encoder averages."""
        return nn.ModuleDict(
            dict(backbone=self.backbone,
                 projection=self.matching_head.projection))

    def init_weights(self) -> None:
        """Initialise the student, then start the momentum encoder from
        it."""
        super().init_weights()
        init_backbone(self.backbone, self.backbone_init)
        self.momentum_encoder.module.load_state_dict(
            self._averaged().state_dict())

    def update_ema(self) -> None:
        """Average the student into the momentum encoder; called by
        :class:`EMAUpdateHook` after each optimizer step."""
        self.momentum_encoder.update_parameters(self._averaged())

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone output of the student (plain ViT output)."""
        return self.backbone(inputs)

    def _resize(self, x: torch.Tensor, factor: float) -> torch.Tensor:
        """Bicubic resize by ``factor`` to a multiple of the patch size."""
        p = self.patch_size
        size = [max(p, int(round(s * factor / p)) * p) for s in x.shape[-2:]]
        if list(x.shape[-2:]) == size:
            return x
        return F.interpolate(
            x, size=size, mode='bicubic', align_corners=False)

    @torch.no_grad()
    def _momentum_targets(self, globals_: torch.Tensor,
                          ref: torch.Tensor) -> tuple:
        """The momentum encoder's tokens and attention maps of the global
        views, their projections (list of (B, K)) and its intermediate
        tokens of ``ref``; fp32."""
        encoder = self.momentum_encoder.module
        with teacher_autocast(self.momentum_dtype, ref.device.type):
            glob = encoder.backbone.forward_tokens(globals_, with_attn=True)
            proj = encoder.projection(glob['tokens'][:, 0]).chunk(2)
            search = encoder.backbone.forward_tokens(ref, inter_only=True)
        if self.momentum_dtype is not None:
            glob, proj, search = as_float32((glob, proj, search))
        return glob, list(proj), search

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: List[DataSample], **kwargs) -> Dict[str,
                                                               torch.Tensor]:
        """Losses of one batch of named views (see the class docstring)."""
        check_views('SAIP', inputs, ('global', 'global_2', 'locals',
                                     'pasted_local', 'region', 'crowd'))
        g1, g2, ref = inputs['global'], inputs['global_2'], inputs['crowd']
        boxes = to_device_async(torch.as_tensor(np.array([
            [s.paste_boxes['region'], s.paste_boxes['pasted_local']]
            for s in data_samples])), ref.device)  # (B, 2, 4), one copy
        paste_masks = dict(inst=boxes_to_masks(boxes[:, 0], ref.shape[-2:]),
                           roi=boxes_to_masks(boxes[:, 1], ref.shape[-2:]))
        t_glob, t_proj, t_ref = self._momentum_targets(
            torch.cat([g1, g2]), ref)

        # student: globals (with attention), locals, rescaled ROI and region
        s_glob = self.backbone.forward_tokens(
            torch.cat([g1, g2]), with_attn=True)
        cls = [s_glob['tokens'][:, 0]]
        if inputs['locals']:
            small = self.backbone.forward_tokens(torch.cat(inputs['locals']))
            cls.append(small['tokens'][:, 0])
        factors = np.random.choice(self.rescale_factors, 2)
        s_roi = self.backbone.forward_tokens(
            self._resize(inputs['pasted_local'], factors[0]))
        s_region = self.backbone.forward_tokens(
            self._resize(inputs['region'], factors[1]))
        cls += [s_roi['tokens'][:, 0], s_region['tokens'][:, 0]]

        def maps(out):  # per global view its (q.k, v.v) maps
            return list(zip(out['attn_qk'].chunk(2), out['attn_vv'].chunk(2)))

        losses = self.matching_head.loss(cls, t_proj, maps(s_glob),
                                         maps(t_glob))

        # CSR: anchor-masked, upscaled g2 -> decoder conditioned on g1
        g2_up = self._resize(g2, self.csr_scale)
        s_inter = s_glob['inter'].chunk(2)[0]  # g1's intermediate tokens
        target_grid = tuple(s // self.patch_size for s in g2_up.shape[-2:])
        keep_ids, mask, ids_restore = anchor_keep_ids(
            g1.shape[0], s_glob['grid'], target_grid,
            keep_ratio=1 - self.mask_ratio, device=g2.device)
        visible = self.backbone.forward_tokens(
            g2_up, keep_ids=keep_ids, inter_only=True)['inter']
        losses.update(self.reconstruction_head.loss(
            visible, s_inter[:, :1], ids_restore, g2_up, mask))

        # CSS: search ref with g1 (region box) and rescaled l_{n-1} (its box)
        losses.update(self.search_head.loss(
            dict(inst=s_inter, roi=s_roi['inter']), t_ref['inter'],
            t_ref['grid'], paste_masks))
        return losses
