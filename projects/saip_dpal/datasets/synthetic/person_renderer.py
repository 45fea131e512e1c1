"""Draw one articulated, clothed person onto a :class:`Canvas`.

Every shape is a polygon filled with cv2 into four aligned maps: the colour
image, a body-part map (:data:`PARTS`), a LIP class map
(:data:`LIP_CLASSES`) and an owner map (which person drew the pixel).
Drawing persons one after the other is a painter's z-buffer: a later person
overwrites an earlier one, and a keypoint whose pixel no longer shows one of
its own body parts is occluded.
"""
from dataclasses import dataclass, field

import cv2
import numpy as np

from .skeleton import KP, NUM_KEYPOINTS, SIDES, pose_joints, \
    transform_joints

#: LIP's 20 classes in id order (as mmseg's ``LIPDataset.METAINFO``)
LIP_CLASSES = ('Background', 'Hat', 'Hair', 'Glove', 'Sunglasses',
               'UpperClothes', 'Dress', 'Coat', 'Socks', 'Pants', 'Jumpsuits',
               'Scarf', 'Skirt', 'Face', 'Left-arm', 'Right-arm', 'Left-leg',
               'Right-leg', 'Left-shoe', 'Right-shoe')
LIP = {name: i for i, name in enumerate(LIP_CLASSES)}

#: body-part ids of the part map (0 = nothing drawn); the limb parts come
#: in (left, right) pairs, left = the person's own left
PARTS = ('none', 'face', 'hair', 'hat', 'ear', 'neck', 'torso', 'skirt',
         'bag', 'left_upper_arm', 'left_forearm', 'left_hand', 'left_thigh',
         'left_shin', 'left_foot', 'right_upper_arm', 'right_forearm',
         'right_hand', 'right_thigh', 'right_shin', 'right_foot')
PART = {name: i for i, name in enumerate(PARTS)}


def _allowed_parts():
    """For each keypoint, the part ids that show it when it is visible."""
    table = [None] * NUM_KEYPOINTS
    for name in ('nose', 'left_eye', 'right_eye'):
        table[KP[name]] = {PART['face']}
    for name in ('left_ear', 'right_ear'):
        table[KP[name]] = {PART['face'], PART['hair'], PART['ear']}
    for s in SIDES:
        table[KP[f'{s}_shoulder']] = {PART['torso'], PART[f'{s}_upper_arm']}
        table[KP[f'{s}_elbow']] = {
            PART[f'{s}_upper_arm'], PART[f'{s}_forearm']}
        table[KP[f'{s}_wrist']] = {PART[f'{s}_forearm'], PART[f'{s}_hand']}
        table[KP[f'{s}_hip']] = {
            PART['torso'], PART['skirt'], PART[f'{s}_thigh']}
        table[KP[f'{s}_knee']] = {
            PART['skirt'], PART[f'{s}_thigh'], PART[f'{s}_shin']}
        table[KP[f'{s}_ankle']] = {PART[f'{s}_shin'], PART[f'{s}_foot']}
    return tuple(frozenset(t) for t in table)


KEYPOINT_PARTS = _allowed_parts()


class Canvas:
    """Render target of a scene.

    Attributes:
        color (ndarray): (H, W, 3) uint8 BGR image.
        part (ndarray): (H, W) uint8 :data:`PARTS` ids.
        seg (ndarray): (H, W) uint8 :data:`LIP_CLASSES` ids.
        owner (ndarray): (H, W) int16, 0 background, k = k-th person drawn.
    """

    def __init__(self, background):
        self.color = np.ascontiguousarray(background, dtype=np.uint8).copy()
        h, w = self.color.shape[:2]
        self.part = np.zeros((h, w), np.uint8)
        self.seg = np.zeros((h, w), np.uint8)
        self.owner = np.zeros((h, w), np.int16)

    @property
    def shape(self):
        return self.color.shape[:2]


@dataclass
class RenderedPerson:
    """What :func:`render_person` drew.

    Attributes:
        owner (int): id written into ``Canvas.owner``.
        keypoints (ndarray): (17, 2) float64 image coordinates.
        amodal_box (tuple | None): (x0, y0, x1, y1) pixel box (exclusive
            end) of the whole silhouette without bags, clipped to the
            image; None when nothing is inside the image.
        amodal_area (int): pixels of that silhouette inside the image.
        drawn (dict): attributes as rendered (e.g. ``logo`` is only drawn
            on the front).
    """
    owner: int
    keypoints: np.ndarray
    amodal_box: tuple = None
    amodal_area: int = 0
    drawn: dict = field(default_factory=dict)


