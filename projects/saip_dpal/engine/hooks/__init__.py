from .attribute_pos_ratio_hook import AttributePositiveRatioHook
from .ema_update_hook import EMAUpdateHook
from .gate_loss_weight_hook import GateLossWeightHook
from .teacher_temperature_hook import TeacherTemperatureHook

__all__ = [
    'AttributePositiveRatioHook', 'EMAUpdateHook', 'GateLossWeightHook',
    'TeacherTemperatureHook'
]
