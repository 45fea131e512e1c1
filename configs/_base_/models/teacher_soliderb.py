# DPAL teacher SOLIDER-B (Swin-B with SOLIDER's semantic controller).
# Weights: convert the released file first,
#   python tools/model_converters/solider2mmpretrain.py SRC.pth DST.pth
# then load it with projects.saip_dpal.models.utils.load_teacher_weights.
# Output: one (B, 1 + 32, 1024) tensor at 256x128: the average-pooled normed
# token first (DPAL's cls for a Swin teacher), then the normed 8x4 last-stage
# tokens. semantic_weight 0.0 is SOLIDER's default and DPAL's choice.
# The one description of this teacher: the converter above checks its
# keys against this dict and the DPAL configs take it as their teacher.
teacher = dict(
    type='SOLIDERSwinTransformer',
    arch='base',
    img_size=(256, 128),
    patch_size=4,
    window_size=7,
    semantic_weight=0.0,
    out_indices=(3, ),
    out_type='tokens_with_pooled_cls',
    pad_small_map=True,
    norm_cfg=dict(type='LN'),
    drop_rate=0.,
    drop_path_rate=0.)