# ----------------------------------------------------------- proportions
# Every size of a drawn shape, in one place. Each field names its unit:
#   u       the width unit, height * Body.build: a broader build widens
#           limbs, torso and bags alike;
#   h       the person's height in pixels (head top to sole);
#   rx, ry  the head's half-width and half-height;
#   px      pixels.
# A field ending in ``_at`` is a position along a segment (0 at its start,
# 1 at its end); a ``*_shade`` scales a colour (below 1 darkens it).


@dataclass(frozen=True)
class ArmProportions:
    """Arm capsules (shoulder -> elbow -> wrist) and the hand."""
    upper_r: float = 0.026     # upper-arm radius at the shoulder (u)
    elbow_r: float = 0.021     # arm radius at the elbow (u)
    cap_inset: float = 0.5     # shoulder end moved down the arm (upper_r)
    fore_r0: float = 0.98      # forearm radius at the elbow (elbow_r)
    fore_r1: float = 0.8       # forearm radius at the wrist (elbow_r)
    sleeve_at: float = 0.5     # short sleeve ends here, shoulder -> elbow
    sleeve_r0: float = 1.12    # short-sleeve radius at the shoulder (upper_r)
    sleeve_r1: float = 1.05    # short-sleeve radius at its end (upper_r)
    hand_rx: float = 0.024     # hand half-width (u)
    hand_ry: float = 0.03      # hand half-length (h)


@dataclass(frozen=True)
class LegProportions:
    """Leg capsules (hip -> knee -> ankle), shorts and the shoe."""
    thigh_r: float = 0.043     # radius at the hip (u)
    knee_r: float = 0.032      # radius at the knee (u)
    ankle_r: float = 0.022     # radius at the ankle (u)
    trouser_ease: float = 1.1  # trouser legs: every radius times this
    shorts_at: float = 0.6     # shorts end here, hip -> knee
    shorts_r0: float = 1.12    # shorts radius at the hip (thigh_r)
    shorts_r1: float = 1.02    # shorts radius at their hem (thigh_r)
    shoe_rx: float = 0.03      # shoe half-width (u)
    shoe_ry: float = 0.022     # shoe half-length (h)


@dataclass(frozen=True)
class TorsoProportions:
    """Neck, the torso hexagon and the rounded shoulders over it."""
    neck_r: float = 0.028      # neck radius (u)
    neck_half: float = 0.03    # neck reaches this far above / below (h)
    shoulder_out: float = 0.012  # shoulder corner beyond the joint (u)
    shoulder_up: float = 0.012   # ... and above it (h)
    hip_out: float = 0.03      # hip corner beyond the hip joint (u)
    waist_at: float = 0.62     # waist corner, shoulder -> hip corner
    waist_in: float = 0.04     # waist corner pulled towards the other
    #                            shoulder corner (that distance)
    cap_up: float = 0.004      # rounded-shoulder centre above the joint (h)
    cap_rx: float = 0.03       # rounded-shoulder half-width (u)
    cap_ry: float = 0.016      # rounded-shoulder half-height (h)


@dataclass(frozen=True)
class LowerProportions:
    """The lower garment's top: trousers / shorts or a skirt."""
    waistband_at: float = 0.78  # its top edge, shoulder -> hip corner
    seat_up: float = 0.02      # trousers / shorts: bottom edge above the
    #                            hip corners (h)
    hem_up: float = 0.04       # skirt hem above the knees' midpoint (h)
    flare: float = 0.085       # skirt hem half-width beyond half the hip
    #                            width (u)


@dataclass(frozen=True)
class LogoProportions:
    """The chest logo: a ring in the pattern colour."""
    up: float = 0.06           # centre above the torso's middle (h)
    r: float = 0.035           # outer radius (u)
    hole_r: float = 0.017      # radius of the garment-coloured hole (u)


@dataclass(frozen=True)
class HeadProportions:
    """Face, ears, face features and hat, relative to the head ellipse."""
    face_down: float = 0.17    # face centre below the head centre (ry)
    face_rx: float = 0.86      # (rx)
    face_ry: float = 0.8       # (ry)
    ear_rx: float = 0.16       # (rx)
    ear_ry: float = 0.22       # (ry)
    eye_rx: float = 0.12       # (rx)
    eye_ry: float = 0.07       # (ry)
    eye_color: tuple = (30, 25, 25)  # BGR
    nose_rx: float = 0.07      # (rx)
    nose_ry: float = 0.06      # (ry)
    nose_shade: float = 0.35   # of the skin
    mouth_down: float = 0.3    # mouth centre below the nose (ry)
    mouth_rx: float = 0.22     # (rx)
    mouth_ry: float = 0.05     # (ry)
    mouth_shade: float = 0.55  # of the skin
    hat_up: float = 0.3        # crown / brim centre above the head centre
    #                            (ry)
    crown_rx: float = 1.05     # (rx)
    crown_ry: float = 0.95     # (ry)
    brim_rx: float = 1.45      # (rx)
    brim_ry: float = 0.12      # (ry)


