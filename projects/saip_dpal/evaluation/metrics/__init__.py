from .attribute_metric import AttributeMetric, attribute_mean_accuracy
from .reid_metric import ReIDMetric, reid_map_cmc

__all__ = [
    'AttributeMetric', 'ReIDMetric', 'attribute_mean_accuracy', 'reid_map_cmc'
]
