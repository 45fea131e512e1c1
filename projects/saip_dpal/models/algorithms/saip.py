"""SAIP: Scale-Aware Image Pretraining (self-supervised, EMA teacher)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.anchor_mask import anchor_keep_ids
from ..utils.attention import unbind_qkv_attention
from ..utils.compile_blocks import compile_blocks, parse_compile
from ..utils.optim_step_cosine_ema import OptimStepCosineEMA
from ..utils.reference_init import check_backbone_init, init_backbone
from ..utils.teacher_precision import (as_float32, check_teacher_dtype,
                                       teacher_autocast)


def boxes_to_masks(boxes: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Binary masks (B, H, W) of (x1, y1, x2, y2) boxes (B, 4), x2/y2
    exclusive, built on the boxes' device."""
    H, W = size
    ys = torch.arange(H, device=boxes.device).view(1, H, 1)
    xs = torch.arange(W, device=boxes.device).view(1, 1, W)
    x1, y1, x2, y2 = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    return ((ys >= y1) & (ys < y2) & (xs >= x1) & (xs < x2)).float()


@MODELS.register_module()
class SAIP(BaseSelfSupervisor):
    """Cross-scale matching (CSM), reconstruction (CSR) and search (CSS)
    with an EMA teacher.

    Inputs are the views of :class:`CrowdCompositeViews` with a second
    global view and the region: ``[g1, g2 (B, 3, Hg, Wg), l_1..l_{n-1}
    (B, 3, Hl, Wl), region (B, 3, Hl, Wl), ref (B, 3, Hr, Wr)]``; each data
    sample carries ``paste_boxes`` (2, 4): the box of l_{n-1} (ROI) and of
    the region (instance) on ``ref``.

    - CSM: projected cls tokens of g1, g2, l_1..l_{n-2}, and of l_{n-1} and
      the region each rescaled by a factor drawn from ``rescale_factors``;
      the teacher projects g1 and g2; :class:`CrossScaleMatchingLoss` over
      cross-view pairs (``loss_csm_rep``) and
      :class:`AttentionRelationLoss` between the last blocks' q.k and v.v
      maps of the same global views, the two terms added per view and the
      views averaged (``loss_csm_att``).
    - CSR: g2 upscaled by ``csr_scale``, an anchor keep-mask drawn on g2's
      grid, the student encoder up to its intermediate block on the kept
      patches, the decoder (``neck``) conditioned on g1's intermediate cls,
      normalised-pixel MSE on removed patches (``loss_csr``).
    - CSS: the teacher's intermediate tokens of ``ref`` are searched with
      the student's intermediate tokens of g1 (target: the region box,
      ``loss_css_inst``) and of the rescaled l_{n-1} (target: its box,
      ``loss_css_roi``).

    Args:
        backbone (dict): :class:`SAIPVisionTransformer`.
        neck (dict): :class:`SAIPReconstructionDecoder`.
        head (dict): :class:`SAIPProjectionHead` (CSM).
        search_head (dict): :class:`SAIPSearchHead` (CSS).
        reconstruction_head (dict): :class:`SAIPReconstructionHead` (CSR).
        loss_csm (dict): :class:`CrossScaleMatchingLoss`; its
            ``teacher_temp`` is driven by :class:`TeacherTemperatureHook`.
        loss_att (dict): :class:`AttentionRelationLoss`.
        loss_weights (dict): Weights of ``csm_rep``, ``csm_att``, ``csr``,
            ``css_inst`` and ``css_roi`` (default 1 each).
        rescale_factors (Sequence[float]): Scales of l_{n-1} and the region.
            Sizes are rounded to multiples of the patch size.
        csr_scale (float): Upscale of g2 for CSR. Defaults to 1.25.
        mask_ratio (float): Removed share of patches in CSR. Defaults to 0.75.
        backbone_init (str): ``'reference'`` initialises the student ViT as
            the authors' code (:func:`reference_vit_init`; its
            ``inter_norm`` too); ``'default'`` keeps mmpretrain's. A
            ``Pretrained`` init_cfg is kept. Defaults to 'reference'.
        ema (dict): :class:`OptimStepCosineEMA` args of the teacher: decay
            0.996 per training batch (``momentum=0.004``), i.e. 0.996^a per
            optimizer step with ``a`` accumulation steps, cosine to exactly
            1 on the last optimizer step; the teacher is updated by
            :class:`EMAUpdateHook`.
        teacher_dtype (str, optional): ``'bfloat16'`` runs the EMA
            teacher's forward (no gradient) under bf16 autocast where the
            device computes bf16 natively, its outputs handed on in fp32;
            None (the default) keeps the step's precision.
        compile (bool | dict): ``torch.compile`` the transformer blocks of
            the ``student`` (backbone and reconstruction decoder) and / or
            the EMA ``teacher``: True for both, or e.g.
            ``dict(student=True, mode='max-autotune')`` (other keys are
            ``torch.compile`` options). Defaults to False.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 search_head: dict,
                 reconstruction_head: dict = dict(
                     type='SAIPReconstructionHead', norm_pix=True),
                 loss_csm: dict = dict(type='CrossScaleMatchingLoss'),
                 loss_att: dict = dict(type='AttentionRelationLoss'),
                 loss_weights: Optional[dict] = None,
                 rescale_factors: Sequence[float] = (0.75, 0.875, 1.125,
                                                     1.25),
                 csr_scale: float = 1.25,
                 mask_ratio: float = 0.75,
                 backbone_init: str = 'reference',
                 ema: dict = dict(momentum=0.004, end_momentum=0.),
                 teacher_dtype: Optional[str] = None,
                 compile: Union[bool, dict] = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        unbind_qkv_attention(self.backbone)  # the teacher copies it below
        unbind_qkv_attention(self.neck)
        self.search_head = MODELS.build(search_head)
        self.reconstruction_head = MODELS.build(reconstruction_head)
        self.loss_csm = MODELS.build(loss_csm)
        self.loss_att = MODELS.build(loss_att)
        names = ('csm_rep', 'csm_att', 'csr', 'css_inst', 'css_roi')
        weights = dict(loss_weights or {})
        unknown = set(weights) - set(names)
        if unknown:
            raise ValueError(f'unknown loss weights {sorted(unknown)}; '
                             f'choose from {names}')
        self.loss_weights = {n: float(weights.get(n, 1.)) for n in names}
        self.rescale_factors = tuple(rescale_factors)
        self.csr_scale = csr_scale
        self.mask_ratio = mask_ratio
        self.backbone_init = check_backbone_init(backbone_init)
        self.patch_size = self.backbone.patch_embed.projection.stride[0]
        self.teacher = OptimStepCosineEMA(self._student_for_teacher(), **ema)
        self.teacher_dtype = check_teacher_dtype(teacher_dtype)
        # after the teacher's copy: it gets its own compiled blocks
        parts = dict(student=nn.ModuleList([self.backbone, self.neck]),
                     teacher=self.teacher.module.backbone)
        for part, options in parse_compile(compile, tuple(parts)).items():
            compile_blocks(parts[part], **options)

    def _student_for_teacher(self) -> nn.ModuleDict:
        """The student parts the teacher mirrors (backbone, CSM head)."""
        return nn.ModuleDict(dict(backbone=self.backbone, head=self.head))

    def init_weights(self) -> None:
        """Initialise the student, then start the teacher from it."""
        super().init_weights()
        init_backbone(self.backbone, self.backbone_init)
        self.teacher.module.load_state_dict(
            self._student_for_teacher().state_dict())

    def update_ema(self) -> None:
        """Average the student into the teacher; called by
        :class:`EMAUpdateHook` after each optimizer step."""
        self.teacher.update_parameters(self._student_for_teacher())

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

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[DataSample], **kwargs) -> Dict[str,
                                                               torch.Tensor]:
        """Losses of one batch of views (see the class docstring)."""
        if len(inputs) < 6:
            raise ValueError('SAIP needs [g1, g2, l_1..l_{n-1} (n >= 3), '
                             f'region, ref] views, got {len(inputs)} inputs')
        g1, g2 = inputs[0], inputs[1]
        locals_, region, ref = inputs[2:-2], inputs[-2], inputs[-1]
        B = g1.shape[0]
        boxes = torch.stack([
            torch.as_tensor(s.paste_boxes) for s in data_samples
        ]).to(ref.device)
        teacher = self.teacher.module

        # teacher: projected g1/g2, their attention maps, ref's inter tokens
        with torch.no_grad(), teacher_autocast(self.teacher_dtype,
                                               ref.device.type):
            t_glob = teacher.backbone.forward_tokens(
                torch.cat([g1, g2]), with_attn=True)
            t_proj = teacher.head(t_glob['tokens'][:, 0]).chunk(2)
            t_ref = teacher.backbone.forward_tokens(ref, inter_only=True)
        if self.teacher_dtype is not None:
            t_glob, t_proj, t_ref = as_float32((t_glob, t_proj, t_ref))

        # student: globals (with attention), locals, rescaled views
        s_glob = self.backbone.forward_tokens(
            torch.cat([g1, g2]), with_attn=True)
        cls = [s_glob['tokens'][:, 0]]
        if len(locals_) > 1:
            small = self.backbone.forward_tokens(torch.cat(locals_[:-1]))
            cls.append(small['tokens'][:, 0])
        factors = np.random.choice(self.rescale_factors, 2)
        roi_view = self._resize(locals_[-1], factors[0])
        s_roi = self.backbone.forward_tokens(roi_view)
        s_region = self.backbone.forward_tokens(
            self._resize(region, factors[1]))
        cls += [s_roi['tokens'][:, 0], s_region['tokens'][:, 0]]
        # one head call for all views: one pass over the 65536-way layer
        s_proj = list(self.head(torch.cat(cls)).split(B))

        losses = dict()
        losses['loss_csm_rep'] = self.loss_csm(s_proj, t_proj)
        # per global view its (q.k, v.v) maps, teacher vs student
        t_maps = list(zip(t_glob['attn_qk'].chunk(2),
                          t_glob['attn_vv'].chunk(2)))
        s_maps = list(zip(s_glob['attn_qk'].chunk(2),
                          s_glob['attn_vv'].chunk(2)))
        losses['loss_csm_att'] = self.loss_att(t_maps, s_maps)

        # CSR: anchor-masked, upscaled g2 -> decoder conditioned on g1
        g2_up = self._resize(g2, self.csr_scale)
        s_inter = s_glob['inter'].chunk(2)[0]  # g1's intermediate tokens
        base_grid = s_glob['grid']
        target_grid = tuple(s // self.patch_size for s in g2_up.shape[-2:])
        keep_ids, mask, ids_restore = anchor_keep_ids(
            B, base_grid, target_grid, keep_ratio=1 - self.mask_ratio,
            device=g2.device)
        visible = self.backbone.forward_tokens(
            g2_up, keep_ids=keep_ids, inter_only=True)['inter']
        pred = self.neck(visible, s_inter[:, :1], ids_restore, target_grid)
        losses['loss_csr'] = self.reconstruction_head.loss(pred, g2_up, mask)

        # CSS: search ref with g1 (region box) and rescaled l_{n-1} (its box)
        ref_size = ref.shape[-2:]
        inst_logits, roi_logits = self.search_head(
            [s_inter, s_roi['inter']], t_ref['inter'], t_ref['grid'])
        losses['loss_css_inst'] = self.search_head.loss(
            inst_logits, boxes_to_masks(boxes[:, 1], ref_size))
        losses['loss_css_roi'] = self.search_head.loss(
            roi_logits, boxes_to_masks(boxes[:, 0], ref_size))

        return {
            k: v * self.loss_weights[k[len('loss_'):]]
            for k, v in losses.items()
        }