@dataclass(frozen=True)
class BackpackProportions:
    """Backpack box (behind the torso) and its two shoulder straps."""
    up: float = 0.04           # centre above the torso's middle (h)
    width: float = 0.27        # (u)
    height: float = 0.24       # (h)
    strap_at: float = 0.22     # strap top, shoulder corner -> other one
    strap_len: float = 0.17    # straps run this far down the chest (h)
    strap_r: float = 0.011     # (u)
    strap_shade: float = 0.8   # of the bag colour


@dataclass(frozen=True)
class ShoulderBagProportions:
    """Shoulder bag at one hip, its strap across the chest / back."""
    strap_r: float = 0.008     # (u)
    strap_end_up: float = 0.03  # strap end above the other hip corner (h)
    strap_shade: float = 0.8   # of the bag colour
    out: float = 0.02          # bag centre beyond the hip corner (u)
    up: float = 0.02           # ... and above it (h)
    width: float = 0.1         # (u)
    height: float = 0.09       # (h)


@dataclass(frozen=True)
class HandbagProportions:
    """Handbag hanging from one hand by a short handle."""
    handle_len: float = 0.065  # hand -> handle end, along the hand (h)
    handle_r: float = 0.006    # (u)
    handle_shade: float = 0.7  # of the bag colour
    down: float = 0.02         # bag centre below the handle end (h)
    width: float = 0.13        # (u)
    height: float = 0.09       # (h)


@dataclass(frozen=True)
class PatternProportions:
    """Upper-garment stripes and plaid (the period follows the size)."""
    period: float = 0.045      # repeat length (h)
    min_period: float = 4.0    # ... but at least this (px)
    plaid_div: int = 4         # plaid lines are period / plaid_div wide
    min_plaid_line: float = 1.5  # ... but at least this (px)


@dataclass(frozen=True)
class ExtentMargins:
    """:func:`person_extent` margins around the joints (height-1 units)."""
    head_top: float = 1.45     # head top above the head centre (ry)
    side: float = 0.06         # left / right margin
    top: float = 0.01
    bottom: float = 0.03


ARM = ArmProportions()
LEG = LegProportions()
TORSO = TorsoProportions()
LOWER = LowerProportions()
LOGO = LogoProportions()
HEAD = HeadProportions()
BACKPACK = BackpackProportions()
SHOULDER_BAG = ShoulderBagProportions()
HANDBAG = HandbagProportions()
PATTERN = PatternProportions()
EXTENT = ExtentMargins()
#: every proportion table by name
PROPORTIONS = dict(arm=ARM, leg=LEG, torso=TORSO, lower=LOWER, logo=LOGO,
                   head=HEAD, backpack=BACKPACK, shoulder_bag=SHOULDER_BAG,
                   handbag=HANDBAG, pattern=PATTERN, extent=EXTENT)
#: a filled shape's one-pixel outline: its colour times this
OUTLINE_SHADE = 0.6
#: pixels drawn around the person's extent box (stroke and rounding slack)
ROI_PAD = 2
#: shortest vector :func:`_unit` normalises (shorter ones divide by it)
_EPS = 1e-6


# ---------------------------------------------------------------- shapes
def ellipse_poly(center, rx, ry, angle=0.0, t0=0.0, t1=2 * np.pi, n=28):
    """(n, 2) points on an ellipse arc (angles in radians)."""
    t = np.linspace(t0, t1, n)
    c, s = np.cos(angle), np.sin(angle)
    x, y = rx * np.cos(t), ry * np.sin(t)
    return np.stack([c * x - s * y, s * x + c * y], 1) + np.asarray(center)


