"""The model a hook works on, with or without a DDP wrapper."""
from mmengine.model import is_model_wrapper


def unwrap_model(runner):
    """``runner.model`` without its model wrapper (DDP and the like)."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model
