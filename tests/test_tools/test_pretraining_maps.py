"""The pictures of a pretraining model on its views (make demo writes them):
DPAL's shape masks, SAIP's search maps and reconstructions; sizes, and the
reconstruction shows the kept patches as they are."""
import cv2
import numpy as np
from pretrain_helpers import (DPAL_DEMO, SAIP_DEMO, build_model, one_batch,
                              tiny_cfg, with_small_teacher)

from projects.saip_dpal.visualization import (saip_reconstructions,
                                              write_pretraining_maps)


def _model_and_views(config, synthetic_root):
    cfg = tiny_cfg(config, synthetic_root)
    if config == DPAL_DEMO:
        with_small_teacher(cfg)
    model = build_model(cfg)
    data = model.data_preprocessor(one_batch(cfg), False)
    return model, data['inputs'], data['data_samples']


def test_each_method_writes_its_pictures(synthetic_root, tmp_path):
    # two samples: global views 64x32, crowd views 64x64, SAIP's upscaled
    # second global view 80x32 (1.25x, rounded to the 16-pixel patches)
    want = {'DPAL_shape_masks.png': (2 * 66, 3 * 34, 3),
            'SAIP_search_maps.png': (2 * 66, 3 * 66, 3),
            'SAIP_reconstructions.png': (2 * 82, 3 * 34, 3)}
    for config, name in ((DPAL_DEMO, 'DPAL'), (SAIP_DEMO, 'SAIP')):
        model, views, samples = _model_and_views(config, synthetic_root)
        paths = write_pretraining_maps(model, views, samples,
                                       str(tmp_path / f'{name}_'))
        for path in paths:
            picture = cv2.imread(path)
            assert picture.shape == want[path.rsplit('/', 1)[1]], path
            assert picture.std() > 0, path
    assert len(list(tmp_path.iterdir())) == 3


def test_reconstruction_keeps_the_visible_patches(synthetic_root):
    model, views, _ = _model_and_views(SAIP_DEMO, synthetic_root)
    for target, seen, shown in saip_reconstructions(model, views):
        assert target.shape == seen.shape == shown.shape == (80, 32, 3)
        patches = [(slice(y, y + 16), slice(x, x + 16))
                   for y in range(0, 80, 16) for x in range(0, 32, 16)]
        kept = [p for p in patches
                if not np.all(seen[p] == seen[patches[0]][0, 0])]
        removed = [p for p in patches if p not in kept]
        # 25% kept (the anchor mask at mask_ratio 0.75), shown as they are
        assert 0 < len(kept) < len(removed)
        for p in kept:
            assert np.abs(shown[p].astype(int) - target[p]).max() <= 1
        # the removed ones are the decoder's, not the input
        assert any(np.abs(shown[p].astype(int) - target[p]).mean() > 1
                   for p in removed)