def capsule_poly(p, q, r0, r1, n=10):
    """(2n, 2) outline of a tapered capsule from ``p`` (radius ``r0``) to
    ``q`` (radius ``r1``)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    length = np.hypot(*d)
    d = d / length if length > _EPS else np.array([0.0, 1.0])
    nrm = np.array([-d[1], d[0]])
    t = np.linspace(np.pi / 2, -np.pi / 2, n)
    arc_q = q + r1 * (np.outer(np.cos(t), d) + np.outer(np.sin(t), nrm))
    t = np.linspace(-np.pi / 2, np.pi / 2, n)
    arc_p = p + r0 * (np.outer(-np.cos(t), d) + np.outer(np.sin(t), nrm))
    return np.concatenate([arc_q, arc_p])


def rect_poly(center, width, height, angle=0.0):
    """(4, 2) corners of a ``width`` x ``height`` box rotated by
    ``angle``."""
    c, s = np.cos(angle), np.sin(angle)
    half = np.array([[-width, -height], [width, -height], [width, height],
                     [-width, height]]) / 2
    return half @ np.array([[c, s], [-s, c]]) + center


def _mid(a, b):
    """Midpoint of ``a`` and ``b``."""
    return 0.5 * (a + b)


def _unit(v):
    """``v`` scaled to length 1 (a near-zero ``v`` stays near zero)."""
    return v / max(np.hypot(*v), _EPS)


def _along(p, q):
    """Ellipse angle that points the ellipse's y axis from ``p`` to
    ``q``."""
    return np.arctan2(*(q - p)[::-1]) + np.pi / 2


def _shade(color, f):
    return tuple(int(min(255, max(0, c * f))) for c in color)


class _Painter:
    """Fills polygons into the region of interest of a :class:`Canvas`."""

    def __init__(self, canvas, roi, owner):
        self.x0, self.y0, x1, y1 = roi
        sl = (slice(self.y0, y1), slice(self.x0, x1))
        self.color = canvas.color[sl]
        self.part = canvas.part[sl]
        self.seg = canvas.seg[sl]
        self.owner_map = canvas.owner[sl]
        self.owner = owner
        self.amodal = np.zeros(self.part.shape, bool)
        self._kernel = np.ones((3, 3), np.uint8)

    def mask(self, poly):
        m = np.zeros(self.part.shape, np.uint8)
        pts = np.round((np.asarray(poly) - (self.x0, self.y0)) * 4)
        cv2.fillPoly(m, [pts.astype(np.int32)], 1, cv2.LINE_8, shift=2)
        return m

    def fill(self, poly, part, seg, color, outline=True):
        """Draw ``poly`` as ``part`` / ``seg``; ``color`` is a BGR tuple or
        an ROI-sized (h, w, 3) texture. Returns the bool mask drawn."""
        m8 = self.mask(poly)
        m = m8.astype(bool)
        if not m.any():
            return m
        if isinstance(color, np.ndarray):
            self.color[m] = color[m]
            base = tuple(int(c) for c in color[m][0])
        else:
            self.color[m] = color
            base = color
        if outline:
            edge = m & ~cv2.erode(m8, self._kernel).astype(bool)
            self.color[edge] = _shade(base, OUTLINE_SHADE)
        self.part[m] = part
        self.seg[m] = seg
        self.owner_map[m] = self.owner
        if part != PART['bag']:
            self.amodal |= m
        return m

    def paint(self, poly, color, within=None):
        """Colour only (labels unchanged), inside ``within`` if given."""
        m = self.mask(poly).astype(bool)
        if within is not None:
            m &= within
        self.color[m] = color

    def amodal_extent(self):
        """(box, area) of the silhouette drawn so far, bags excluded: the
        image-coordinate box (x0, y0, x1, y1) with exclusive end and its
        pixel count; (None, 0) when nothing was drawn."""
        ys, xs = np.nonzero(self.amodal)
        if not len(xs):
            return None, 0
        box = (self.x0 + int(xs.min()), self.y0 + int(ys.min()),
               self.x0 + int(xs.max()) + 1, self.y0 + int(ys.max()) + 1)
        return box, int(len(xs))


def _garment_texture(identity, shape, origin, unit):
    """(h, w, 3) texture of the upper garment in ROI coordinates.

    ``origin``: image position of the ROI's top-left; ``unit``: person
    height in pixels (the pattern period follows the person's size).
    """
    h, w = shape
    base = np.array(identity.bgr('upper'), np.uint8)
    tex = np.empty((h, w, 3), np.uint8)
    tex[:] = base
    pat = identity.upper_pattern
    if pat in ('stripes', 'plaid'):
        period = max(PATTERN.min_period, PATTERN.period * unit)
        yy = np.arange(h)[:, None] + origin[1]
        xx = np.arange(w)[None, :] + origin[0]
        if pat == 'stripes':  # bands half a period tall
            band = (np.floor(yy / (period / 2)) % 2 == 1) & (xx == xx)
        else:
            wid = max(PATTERN.min_plaid_line, period / PATTERN.plaid_div)
            band = (yy % period < wid) | (xx % period < wid)
        tex[band] = identity.bgr('pattern')
    return tex


def person_extent(joints):
    """(x0, y0, x1, y1) approximate silhouette box of a height-1 person."""
    kps = joints['keypoints']
    rx, ry = joints['head_axes']
    pts = np.concatenate([
        kps, joints['hand'], joints['toe'],
        [joints['head'] + (0, -ry * EXTENT.head_top),
         joints['head'] + (rx, 0), joints['head'] - (rx, 0)]
    ])
    m = EXTENT.side
    return (pts[:, 0].min() - m, pts[:, 1].min() - EXTENT.top,
            pts[:, 0].max() + m, pts[:, 1].max() + EXTENT.bottom)


def _roi(extent, height, offset, shape):
    """Pixel box (x0, y0, x1, y1), exclusive end, around a person whose
    height-1 :func:`person_extent` is ``extent``, clipped to a canvas of
    ``shape`` (H, W); None when it misses the canvas."""
    ext = np.array(extent) * height
    ext += (offset[0], offset[1], offset[0], offset[1])
    H, W = shape
    x0 = max(0, int(np.floor(ext[0])) - ROI_PAD)
    y0 = max(0, int(np.floor(ext[1])) - ROI_PAD)
    x1 = min(W, int(np.ceil(ext[2])) + ROI_PAD + 1)
    y1 = min(H, int(np.ceil(ext[3])) + ROI_PAD + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


# ---------------------------------------------------------------- person
class _PersonPainter:
    """Draws the parts of one person, one method per part, through a
    :class:`_Painter`.

    Holds what the parts share: the identity and its colours, the pose,
    the joints in image coordinates (``j``, ``kps``, ``up`` the torso's up
    vector), the height ``h`` and width unit ``u`` in pixels, and the
    torso outline's corners (:meth:`_torso_corners`).
    """

    def __init__(self, painter, identity, pose, joints, height):
        self.pt = painter
        self.identity = identity
        self.pose = pose
        self.j = joints
        self.kps = joints['keypoints']
        self.up = joints['up']
        self.h = height
        self.u = height * identity.body.build
        self.skin = identity.bgr('skin')
        self.upper = _garment_texture(identity, painter.part.shape,
                                      (painter.x0, painter.y0), height)
        self.lower = identity.bgr('lower')
        self.bag_color = identity.bgr('bag')
        self.head_c = joints['head']
        self.rx, self.ry = joints['head_axes']
        self.head_angle = ang = joints['head_angle']
        self.head_up = np.array([np.sin(ang), -np.cos(ang)])
        self.corners = self._torso_corners()
        self.torso_mid = _mid(_mid(self.kp('left_shoulder'),
                                   self.kp('right_shoulder')),
                              _mid(self.kp('left_hip'), self.kp('right_hip')))
        self.torso_mask = None  # set by torso(), clips straps and logo

    def kp(self, name):
        """Image position of keypoint ``name``."""
        return self.kps[KP[name]]

    def _torso_corners(self):
        """Per side, the torso outline's (shoulder, hip) corners: the
        joints pushed outwards, the shoulder corner also upwards."""
        ls, rs = self.kp('left_shoulder'), self.kp('right_shoulder')
        lh, rh = self.kp('left_hip'), self.kp('right_hip')
        u, h, up = self.u, self.h, self.up
        corners = {}
        for side, (s, hip) in enumerate(((ls, lh), (rs, rh))):
            out = _unit(s - (rs if side == 0 else ls))
            corners[side] = (
                s + out * TORSO.shoulder_out * u - up * TORSO.shoulder_up * h,
                hip + out * TORSO.hip_out * u)
        return corners

    def _waistband(self):
        """Left and right ends of the lower garment's top edge."""
        return tuple(top + LOWER.waistband_at * (hip - top)
                     for top, hip in (self.corners[0], self.corners[1]))

    # ---- limbs
    def arm(self, side):
        """Upper arm, forearm and hand of ``side`` (0 left): in the upper
        garment with long sleeves, else skin under a short sleeve."""
        name, u = SIDES[side], self.u
        sh, el, wr = (self.kp(f'{name}_{k}')
                      for k in ('shoulder', 'elbow', 'wrist'))
        r_up, r_lo = ARM.upper_r * u, ARM.elbow_r * u
        arm_id = LIP['Left-arm'] if side == 0 else LIP['Right-arm']
        p_up, p_fo = PART[f'{name}_upper_arm'], PART[f'{name}_forearm']
        long = self.identity.sleeve == 'long'
        seg = LIP['UpperClothes'] if long else arm_id
        look = self.upper if long else self.skin
        # the round cap ends near the shoulder line
        sh = sh + _unit(el - sh) * ARM.cap_inset * r_up
        self.pt.fill(capsule_poly(sh, el, r_up, r_lo), p_up, seg, look)
        if not long:
            sleeve_end = sh + ARM.sleeve_at * (el - sh)
            self.pt.fill(capsule_poly(sh, sleeve_end, r_up * ARM.sleeve_r0,
                                      r_up * ARM.sleeve_r1),
                         p_up, LIP['UpperClothes'], self.upper)
        self.pt.fill(capsule_poly(el, wr, r_lo * ARM.fore_r0,
                                  r_lo * ARM.fore_r1), p_fo, seg, look)
        hand = self.j['hand'][side]
        self.pt.fill(ellipse_poly(hand, ARM.hand_rx * u, ARM.hand_ry * self.h,
                                  _along(wr, hand)),
                     PART[f'{name}_hand'], arm_id, self.skin)

    def leg(self, side):
        """Thigh, shin and shoe of ``side`` (0 left): trousers, skin under
        shorts, or bare skin (under a skirt)."""
        name, u = SIDES[side], self.u
        hp, kn, an = (self.kp(f'{name}_{k}') for k in ('hip', 'knee', 'ankle'))
        r_th, r_kn, r_an = LEG.thigh_r * u, LEG.knee_r * u, LEG.ankle_r * u
        leg_id = LIP['Left-leg'] if side == 0 else LIP['Right-leg']
        p_th, p_sh = PART[f'{name}_thigh'], PART[f'{name}_shin']
        trousers = self.identity.lower_type == 'trousers'
        ease = LEG.trouser_ease if trousers else 1.0
        seg = LIP['Pants'] if trousers else leg_id
        look = self.lower if trousers else self.skin
        self.pt.fill(capsule_poly(hp, kn, r_th * ease, r_kn * ease), p_th,
                     seg, look)
        if self.identity.lower_type == 'shorts':
            end = hp + LEG.shorts_at * (kn - hp)
            self.pt.fill(capsule_poly(hp, end, r_th * LEG.shorts_r0,
                                      r_th * LEG.shorts_r1),
                         p_th, LIP['Pants'], self.lower)
        self.pt.fill(capsule_poly(kn, an, r_kn * ease, r_an * ease), p_sh,
                     seg, look)
        toe = self.j['toe'][side]
        shoe = LIP['Left-shoe'] if side == 0 else LIP['Right-shoe']
        self.pt.fill(ellipse_poly(_mid(an, toe), LEG.shoe_rx * u,
                                  LEG.shoe_ry * self.h, _along(an, toe)),
                     PART[f'{name}_foot'], shoe, self.identity.bgr('shoe'))

    # ---- trunk
    def neck(self):
        """A capsule across the neck point, drawn as LIP 'Face'."""
        r, half = TORSO.neck_r * self.u, self.up * TORSO.neck_half * self.h
        neck = self.j['neck']
        self.pt.fill(capsule_poly(neck + half, neck - half, r, r),
                     PART['neck'], LIP['Face'], self.skin)

    def torso(self):
        """The upper garment's hexagon (shoulders, slightly narrower waist,
        hips); keeps its mask as ``torso_mask``."""
        c = self.corners
        waist = {}
        for side in (0, 1):
            top, hip = c[side]
            waist[side] = (top + TORSO.waist_at * (hip - top)
                           + (c[1 - side][0] - top) * TORSO.waist_in)
        poly = np.array([c[0][0], c[1][0], waist[1], c[1][1], c[0][1],
                         waist[0]])
        self.torso_mask = self.pt.fill(poly, PART['torso'],
                                       LIP['UpperClothes'], self.upper)

    def shoulder_caps(self):
        """Round the torso's shoulders with unoutlined ellipses."""
        for side in (0, 1):
            sh = self.kp(f'{SIDES[side]}_shoulder')
            self.pt.fill(ellipse_poly(sh - self.up * TORSO.cap_up * self.h,
                                      TORSO.cap_rx * self.u,
                                      TORSO.cap_ry * self.h, self.pose.lean),
                         PART['torso'], LIP['UpperClothes'], self.upper,
                         outline=False)

    def pants_top(self):
        """Trousers / shorts from the waistband down to the hips."""
        left, right = self._waistband()
        seat = self.up * LOWER.seat_up * self.h
        self.pt.fill(np.array([left, right, self.corners[1][1] - seat,
                               self.corners[0][1] - seat]),
                     PART['torso'], LIP['Pants'], self.lower)

    def skirt(self):
        """A trapezoid from the waistband to a flared hem above the
        knees."""
        left, right = self._waistband()
        knees = _mid(self.kp('left_knee'), self.kp('right_knee'))
        hem = knees + self.up * LOWER.hem_up * self.h
        hips = self.kp('left_hip') - self.kp('right_hip')
        flare = 0.5 * np.hypot(*hips) + LOWER.flare * self.u
        across = np.array([-self.up[1], self.up[0]])
        skirt = np.array([left, right, hem + across * flare,
                          hem - across * flare])
        if across[0] * (right - left)[0] < 0:  # keep the outline convex
            skirt = skirt[[0, 1, 3, 2]]
        self.pt.fill(skirt, PART['skirt'], LIP['Skirt'], self.lower)

    def logo(self):
        """A ring on the chest, clipped to the torso."""
        c = self.torso_mid - self.up * LOGO.up * self.h
        r, hole = LOGO.r * self.u, LOGO.hole_r * self.u
        self.pt.paint(ellipse_poly(c, r, r), self.identity.bgr('pattern'),
                      within=self.torso_mask)
        self.pt.paint(ellipse_poly(c, hole, hole), self.identity.bgr('upper'),
                      within=self.torso_mask)

    # ---- bags
    def shoulder_strap(self):
        """The shoulder bag's strap, from the bag side's shoulder across
        the torso to the other hip."""
        side = self.identity.bag_side
        top = self.corners[side][0]
        bottom = (self.corners[1 - side][1]
                  - self.up * SHOULDER_BAG.strap_end_up * self.h)
        r = SHOULDER_BAG.strap_r * self.u
        self.pt.paint(capsule_poly(top, bottom, r, r),
                      _shade(self.bag_color, SHOULDER_BAG.strap_shade),
                      within=self.torso_mask)

    def shoulder_bag(self):
        """The shoulder bag's body, just outside the hip opposite its
        strap's shoulder."""
        hip = self.corners[1 - self.identity.bag_side][1]
        out = _unit(hip - _mid(self.kp('left_hip'), self.kp('right_hip')))
        c = (hip + out * SHOULDER_BAG.out * self.u
             - self.up * SHOULDER_BAG.up * self.h)
        self.pt.fill(rect_poly(c, SHOULDER_BAG.width * self.u,
                               SHOULDER_BAG.height * self.h, self.pose.lean),
                     PART['bag'], LIP['Background'], self.bag_color)

    def backpack(self):
        """The backpack's box over the torso's middle (behind the person
        when drawn before the body, on the back when after it)."""
        c = self.torso_mid - self.up * BACKPACK.up * self.h
        self.pt.fill(rect_poly(c, BACKPACK.width * self.u,
                               BACKPACK.height * self.h, self.pose.lean),
                     PART['bag'], LIP['Background'], self.bag_color)

    def backpack_straps(self):
        """Two straps down the chest, seen from the front."""
        for side in (0, 1):
            top, other = self.corners[side][0], self.corners[1 - side][0]
            a = top + (other - top) * BACKPACK.strap_at
            b = a - self.up * BACKPACK.strap_len * self.h
            r = BACKPACK.strap_r * self.u
            self.pt.paint(capsule_poly(a, b, r, r),
                          _shade(self.bag_color, BACKPACK.strap_shade),
                          within=self.torso_mask)

    def handbag(self):
        """A box hanging from the bag side's hand by a short handle."""
        side = self.identity.bag_side
        hand = self.j['hand'][side]
        wr = self.kp(f'{SIDES[side]}_wrist')
        c = hand + _unit(hand - wr) * (HANDBAG.handle_len * self.h)
        r = HANDBAG.handle_r * self.u
        self.pt.paint(capsule_poly(hand, c, r, r),
                      _shade(self.bag_color, HANDBAG.handle_shade))
        self.pt.fill(rect_poly(c + (0, HANDBAG.down * self.h),
                               HANDBAG.width * self.u,
                               HANDBAG.height * self.h),
                     PART['bag'], LIP['Background'], self.bag_color)

    # ---- head
    def hair(self):
        """The whole head ellipse in the hair colour."""
        self.pt.fill(ellipse_poly(self.head_c, self.rx, self.ry,
                                  self.head_angle),
                     PART['hair'], LIP['Hair'], self.identity.bgr('hair'))

    def face(self):
        """The skin oval over the lower head (front view)."""
        rx, ry = self.rx, self.ry
        c = self.head_c - self.head_up * HEAD.face_down * ry
        self.pt.fill(ellipse_poly(c, rx * HEAD.face_rx, ry * HEAD.face_ry,
                                  self.head_angle),
                     PART['face'], LIP['Face'], self.skin, outline=False)

    def ears(self):
        """Small skin ellipses at both ear keypoints."""
        for side in (0, 1):
            ear = self.kp(f'{SIDES[side]}_ear')
            self.pt.fill(ellipse_poly(ear, self.rx * HEAD.ear_rx,
                                      self.ry * HEAD.ear_ry, self.head_angle),
                         PART['ear'], LIP['Face'], self.skin, outline=False)

    def face_features(self):
        """Eyes, nose and mouth: colour only, the labels stay 'face'."""
        rx, ry, ang = self.rx, self.ry, self.head_angle
        for name in ('left_eye', 'right_eye'):
            self.pt.paint(ellipse_poly(self.kp(name), rx * HEAD.eye_rx,
                                       ry * HEAD.eye_ry, ang), HEAD.eye_color)
        nose = self.kp('nose')
        self.pt.paint(ellipse_poly(nose, rx * HEAD.nose_rx, ry * HEAD.nose_ry,
                                   ang), _shade(self.skin, HEAD.nose_shade))
        self.pt.paint(ellipse_poly(nose - self.head_up * HEAD.mouth_down * ry,
                                   rx * HEAD.mouth_rx, ry * HEAD.mouth_ry,
                                   ang), _shade(self.skin, HEAD.mouth_shade))

    def hat(self):
        """A half-ellipse crown and a flat brim above the head centre."""
        rx, ry, ang = self.rx, self.ry, self.head_angle
        color = self.identity.bgr('hat')
        c = self.head_c + self.head_up * HEAD.hat_up * ry
        # the crown is the ellipse's upper half (angles pi .. 2 pi)
        self.pt.fill(ellipse_poly(c, rx * HEAD.crown_rx, ry * HEAD.crown_ry,
                                  ang, np.pi, 2 * np.pi),
                     PART['hat'], LIP['Hat'], color)
        self.pt.fill(ellipse_poly(c, rx * HEAD.brim_rx, ry * HEAD.brim_ry,
                                  ang), PART['hat'], LIP['Hat'], color)


def render_person(canvas, identity, pose, height, offset, owner):
    """Draw a person of ``height`` pixels (head top to sole) whose pelvis
    is at ``offset`` (x, y); ``owner`` (>= 1) is written to the owner map.

    The parts are drawn back to front: a later part covers an earlier one.

    Returns:
        RenderedPerson
    """
    joints = pose_joints(pose, identity.body)
    image_joints = transform_joints(joints, height, offset)
    front = pose.facing == 'front'
    drawn = dict(facing=pose.facing,
                 logo=identity.upper_pattern == 'logo' and front)
    person = RenderedPerson(owner=owner, keypoints=image_joints['keypoints'],
                            drawn=drawn)
    roi = _roi(person_extent(joints), height, offset, canvas.shape)
    if roi is None:
        return person

    pp = _PersonPainter(_Painter(canvas, roi, owner), identity, pose,
                        image_joints, height)
    far, near = 1 - pose.near, pose.near
    bag = identity.bag
    if bag == 'backpack' and front:  # behind the whole body
        pp.backpack()
    pp.arm(far)
    pp.leg(far)
    pp.leg(near)
    pp.neck()
    pp.torso()
    pp.shoulder_caps()
    if identity.lower_type == 'skirt':
        pp.skirt()
    else:
        pp.pants_top()
    if drawn['logo']:
        pp.logo()
    if bag == 'shoulder':
        pp.shoulder_strap()
    if bag == 'backpack':
        if front:
            pp.backpack_straps()
        else:
            pp.backpack()
    pp.hair()
    if front:
        pp.face()
    pp.ears()
    if front:
        pp.face_features()
    if identity.hat:
        pp.hat()
    if bag == 'shoulder':
        pp.shoulder_bag()
    pp.arm(near)
    if bag == 'handbag':
        pp.handbag()
    person.amodal_box, person.amodal_area = pp.pt.amodal_extent()
    return person


def keypoint_visibility(canvas, person):
    """COCO visibility of each keypoint of ``person`` on a finished canvas.

    Returns:
        ndarray: (17,) int, 2 visible, 1 inside the image but covered (by
        another person, a bag or the person's own body), 0 outside.
    """
    H, W = canvas.shape
    vis = np.zeros(NUM_KEYPOINTS, np.int64)
    for k, (x, y) in enumerate(person.keypoints):
        if not (0 <= x < W and 0 <= y < H):
            continue
        xi, yi = min(int(round(x)), W - 1), min(int(round(y)), H - 1)
        shown = (canvas.owner[yi, xi] == person.owner
                 and canvas.part[yi, xi] in KEYPOINT_PARTS[k])
        vis[k] = 2 if shown else 1
    return vis
