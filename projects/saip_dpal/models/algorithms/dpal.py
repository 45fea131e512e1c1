"""DPAL: Dynamic Pattern Alignment Learning (distillation pretraining)."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.attention import unbind_qkv_attention
from ..utils.compile_blocks import compile_blocks, parse_compile
from ..utils.old_checkpoint_keys import old_key_renamer
from ..utils.optim_step_cosine_ema import OptimStepCosineEMA
from ..utils.reference_init import check_backbone_init, init_backbone
from ..utils.shape_mask import pca_shape_mask
from ..utils.checkpoint_loading import load_teacher_weights
from ..utils.teacher_precision import (check_teacher_dtype,
                                       store_matmul_weights_in_bfloat16,
                                       teacher_autocast, uses_bfloat16)
from ..utils.token_grid import (as_tokens, backbone_tokens,
                                resize_patch_tokens)
from ..utils.views_data_preprocessor import check_views, views_preprocessor

#: the gate targets of the three alignments: the pattern class the decoder's
#: gate is trained to predict for their tokens (the decoding itself mixes the
#: experts by the gate's softmax, whatever the target)
GLOBAL_TARGET, LOCAL_TARGET, RELATION_TARGET = 0, 1, 2
#: checkpoint key prefixes before the EMA copy was the momentum encoder
OLD_KEY_PREFIXES = (
    ('ema_backbone.module.', 'momentum_encoder.module.backbone.'),
    ('ema_backbone.', 'momentum_encoder.'),
)


def _drop_teacher_weights(module, state_dict, prefix, local_metadata):
    """State-dict hook: checkpoints leave the frozen teacher out (it is
    loaded from ``teacher_checkpoint``; PATH-L alone is 1.2 GB)."""
    for key in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
        del state_dict[key]


def _keep_teacher_weights(module, state_dict, prefix, *args):
    """Load-state-dict pre-hook: a checkpoint without teacher weights keeps
    the current (loaded) teacher, and strict loading still passes."""
    for key, value in module.teacher.state_dict().items():
        state_dict.setdefault(f'{prefix}teacher.{key}', value)


@MODELS.register_module()
class DPAL(BaseSelfSupervisor):
    """Distil a frozen human-centric teacher into a small student backbone.

    Inputs are the named views of :class:`CrowdCompositeViews`:
    ``global`` (B, 3, Hg, Wg), ``locals`` and ``pasted_local`` (the n local
    views, (B, 3, Hl, Wl) each) and ``crowd`` (B, 3, Hc, Wc). The teacher
    (no gradient, always ``eval()``) gives on ``global`` the cls target
    (B, 1, Ct), the shape mask (B, Np, 1) (batch PCA of its patch tokens)
    and its patch tokens, the local target under that mask; on ``crowd``
    its tokens (B, 1 + Nc, Ct) for the relation target. The student's
    final tokens (B, 1 + N, Cs) (Swin: pooled token first), with patch
    tokens resized to the teacher's grid, go through the pattern decoder
    (``neck``) three times: cls of global and locals (gate target 0),
    global patches (1), all crowd tokens (2).

    Losses: ``loss_global``, ``loss_local``, ``loss_relation``,
    ``loss_gate`` (``gate_loss_weight`` x gate cross-entropy; the weight is
    scheduled by :class:`GateLossWeightHook`) and ``loss_expert`` (expert
    regulariser), both averaged over the reference's 3 + n_local decoder
    calls (each view's cls is one call), so with two locals the global
    pattern weighs 3/5.

    Args:
        backbone (dict): Student backbone (mmpretrain ``VisionTransformer``
            with ``out_type='raw'`` or ``SwinTransformer``).
        neck (dict): :class:`DPALPatternDecoder` with ``out_channels`` = Ct.
        teacher (dict): Teacher backbone config: any mmpretrain ViT (with
            ``out_type='raw'``) or Swin, e.g. PATH / SOLIDER
            (``configs/_base_/models/teacher_*.py``) or a backbone this
            project pretrained.
        teacher_checkpoint (str, optional): The teacher's weights with
            mmpretrain keys, loaded weights-only and strictly in
            :meth:`init_weights`: a converted PATH / SOLIDER file
            (``tools/model_converters``), a file of
            ``extract_backbone.py``, or any model checkpoint with
            ``teacher_prefix``. None leaves the teacher random (tests,
            benchmarks) with a warning. State dicts (and so the Runner's
            checkpoints) leave the teacher out; loading one keeps the
            teacher as loaded from here.
        teacher_prefix (str, optional): Take the checkpoint's keys under
            this prefix, e.g. ``'backbone.'`` for an mmpretrain classifier
            or self-supervised checkpoint. Defaults to None (the keys as
            they are).
        loss_global, loss_local, loss_relation (dict): Loss configs.
        gate_loss_weight (float): Initial weight of the gate loss.
        shape_mask_sign (str): ``'reference'`` (scikit-learn's PCA sign) or
            ``'centre'`` (the person is high). See :func:`pca_shape_mask`.
        backbone_init (str): ``'reference'`` initialises a ViT student as
            the authors' code (:func:`reference_vit_init`); ``'default'``
            keeps the backbone's own. Swin students (no reference code)
            and backbones with a ``Pretrained`` init_cfg keep their own.
            Defaults to 'reference'.
        ema (dict, optional): Keep a momentum encoder, an
            :class:`OptimStepCosineEMA` copy of the student backbone
            (``momentum_encoder.module.backbone``; older checkpoints'
            ``ema_backbone.`` keys load into it), e.g.
            ``dict(momentum=0.004, end_momentum=0.)`` for decay 0.996 -> 1
            over all optimizer steps; updated by :class:`EMAUpdateHook` (its
            step count is saved, so the schedule continues on resume).
        teacher_dtype (str, optional): ``'bfloat16'`` runs the frozen
            teacher under bf16 autocast (inside an fp16 AMP step too), with
            its linear and convolution weights stored in bf16 from the first
            step on, and hands its tokens on in fp32; where the device has
            no fast bf16 (a CPU without AVX512-BF16 / AMX) it stays in the
            step's precision, as with None (the default). Fixed at
            construction. See docs/fidelity.md.
        compile (bool | dict): ``torch.compile`` the transformer blocks of
            the ``student`` and / or the ``teacher``: True for both, or e.g.
            ``dict(student=True, teacher=True, mode='max-autotune')`` (other
            keys are ``torch.compile`` options). Defaults to False.
        data_preprocessor (dict, optional): Defaults to
            ``SelfSupDataPreprocessor`` (set mean/std in the config).
        init_cfg (dict, optional): Initialisation config of the student.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 teacher: dict,
                 teacher_checkpoint: Optional[str] = None,
                 teacher_prefix: Optional[str] = None,
                 loss_global: dict = dict(type='DPALGlobalAlignLoss'),
                 loss_local: dict = dict(type='DPALLocalAlignLoss'),
                 loss_relation: dict = dict(type='DPALRelationAlignLoss'),
                 gate_loss_weight: float = 0.1,
                 shape_mask_sign: str = 'reference',
                 backbone_init: str = 'reference',
                 ema: Optional[dict] = None,
                 teacher_dtype: Optional[str] = None,
                 compile: Union[bool, dict] = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            data_preprocessor=views_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        unbind_qkv_attention(self.backbone)
        self.teacher = MODELS.build(teacher)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.teacher_checkpoint = teacher_checkpoint
        self.teacher_prefix = teacher_prefix
        self.loss_global = MODELS.build(loss_global)
        self.loss_local = MODELS.build(loss_local)
        self.loss_relation = MODELS.build(loss_relation)
        self.gate_loss_weight = float(gate_loss_weight)
        self.shape_mask_sign = shape_mask_sign
        self.backbone_init = check_backbone_init(backbone_init)
        self.momentum_encoder = None if ema is None else OptimStepCosineEMA(
            self._averaged(), **ema)
        self.teacher_dtype = check_teacher_dtype(teacher_dtype)
        self._teacher_weights_bf16 = False
        parts = dict(student=self.backbone, teacher=self.teacher)
        for part, options in parse_compile(compile, tuple(parts)).items():
            compile_blocks(parts[part], **options)
        # the teacher comes from teacher_checkpoint, not from our checkpoints
        self.register_state_dict_post_hook(_drop_teacher_weights)
        self.register_load_state_dict_pre_hook(_keep_teacher_weights)
        self.register_load_state_dict_pre_hook(
            old_key_renamer(OLD_KEY_PREFIXES))

    def _averaged(self) -> nn.ModuleDict:
        """The student parts the momentum encoder averages."""
        return nn.ModuleDict(dict(backbone=self.backbone))

    def init_weights(self) -> None:
        """Initialise the student, then load the teacher and start the EMA
        copy from the initialised student."""
        super().init_weights()
        init_backbone(self.backbone, self.backbone_init)
        if self.teacher_checkpoint is None:
            print_log(
                'DPAL teacher has no checkpoint: its weights are random',
                logger='current',
                level=30)
        else:
            report = load_teacher_weights(
                self.teacher, self.teacher_checkpoint, self.teacher_prefix)
            print_log(
                f'DPAL teacher: {report["loaded"]} tensors from '
                f'{report["source"]}', logger='current')
        if self.momentum_encoder is not None:
            self.momentum_encoder.module.load_state_dict(
                self._averaged().state_dict())

    def train(self, mode: bool = True) -> 'DPAL':
        """Train or eval the student; the teacher always stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    def update_ema(self) -> None:
        """Average the student backbone into the momentum encoder (no-op
        without one); :class:`EMAUpdateHook` calls it after each optimizer
        step."""
        if self.momentum_encoder is not None:
            self.momentum_encoder.update_parameters(self._averaged())

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Student tokens (B, 1 + N, Cs) of one batch of images."""
        return as_tokens(self.backbone(inputs))

    @torch.no_grad()
    def teacher_tokens(
            self, inputs: torch.Tensor) -> Tuple[torch.Tensor, tuple]:
        """Teacher tokens (B, 1 + h * w, Ct), cls (or pooled token) first,
        and their grid (h, w); fp32 when the teacher ran in bf16
        (``teacher_dtype``)."""
        device = inputs.device.type
        if uses_bfloat16(self.teacher_dtype, device) and \
                not self._teacher_weights_bf16:
            # frozen: its matmul weights can live in bf16 (half the memory)
            store_matmul_weights_in_bfloat16(self.teacher)
            self._teacher_weights_bf16 = True
        with teacher_autocast(self.teacher_dtype, device):
            tokens, grid = backbone_tokens(self.teacher, inputs)
        return (tokens if self.teacher_dtype is None else tokens.float(),
                grid)

    def _student_on_grid(self, inputs: torch.Tensor,
                         grid: tuple) -> torch.Tensor:
        """Student tokens with the patch tokens resized to ``grid``."""
        tokens, own = backbone_tokens(self.backbone, inputs)
        patches = resize_patch_tokens(tokens[:, 1:], own, grid)
        return torch.cat([tokens[:, :1], patches], dim=1)

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses of one batch of named views (see the class docstring)."""
        check_views('DPAL', inputs, ('global', 'pasted_local', 'crowd'))
        global_view, crowd = inputs['global'], inputs['crowd']
        local_views = [*inputs.get('locals', []), inputs['pasted_local']]
        B = global_view.shape[0]

        # teacher targets
        t_global, grid = self.teacher_tokens(global_view)
        t_crowd, crowd_grid = self.teacher_tokens(crowd)
        t_patches = t_global[:, 1:]
        mask = pca_shape_mask(t_patches, grid, sign=self.shape_mask_sign)

        # student
        s_global = self._student_on_grid(global_view, grid)
        # all local views share one size: one batched forward
        s_local_cls = self.extract_feat(torch.cat(local_views))[:, :1]
        s_crowd = self._student_on_grid(crowd, crowd_grid)

        cls_tokens = torch.cat([s_global[:, :1], s_local_cls])
        dec_global = self.neck(cls_tokens, GLOBAL_TARGET)
        dec_local = self.neck(s_global[:, 1:], LOCAL_TARGET)
        dec_relation = self.neck(s_crowd, RELATION_TARGET)
        decoded = (dec_global, dec_local, dec_relation)
        # the reference decodes each view's cls separately: 1 + n_local
        # calls for the global pattern, one each for local and relation;
        # the batched global call's means are per-call means, so pool them
        # weighted by their call counts
        calls = (1 + len(local_views), 1, 1)

        def pooled(key):
            return sum(n * d[key] for n, d in zip(calls, decoded)) / sum(calls)

        losses = dict(
            loss_global=self.loss_global(
                dec_global['out'].split(B), t_global[:, :1]),
            loss_local=self.loss_local(dec_local['out'], t_patches, mask),
            loss_relation=self.loss_relation(dec_relation['out'], t_crowd),
            loss_gate=self.gate_loss_weight * pooled('loss_gate'),
            loss_expert=pooled('loss_expert_reg'))
        return losses
