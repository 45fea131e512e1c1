"""Compose people onto backgrounds: multi-person scenes with occlusion and
single-person crops, followed by the per-image nuisance (lighting, colour,
blur, noise)."""
from dataclasses import dataclass

import cv2
import numpy as np

from .identity import sample_identity
from .person_renderer import PART, Canvas, keypoint_visibility, \
    person_extent, render_person
from .skeleton import pose_joints, sample_pose


@dataclass
class ScenePerson:
    """A person in a finished scene.

    Attributes:
        identity (Identity), pose (Pose), rendered (RenderedPerson).
        visibility (ndarray): (17,) COCO visibility (0 / 1 / 2).
    """
    identity: object
    pose: object
    rendered: object
    visibility: np.ndarray


@dataclass
class Scene:
    """A rendered image with its label maps.

    Attributes:
        image (ndarray): (H, W, 3) uint8 BGR after the nuisance.
        canvas (Canvas): clean colour and the part / LIP / owner maps.
        people (list[ScenePerson]): in drawing (back-to-front) order.
    """
    image: np.ndarray
    canvas: Canvas
    people: list

    def visible_mask(self, i):
        """(H, W) bool: pixels where person ``i`` (not its bag) shows."""
        c = self.canvas
        return (c.owner == self.people[i].rendered.owner) & (
            c.part != PART['bag'])


def camera_cast(rng):
    """Per-camera colour cast: (3,) BGR gains and a brightness factor."""
    return dict(gain=rng.uniform(0.8, 1.2, 3),
                brightness=rng.uniform(0.8, 1.15))


def apply_nuisance(img, rng, cast=None):
    """Brightness / contrast / colour jitter, a lighting gradient, blur and
    sensor noise; ``cast`` is a :func:`camera_cast`. Returns (H, W, 3) uint8.
    """
    h, w = img.shape[:2]
    x = img.astype(np.float32)
    gain = rng.uniform(0.92, 1.08, 3)
    bright = rng.uniform(0.75, 1.2)
    if cast is not None:
        gain = gain * cast['gain']
        bright *= cast['brightness']
    mean = float(x.mean())
    x = (x - mean) * rng.uniform(0.8, 1.15) + mean
    x *= (gain * bright).astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = (np.cos(ang) * (xx / w - 0.5) + np.sin(ang) * (yy / h - 0.5))
    x *= (1 + rng.uniform(0, 0.35) * g)[..., None]
    if rng.random() < 0.5:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.2))
    sigma = rng.uniform(0, 5)
    x += rng.normal(0, sigma, x.shape).astype(np.float32)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def _finish(rng, canvas, drawn, cast):
    people = [
        ScenePerson(ident, pose, r, keypoint_visibility(canvas, r))
        for ident, pose, r in drawn
    ]
    image = apply_nuisance(canvas.color, rng, cast)
    return Scene(image=image, canvas=canvas, people=people)


def random_person(rng, identity=None, facing=None):
    """An identity (random when None) and a pose that suits it."""
    if identity is None:
        identity = sample_identity(rng)
    hanging = identity.bag_side if identity.bag == 'handbag' else None
    return identity, sample_pose(rng, facing=facing, hanging_arm=hanging)


def compose_scene(rng, background, num_people, identities=None, cast=None):
    """A multi-person scene on ``background`` (H, W, 3).

    People stand on a ground plane: a random depth sets each one's height
    and foot line, the farthest is drawn first, so nearer people occlude
    farther ones. Some may be cut by the image border.

    Args:
        rng: numpy ``Generator``.
        background (ndarray): (H, W, 3) uint8.
        num_people (int): people to draw (0 gives an empty scene).
        identities (list | None): identities to use (random when None).
        cast (dict | None): :func:`camera_cast`.

    Returns:
        Scene
    """
    H, W = background.shape[:2]
    canvas = Canvas(background)
    placed = []
    for i in range(num_people):
        ident = identities[i] if identities is not None else None
        ident, pose = random_person(rng, ident)
        depth = rng.uniform(0, 1)
        height = H * (0.38 + 0.47 * depth) * rng.uniform(0.92, 1.08)
        sole = H * (0.35 + 0.65 * (0.32 + 0.72 * depth))
        ext = person_extent(pose_joints(pose, ident.body))
        for _ in range(20):
            cx = W * rng.uniform(0.04, 0.96)
            if all(abs(cx - px) >= 0.2 * max(height, ph)
                   for px, ph, *_ in placed):
                break
        pelvis = (cx, sole - ext[3] * height)
        placed.append((cx, height, depth, ident, pose, pelvis))
    placed.sort(key=lambda p: p[2])
    drawn = []
    for k, (_, height, _, ident, pose, pelvis) in enumerate(placed):
        r = render_person(canvas, ident, pose, height, pelvis, owner=k + 1)
        drawn.append((ident, pose, r))
    return _finish(rng, canvas, drawn, cast)


def person_crop(rng, background, identity=None, pose=None, fill=(0.8, 0.95),
                cast=None, bystander_prob=0.0, max_width=0.95):
    """A crop (the size of ``background``) filled by one person.

    The person's silhouette spans ``fill`` (a random fraction in that
    range) of the crop height, centred with a small jitter. With
    probability ``bystander_prob`` a partly visible second person stands
    behind, near a side.

    Returns:
        Scene: ``people[-1]`` is the main person.
    """
    H, W = background.shape[:2]
    canvas = Canvas(background)
    drawn = []
    if rng.random() < bystander_prob:
        b_ident, b_pose = random_person(rng)
        b_h = H * rng.uniform(0.7, 1.0)
        side = rng.choice([-1.0, 1.0])
        ext = person_extent(pose_joints(b_pose, b_ident.body))
        pelvis = (W / 2 + side * W * rng.uniform(0.45, 0.7),
                  H * rng.uniform(0.9, 1.05) - ext[3] * b_h)
        drawn.append((b_ident, b_pose,
                      render_person(canvas, b_ident, b_pose, b_h, pelvis, 1)))
    if identity is None or pose is None:
        identity, pose = random_person(rng, identity)
    x0, y0, x1, y1 = person_extent(pose_joints(pose, identity.body))
    scale = min(rng.uniform(*fill) * H / (y1 - y0),
                max_width * W / (x1 - x0))
    jx = rng.uniform(-0.04, 0.04) * W
    jy = rng.uniform(-0.03, 0.03) * H
    pelvis = (W / 2 - scale * (x0 + x1) / 2 + jx,
              H / 2 - scale * (y0 + y1) / 2 + jy)
    drawn.append((identity, pose,
                  render_person(canvas, identity, pose, scale, pelvis,
                                len(drawn) + 1)))
    return _finish(rng, canvas, drawn, cast)
