"""Pack a dict of named views (:class:`CrowdCompositeViews`) as inputs."""
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackViews(PackInputs):
    """:class:`PackInputs` for a dict of views: each (H, W, 3) image (or
    list of images) under its name becomes a (3, H, W) tensor (or list of
    them) under the same name; ``default_collate`` then batches them by
    name and :class:`ViewsDataPreprocessor` normalises them."""

    @staticmethod
    def format_input(input_):
        if isinstance(input_, dict):
            return {k: PackViews.format_input(v) for k, v in input_.items()}
        return PackInputs.format_input(input_)
