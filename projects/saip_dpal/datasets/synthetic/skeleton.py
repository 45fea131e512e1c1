"""The 17 COCO keypoints, their skeleton, and articulated pose sampling.

Coordinates are image pixels, ``x`` to the right and ``y`` down. A person's
*left* is their own left: facing the camera (``facing='front'``) it appears
on the image right, seen from behind (``'back'``) on the image left.
"""
from dataclasses import dataclass

import numpy as np

KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                  'left_shoulder', 'right_shoulder', 'left_elbow',
                  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                  'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
KP = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

#: limbs as 0-based keypoint index pairs (COCO order)
SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11),
            (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1),
            (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
#: the same, 1-based, as written in COCO's ``categories[0]['skeleton']``
COCO_SKELETON = tuple((a + 1, b + 1) for a, b in SKELETON)
#: (left, right) index pairs swapped by a horizontal flip
FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14),
              (15, 16))

SIDES = ('left', 'right')


@dataclass(frozen=True)
class Body:
    """Body proportions, as fractions of the standing height (head top to
    sole). Sampled once per identity: ``build`` scales every width."""
    head_h: float = 0.13
    neck: float = 0.03
    torso: float = 0.30
    shoulder_w: float = 0.25
    hip_w: float = 0.17
    upper_arm: float = 0.17
    forearm: float = 0.15
    thigh: float = 0.24
    shin: float = 0.23
    build: float = 1.0


def sample_body(rng):
    """Random plausible proportions (``rng``: a numpy ``Generator``)."""
    legs = rng.uniform(0.94, 1.06)
    torso = rng.uniform(0.28, 0.31)
    return Body(
        head_h=rng.uniform(0.12, 0.14),
        neck=rng.uniform(0.025, 0.035),
        torso=torso,
        shoulder_w=rng.uniform(0.22, 0.27),
        hip_w=rng.uniform(0.15, 0.19),
        upper_arm=rng.uniform(0.16, 0.18),
        forearm=rng.uniform(0.14, 0.16),
        thigh=0.24 * legs,
        shin=0.23 * legs,
        build=rng.uniform(0.85, 1.2))


@dataclass(frozen=True)
class Pose:
    """Joint angles in radians, per side (index 0 = person's left).

    Limb angles are measured from straight down, positive away from the
    body's midline; ``*_fs`` are foreshortening factors (0..1] of limbs
    pointing towards or away from the camera.
    """
    facing: str          # 'front' or 'back'
    near: int            # side drawn in front of the torso (0 left, 1 right)
    lean: float          # torso rotation from vertical, + leans image-right
    head_tilt: float
    head_yaw: float      # horizontal shift of the face, fraction of head width
    shoulder: tuple      # upper-arm abduction per side
    elbow: tuple         # forearm angle relative to the upper arm, signed
    hip: tuple           # thigh abduction per side
    knee: tuple          # shin angle relative to the thigh, signed
    arm_fs: tuple        # (upper arm, forearm) foreshortening per side
    leg_fs: tuple        # (thigh, shin) foreshortening per side


def sample_pose(rng, facing=None, hanging_arm=None):
    """A random plausible standing / walking / gesturing pose.

    Args:
        rng: numpy ``Generator``.
        facing: 'front', 'back' or None (random, 70% front).
        hanging_arm: side index (0 left, 1 right) whose arm must hang down,
            e.g. the one holding a handbag; None for no constraint.
    """
    if facing is None:
        facing = 'front' if rng.random() < 0.7 else 'back'
    shoulder, elbow, arm_fs = [], [], []
    hip, knee, leg_fs = [], [], []
    for side in range(2):
        if side == hanging_arm:
            shoulder.append(rng.uniform(0.0, 0.3))
            elbow.append(rng.uniform(-0.3, 0.15))
        else:
            if rng.random() < 0.7:
                shoulder.append(rng.uniform(-0.2, 0.6))
            else:
                shoulder.append(rng.uniform(0.6, 2.6))
            elbow.append(rng.choice([-1.0, 1.0]) * rng.uniform(0.0, 2.0))
        arm_fs.append((rng.uniform(0.8, 1.0), rng.uniform(0.7, 1.0)))
        hip.append(rng.uniform(-0.08, 0.4))
        knee.append(rng.uniform(-0.35, 0.3))
        leg_fs.append((rng.uniform(0.85, 1.0), rng.uniform(0.85, 1.0)))
    return Pose(
        facing=facing,
        near=int(rng.integers(2)),
        lean=rng.uniform(-0.12, 0.12),
        head_tilt=rng.uniform(-0.15, 0.15),
        head_yaw=rng.uniform(-0.2, 0.2),
        shoulder=tuple(shoulder),
        elbow=tuple(elbow),
        hip=tuple(hip),
        knee=tuple(knee),
        arm_fs=tuple(arm_fs),
        leg_fs=tuple(leg_fs))


