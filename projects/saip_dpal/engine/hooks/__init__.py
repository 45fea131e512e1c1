from .gate_loss_weight_hook import GateLossWeightHook

__all__ = ['GateLossWeightHook']
