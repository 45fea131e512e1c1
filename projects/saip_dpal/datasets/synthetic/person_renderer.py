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
    d = d / length if length > 1e-6 else np.array([0.0, 1.0])
    nrm = np.array([-d[1], d[0]])
    t = np.linspace(np.pi / 2, -np.pi / 2, n)
    arc_q = q + r1 * (np.outer(np.cos(t), d) + np.outer(np.sin(t), nrm))
    t = np.linspace(-np.pi / 2, np.pi / 2, n)
    arc_p = p + r0 * (np.outer(-np.cos(t), d) + np.outer(np.sin(t), nrm))
    return np.concatenate([arc_q, arc_p])


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
            self.color[edge] = _shade(base, 0.6)
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
        period = max(4.0, 0.045 * unit)
        yy = np.arange(h)[:, None] + origin[1]
        xx = np.arange(w)[None, :] + origin[0]
        if pat == 'stripes':
            band = (np.floor(yy / (period / 2)) % 2 == 1) & (xx == xx)
        else:
            wid = max(1.5, period / 4)
            band = (yy % period < wid) | (xx % period < wid)
        tex[band] = identity.bgr('pattern')
    return tex


def person_extent(joints):
    """(x0, y0, x1, y1) approximate silhouette box of a height-1 person."""
    kps = joints['keypoints']
    rx, ry = joints['head_axes']
    pts = np.concatenate([
        kps, joints['hand'], joints['toe'],
        [joints['head'] + (0, -ry * 1.45), joints['head'] + (rx, 0),
         joints['head'] - (rx, 0)]
    ])
    m = 0.06
    return (pts[:, 0].min() - m, pts[:, 1].min() - 0.01,
            pts[:, 0].max() + m, pts[:, 1].max() + 0.03)


