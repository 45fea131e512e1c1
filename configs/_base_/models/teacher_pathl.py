# DPAL teacher PATH-L (HumanBench ViT-L/16): an mmpretrain VisionTransformer.
# Weights: convert the released file first,
#   python tools/model_converters/path2mmpretrain.py SRC.pth DST.pth
# then load it with projects.saip_dpal.models.utils.load_teacher_weights
# (strict). The teacher keeps PATH's published 14x14 position grid
# (img_size 224); each forward resizes it directly to its input's grid
# (16x8 for the 256x128 global view, 16x16 for the 256x256 crowd view).
# Output at 256x128: one (B, 1 + 128, 1024) tensor, cls token first, every
# token after the final LayerNorm (identity affine: PATH releases no trained
# final norm, DPAL's teacher normalises with an untrained one).
# The one description of this teacher: the converter above checks its
# keys against this dict and the DPAL configs take it as their teacher.
teacher = dict(
    type='VisionTransformer',
    arch='l',
    img_size=(224, 224),
    patch_size=16,
    qkv_bias=True,
    norm_cfg=dict(type='LN', eps=1e-6),
    final_norm=True,
    with_cls_token=True,
    out_type='raw',
    out_indices=-1,
    drop_rate=0.,
    drop_path_rate=0.,
    interpolate_mode='bicubic')
