"""Load checkpoints written before a module was renamed."""
from typing import Callable, Sequence, Tuple


def old_key_renamer(renames: Sequence[Tuple[str, str]]) -> Callable:
    """A load-state-dict pre-hook that renames keys starting with an old
    prefix to the new one (the first matching pair wins), so state dicts
    with the old keys still load strictly."""

    def hook(module, state_dict, prefix, *args) -> None:
        for key in list(state_dict):
            for old, new in renames:
                if key.startswith(prefix + old):
                    rest = key[len(prefix + old):]
                    state_dict[prefix + new + rest] = state_dict.pop(key)
                    break

    return hook