# ---------------------------------------------------------------- person
def render_person(canvas, identity, pose, height, offset, owner):
    """Draw a person of ``height`` pixels (head top to sole) whose pelvis
    is at ``offset`` (x, y); ``owner`` (>= 1) is written to the owner map.

    Returns:
        RenderedPerson
    """
    body = identity.body
    j = transform_joints(pose_joints(pose, body), height, offset)
    kps = j['keypoints']
    ext = np.array(person_extent(pose_joints(pose, body))) * height
    ext += (offset[0], offset[1], offset[0], offset[1])
    H, W = canvas.shape
    x0 = max(0, int(np.floor(ext[0])) - 2)
    y0 = max(0, int(np.floor(ext[1])) - 2)
    x1, y1 = min(W, int(np.ceil(ext[2])) + 3), min(H, int(np.ceil(ext[3])) + 3)
    front = pose.facing == 'front'
    drawn = dict(facing=pose.facing, logo=identity.upper_pattern == 'logo'
                 and front)
    person = RenderedPerson(owner=owner, keypoints=kps, drawn=drawn)
    if x1 <= x0 or y1 <= y0:
        return person

    pt = _Painter(canvas, (x0, y0, x1, y1), owner)
    u = height * body.build          # width unit
    skin = identity.bgr('skin')
    upper_tex = _garment_texture(identity, pt.part.shape, (x0, y0), height)
    lower = identity.bgr('lower')
    up = j['up']
    far = 1 - pose.near

    def arm(side):
        name = SIDES[side]
        sh, el, wr = (kps[KP[f'{name}_{k}']]
                      for k in ('shoulder', 'elbow', 'wrist'))
        r_up, r_lo = 0.026 * u, 0.021 * u
        arm_id = LIP['Left-arm'] if side == 0 else LIP['Right-arm']
        p_up, p_fo = PART[f'{name}_upper_arm'], PART[f'{name}_forearm']
        long = identity.sleeve == 'long'
        d = (el - sh) / max(np.hypot(*(el - sh)), 1e-6)
        sh = sh + d * 0.5 * r_up  # the cap ends near the shoulder line
        pt.fill(capsule_poly(sh, el, r_up, r_lo), p_up,
                LIP['UpperClothes'] if long else arm_id,
                upper_tex if long else skin)
        if not long:
            sleeve_end = sh + 0.5 * (el - sh)
            pt.fill(capsule_poly(sh, sleeve_end, r_up * 1.12, r_up * 1.05),
                    p_up, LIP['UpperClothes'], upper_tex)
        pt.fill(capsule_poly(el, wr, r_lo * 0.98, r_lo * 0.8), p_fo,
                LIP['UpperClothes'] if long else arm_id,
                upper_tex if long else skin)
        hand = j['hand'][side]
        pt.fill(ellipse_poly(hand, 0.024 * u, 0.03 * height,
                             np.arctan2(*(hand - wr)[::-1]) + np.pi / 2),
                PART[f'{name}_hand'], arm_id, skin)

    def leg(side):
        name = SIDES[side]
        hp, kn, an = (kps[KP[f'{name}_{k}']] for k in ('hip', 'knee', 'ankle'))
        r_th, r_kn, r_an = 0.043 * u, 0.032 * u, 0.022 * u
        leg_id = LIP['Left-leg'] if side == 0 else LIP['Right-leg']
        p_th, p_sh = PART[f'{name}_thigh'], PART[f'{name}_shin']
        trousers = identity.lower_type == 'trousers'
        cloth = 1.1 if trousers else 1.0
        pt.fill(capsule_poly(hp, kn, r_th * cloth, r_kn * cloth), p_th,
                LIP['Pants'] if trousers else leg_id,
                lower if trousers else skin)
        if identity.lower_type == 'shorts':
            end = hp + 0.6 * (kn - hp)
            pt.fill(capsule_poly(hp, end, r_th * 1.12, r_th * 1.02), p_th,
                    LIP['Pants'], lower)
        pt.fill(capsule_poly(kn, an, r_kn * cloth, r_an * cloth), p_sh,
                LIP['Pants'] if trousers else leg_id,
                lower if trousers else skin)
        toe = j['toe'][side]
        shoe = LIP['Left-shoe'] if side == 0 else LIP['Right-shoe']
        c = 0.5 * (an + toe)
        pt.fill(ellipse_poly(c, 0.03 * u, 0.022 * height,
                             np.arctan2(*(toe - an)[::-1]) + np.pi / 2),
                PART[f'{name}_foot'], shoe, identity.bgr('shoe'))

    ls, rs = kps[KP['left_shoulder']], kps[KP['right_shoulder']]
    lh, rh = kps[KP['left_hip']], kps[KP['right_hip']]
    outs = {}
    for side, (s, h) in enumerate(((ls, lh), (rs, rh))):
        other_s = rs if side == 0 else ls
        d = (s - other_s) / max(np.hypot(*(s - other_s)), 1e-6)
        outs[side] = (s + d * 0.012 * u - up * 0.012 * height,
                      h + d * 0.03 * u)

    def bag_body(center, w, h, angle=0.0):
        c, s = np.cos(angle), np.sin(angle)
        half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        return half @ np.array([[c, s], [-s, c]]) + center

    bag_color = identity.bgr('bag')
    torso_mid = 0.5 * (0.5 * (ls + rs) + 0.5 * (lh + rh))

    def backpack():
        c = torso_mid - up * 0.04 * height
        pt.fill(bag_body(c, 0.27 * u, 0.24 * height, pose.lean), PART['bag'],
                LIP['Background'], bag_color)

    # ---- back to front
    if identity.bag == 'backpack' and front:
        backpack()
    arm(far)
    leg(far)
    leg(pose.near)
    neck_r = 0.028 * u
    pt.fill(capsule_poly(j['neck'] + up * 0.03 * height,
                         j['neck'] - up * 0.03 * height, neck_r, neck_r),
            PART['neck'], LIP['Face'], skin)
    # torso: upper garment over the chest, lower garment from the waist
    waist = {}
    for side in (0, 1):  # a slightly narrower waist
        a, b = outs[side]
        waist[side] = a + 0.62 * (b - a) + (outs[1 - side][0] - a) * 0.04
    torso = np.array([outs[0][0], outs[1][0], waist[1], outs[1][1],
                      outs[0][1], waist[0]])
    torso_m = pt.fill(torso, PART['torso'], LIP['UpperClothes'], upper_tex)
    for side in (0, 1):  # rounded shoulders
        sh = kps[KP[f'{SIDES[side]}_shoulder']]
        pt.fill(ellipse_poly(sh - up * 0.004 * height, 0.03 * u,
                             0.016 * height, pose.lean),
                PART['torso'], LIP['UpperClothes'], upper_tex, outline=False)
    waist_l = outs[0][0] + 0.78 * (outs[0][1] - outs[0][0])
    waist_r = outs[1][0] + 0.78 * (outs[1][1] - outs[1][0])
    if identity.lower_type != 'skirt':
        pt.fill(np.array([waist_l, waist_r, outs[1][1] - up * 0.02 * height,
                          outs[0][1] - up * 0.02 * height]),
                PART['torso'], LIP['Pants'], lower)
    else:
        knee_y = 0.5 * (kps[KP['left_knee']] + kps[KP['right_knee']])
        hem = knee_y + up * 0.04 * height
        flare = 0.5 * np.hypot(*(lh - rh)) + 0.085 * u
        across = np.array([-up[1], up[0]])
        skirt = np.array([waist_l, waist_r, hem + across * flare,
                          hem - across * flare])
        if across[0] * (waist_r - waist_l)[0] < 0:
            skirt = skirt[[0, 1, 3, 2]]
        pt.fill(skirt, PART['skirt'], LIP['Skirt'], lower)
    if drawn['logo']:
        c = torso_mid - up * 0.06 * height
        pt.paint(ellipse_poly(c, 0.035 * u, 0.035 * u),
                 identity.bgr('pattern'), within=torso_m)
        pt.paint(ellipse_poly(c, 0.017 * u, 0.017 * u), identity.bgr('upper'),
                 within=torso_m)
    if identity.bag == 'shoulder':  # strap over the chest / back
        s_side = identity.bag_side
        top = outs[s_side][0]
        bottom = outs[1 - s_side][1] - up * 0.03 * height
        strap = capsule_poly(top, bottom, 0.008 * u, 0.008 * u)
        pt.paint(strap, _shade(bag_color, 0.8), within=torso_m)
    if identity.bag == 'backpack' and not front:
        backpack()
    elif identity.bag == 'backpack':  # straps over the shoulders
        for side in (0, 1):
            a = outs[side][0] + (outs[1 - side][0] - outs[side][0]) * 0.22
            b = a - up * 0.17 * height
            pt.paint(capsule_poly(a, b, 0.011 * u, 0.011 * u),
                     _shade(bag_color, 0.8), within=torso_m)

    # head
    head, (rx, ry), ang = j['head'], j['head_axes'], j['head_angle']
    hair = identity.bgr('hair')
    pt.fill(ellipse_poly(head, rx, ry, ang), PART['hair'], LIP['Hair'], hair)
    head_up = np.array([np.sin(ang), -np.cos(ang)])
    if front:
        pt.fill(ellipse_poly(head - head_up * 0.17 * ry, rx * 0.86, ry * 0.8,
                             ang), PART['face'], LIP['Face'], skin,
                outline=False)
    for side in (0, 1):
        ear = kps[KP[f'{SIDES[side]}_ear']]
        pt.fill(ellipse_poly(ear, rx * 0.16, ry * 0.22, ang), PART['ear'],
                LIP['Face'], skin, outline=False)
    if front:
        dark = _shade(skin, 0.35)
        for name in ('left_eye', 'right_eye'):
            pt.paint(ellipse_poly(kps[KP[name]], rx * 0.12, ry * 0.07, ang),
                     (30, 25, 25))
        nose = kps[KP['nose']]
        pt.paint(ellipse_poly(nose, rx * 0.07, ry * 0.06, ang), dark)
        pt.paint(ellipse_poly(nose - head_up * 0.3 * ry, rx * 0.22, ry * 0.05,
                              ang), _shade(skin, 0.55))
    if identity.hat:
        hat = identity.bgr('hat')
        crown_c = head + head_up * 0.3 * ry
        pt.fill(ellipse_poly(crown_c, rx * 1.05, ry * 0.95, ang, np.pi,
                             2 * np.pi), PART['hat'], LIP['Hat'], hat)
        pt.fill(ellipse_poly(crown_c, rx * 1.45, ry * 0.12, ang), PART['hat'],
                LIP['Hat'], hat)

    if identity.bag == 'shoulder':
        s_side = identity.bag_side
        hip_o = outs[1 - s_side][1]
        d = hip_o - 0.5 * (lh + rh)
        d = d / max(np.hypot(*d), 1e-6)
        c = hip_o + d * 0.02 * u - up * 0.02 * height
        pt.fill(bag_body(c, 0.1 * u, 0.09 * height, pose.lean), PART['bag'],
                LIP['Background'], bag_color)
    arm(pose.near)
    if identity.bag == 'handbag':
        side = identity.bag_side
        hand = j['hand'][side]
        wr = kps[KP[f'{SIDES[side]}_wrist']]
        c = hand + (hand - wr) / max(np.hypot(*(hand - wr)), 1e-6) * (
            0.065 * height)
        pt.paint(capsule_poly(hand, c, 0.006 * u, 0.006 * u),
                 _shade(bag_color, 0.7))
        pt.fill(bag_body(c + (0, 0.02 * height), 0.13 * u, 0.09 * height),
                PART['bag'], LIP['Background'], bag_color)

    ys, xs = np.nonzero(pt.amodal)
    if len(xs):
        person.amodal_box = (x0 + int(xs.min()), y0 + int(ys.min()),
                             x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
        person.amodal_area = int(len(xs))
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
