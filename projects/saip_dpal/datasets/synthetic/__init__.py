"""Deterministic synthetic articulated humans in the on-disk formats of
LUPerson, COCO keypoints, LIP, Market-1501 and PA-100K (the project's
embedded default data; nothing is downloaded)."""
from .backgrounds import BackgroundSampler, available_photos
from .generate import SUBSETS, format_summary, generate_synthetic_humans
from .identity import IDENTITY_ATTRIBUTES, Identity, attribute_distance, \
    sample_identities, sample_identity
from .pa100k_writer import ATTRIBUTES as PA100K_ATTRIBUTES
from .person_renderer import LIP_CLASSES, PARTS, Canvas, RenderedPerson, \
    keypoint_visibility, render_person
from .scene import Scene, apply_nuisance, compose_scene, person_crop
from .skeleton import COCO_SKELETON, FLIP_PAIRS, KEYPOINT_NAMES, SKELETON, \
    Body, Pose, pose_joints, sample_body, sample_pose

__all__ = [
    'generate_synthetic_humans', 'format_summary', 'SUBSETS',
    'BackgroundSampler',
    'available_photos', 'Identity', 'IDENTITY_ATTRIBUTES',
    'attribute_distance', 'sample_identity', 'sample_identities',
    'PA100K_ATTRIBUTES', 'LIP_CLASSES', 'PARTS', 'Canvas', 'RenderedPerson',
    'render_person', 'keypoint_visibility', 'Scene', 'compose_scene',
    'person_crop', 'apply_nuisance', 'KEYPOINT_NAMES', 'SKELETON',
    'COCO_SKELETON', 'FLIP_PAIRS', 'Body', 'Pose', 'sample_body',
    'sample_pose', 'pose_joints'
]
