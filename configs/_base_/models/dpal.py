# The DPAL algorithm around a student and a teacher chosen by the child
# config (model.backbone, model.teacher, model.neck.in/out_channels).
model = dict(
    type='DPAL',
    data_preprocessor=dict(
        type='ViewsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    neck=dict(
        type='DPALPatternDecoder',
        num_heads=16,
        gate_num_heads=12,
        expert_scale=256.,
        expert_reg_weight=0.025),
    teacher_checkpoint=None,
    # the frozen teacher in bf16 where the device has it (docs/fidelity.md)
    teacher_dtype='bfloat16',
    gate_loss_weight=0.1,
    shape_mask_sign='reference',
    ema=dict(momentum=0.004, end_momentum=0.))
