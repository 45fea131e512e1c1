"""Normalise a batch of named views."""
from typing import Dict, List, Optional, Union

import torch

from mmpretrain.models import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS

Views = Dict[str, Union[torch.Tensor, List[torch.Tensor]]]


@MODELS.register_module()
class ViewsDataPreprocessor(SelfSupDataPreprocessor):
    """:class:`SelfSupDataPreprocessor` for a dict of views (of
    :class:`PackViews`): ``{name: (B, 3, H, W) or a list of them}``, cast,
    channel-converted and normalised as that class does each view, and
    returned under the same names. A list of views (the layout of
    ``PackInputs``) is passed on as a list."""

    def forward(self, data: dict, training: bool = False) -> dict:
        views = data['inputs']
        if not isinstance(views, dict):
            return super().forward(data, training)
        names, flat = [], []
        for name, view in views.items():
            group = view if isinstance(view, list) else [view]
            names.append((name, len(group), isinstance(view, list)))
            flat += group
        out = super().forward(dict(data, inputs=flat), training)
        done, named = iter(out['inputs']), {}
        for name, n, is_list in names:
            group = [next(done) for _ in range(n)]
            named[name] = group if is_list else group[0]
        out['inputs'] = named
        return out


def check_views(algorithm: str, views, required: tuple) -> None:
    """Raise one line when ``views`` is not a dict holding ``required``."""
    if not isinstance(views, dict):
        raise TypeError(
            f'{algorithm} takes its views by name (a dict); got '
            f'{type(views).__name__}: end the pipeline with PackViews and '
            'use ViewsDataPreprocessor')
    missing = [name for name in required if name not in views]
    if missing:
        raise ValueError(f'{algorithm} needs the views {list(required)}; '
                         f'missing {missing} (got {list(views)})')


def views_preprocessor(cfg: Optional[dict]) -> dict:
    """The data preprocessor config of a views algorithm: ``cfg`` with its
    type defaulting to :class:`ViewsDataPreprocessor`."""
    return dict(dict(type='ViewsDataPreprocessor'), **(cfg or {}))