def _rot(v, a):
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def side_sign(pose, side):
    """Image-x direction (+1 right, -1 left) of the person's ``side``."""
    left = 1.0 if pose.facing == 'front' else -1.0
    return left if side == 0 else -left


def pose_joints(pose, body):
    """Joint positions of a person of height 1 with the pelvis at (0, 0).

    Returns:
        dict: ``keypoints`` (17, 2) in COCO order, and the extra
        construction points ``head`` (2,), ``head_axes`` (rx, ry),
        ``head_angle``, ``neck`` (2,), ``pelvis`` (2,), ``hand`` (2, 2) and
        ``toe`` (2, 2) per side, ``up`` (2,) the torso's up vector.
    """
    up = np.array([np.sin(pose.lean), -np.cos(pose.lean)])
    across = np.array([np.cos(pose.lean), np.sin(pose.lean)])  # image-right
    pelvis = np.zeros(2)
    neck = pelvis + up * body.torso
    head_ry = body.head_h / 2
    head_rx = head_ry * 0.78
    head_up = _rot(up, pose.head_tilt)
    head = neck + head_up * (body.neck + head_ry)
    head_across = np.array([-head_up[1], head_up[0]])

    kps = np.zeros((NUM_KEYPOINTS, 2))
    hand = np.zeros((2, 2))
    toe = np.zeros((2, 2))
    yaw = pose.head_yaw * head_rx
    kps[KP['nose']] = head + head_across * yaw - head_up * 0.22 * head_ry
    for side, name in enumerate(SIDES):
        sx = side_sign(pose, side)
        kps[KP[f'{name}_eye']] = (
            head + head_across * (yaw + sx * 0.4 * head_rx)
            + head_up * 0.08 * head_ry)
        kps[KP[f'{name}_ear']] = head + head_across * sx * 0.96 * head_rx
        shoulder = neck + across * sx * body.shoulder_w / 2 - up * 0.02
        hip = pelvis + across * sx * body.hip_w / 2
        kps[KP[f'{name}_shoulder']] = shoulder
        kps[KP[f'{name}_hip']] = hip
        down = -up
        # arm: angle from down, positive outward (towards sx)
        a_up = pose.shoulder[side]
        d_up = _rot(down, -sx * a_up)
        elbow = shoulder + d_up * body.upper_arm * pose.arm_fs[side][0]
        d_fo = _rot(d_up, -sx * pose.elbow[side])
        wrist = elbow + d_fo * body.forearm * pose.arm_fs[side][1]
        kps[KP[f'{name}_elbow']] = elbow
        kps[KP[f'{name}_wrist']] = wrist
        hand[side] = wrist + d_fo * 0.035
        d_th = _rot(np.array([0.0, 1.0]), -sx * pose.hip[side])
        knee = hip + d_th * body.thigh * pose.leg_fs[side][0]
        d_sh = _rot(d_th, -sx * pose.knee[side])
        ankle = knee + d_sh * body.shin * pose.leg_fs[side][1]
        kps[KP[f'{name}_knee']] = knee
        kps[KP[f'{name}_ankle']] = ankle
        toe[side] = ankle + np.array([sx * 0.012, 0.03])
    return dict(
        keypoints=kps,
        head=head,
        head_axes=(head_rx, head_ry),
        head_angle=float(np.arctan2(head_across[1], head_across[0])),
        neck=neck,
        pelvis=pelvis,
        hand=hand,
        toe=toe,
        up=up)


def transform_joints(joints, scale, offset):
    """Scale a :func:`pose_joints` result by ``scale`` pixels per height
    and translate it by ``offset`` (2,)."""
    out = {}
    offset = np.asarray(offset, dtype=np.float64)
    for key, val in joints.items():
        if key in ('keypoints', 'head', 'neck', 'pelvis', 'hand', 'toe'):
            out[key] = np.asarray(val) * scale + offset
        elif key == 'head_axes':
            out[key] = (val[0] * scale, val[1] * scale)
        else:
            out[key] = val
    return out
