from .attribute_pos_ratio_hook import AttributePositiveRatioHook
from .divergence_guard_hook import DivergenceGuardHook
from .ema_update_hook import EMAUpdateHook
from .gate_loss_weight_hook import GateLossWeightHook
from .resume_state_hook import ResumeStateHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .signal_checkpoint_hook import SignalCheckpointHook
from .teacher_temperature_hook import TeacherTemperatureHook

__all__ = [
    'AttributePositiveRatioHook', 'DivergenceGuardHook', 'EMAUpdateHook',
    'GateLossWeightHook', 'ResumeStateHook', 'SafeCheckpointHook',
    'SignalCheckpointHook', 'TeacherTemperatureHook'
]
