from .ema_update_hook import EMAUpdateHook
from .gate_loss_weight_hook import GateLossWeightHook

__all__ = ['EMAUpdateHook', 'GateLossWeightHook']
