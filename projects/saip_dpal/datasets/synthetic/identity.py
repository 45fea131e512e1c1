"""Clothing identities: what a person wears, which defines who they are.

An :class:`Identity` holds the ten identity attributes in
:data:`IDENTITY_ATTRIBUTES` plus identity-stable extras that are not counted
as attributes (body proportions, hat/bag/logo colours). Any two identities
drawn by :func:`sample_identities` differ in at least
:data:`MIN_ATTRIBUTE_DISTANCE` attributes.
"""
from dataclasses import dataclass

import numpy as np

from .skeleton import Body, sample_body

#: named clothing colours (BGR, as cv2 draws)
CLOTH_COLORS = {
    'black': (35, 32, 30),
    'white': (230, 232, 235),
    'gray': (128, 128, 128),
    'red': (40, 40, 200),
    'green': (60, 150, 50),
    'blue': (170, 80, 30),
    'yellow': (40, 200, 225),
    'brown': (40, 75, 120),
    'purple': (140, 50, 120),
    'pink': (180, 150, 240),
}
SHOE_COLORS = {
    'black': (25, 25, 25),
    'white': (235, 235, 235),
    'brown': (35, 60, 100),
    'red': (40, 40, 190),
    'blue': (150, 70, 30),
}
SKIN_TONES = {
    'light': (170, 195, 235),
    'medium': (120, 160, 205),
    'tan': (80, 125, 175),
    'dark': (45, 75, 110),
}
HAIR_COLORS = {
    'black': (20, 20, 25),
    'brown': (30, 55, 95),
    'blond': (90, 170, 215),
    'gray': (160, 160, 165),
    'red': (30, 60, 150),
}
UPPER_PATTERNS = ('plain', 'stripes', 'plaid', 'logo')
SLEEVES = ('long', 'short')
LOWER_TYPES = ('trousers', 'shorts', 'skirt')
BAGS = ('none', 'backpack', 'handbag', 'shoulder')

#: identity attribute -> its possible values
IDENTITY_ATTRIBUTES = {
    'upper_color': tuple(CLOTH_COLORS),
    'lower_color': tuple(CLOTH_COLORS),
    'upper_pattern': UPPER_PATTERNS,
    'sleeve': SLEEVES,
    'lower_type': LOWER_TYPES,
    'hat': (False, True),
    'bag': BAGS,
    'shoe_color': tuple(SHOE_COLORS),
    'skin_tone': tuple(SKIN_TONES),
    'hair_color': tuple(HAIR_COLORS),
}
MIN_ATTRIBUTE_DISTANCE = 2


@dataclass(frozen=True)
class Identity:
    """One person's clothing and appearance (colours are BGR tuples)."""
    upper_color: str
    lower_color: str
    upper_pattern: str
    sleeve: str
    lower_type: str
    hat: bool
    bag: str
    shoe_color: str
    skin_tone: str
    hair_color: str
    # identity-stable extras, not counted as attributes
    pattern_color: str = 'white'
    hat_color: str = 'black'
    bag_color: str = 'black'
    bag_side: int = 0          # side (0 left, 1 right) carrying the bag
    body: Body = Body()

    def attributes(self):
        """dict: the ten identity attributes."""
        return {k: getattr(self, k) for k in IDENTITY_ATTRIBUTES}

    def bgr(self, what):
        """BGR colour of 'upper', 'lower', 'pattern', 'hat', 'bag', 'shoe',
        'skin' or 'hair'."""
        table = {
            'upper': CLOTH_COLORS[self.upper_color],
            'lower': CLOTH_COLORS[self.lower_color],
            'pattern': CLOTH_COLORS[self.pattern_color],
            'hat': CLOTH_COLORS[self.hat_color],
            'bag': CLOTH_COLORS[self.bag_color],
            'shoe': SHOE_COLORS[self.shoe_color],
            'skin': SKIN_TONES[self.skin_tone],
            'hair': HAIR_COLORS[self.hair_color],
        }
        return table[what]


def attribute_distance(a, b):
    """Number of identity attributes in which ``a`` and ``b`` differ."""
    return sum(getattr(a, k) != getattr(b, k) for k in IDENTITY_ATTRIBUTES)


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def _other(rng, values, exclude):
    return _pick(rng, [v for v in values if v != exclude])


def sample_identity(rng):
    """A random :class:`Identity` (``rng``: numpy ``Generator``)."""
    colors = tuple(CLOTH_COLORS)
    upper = _pick(rng, colors)
    hat = bool(rng.random() < 0.3)
    return Identity(
        upper_color=upper,
        lower_color=_pick(rng, colors),
        upper_pattern=_pick(rng, UPPER_PATTERNS),
        sleeve=_pick(rng, SLEEVES),
        lower_type=_pick(rng, LOWER_TYPES),
        hat=hat,
        bag=_pick(rng, BAGS),
        shoe_color=_pick(rng, tuple(SHOE_COLORS)),
        skin_tone=_pick(rng, tuple(SKIN_TONES)),
        hair_color=_pick(rng, tuple(HAIR_COLORS)),
        pattern_color=_other(rng, colors, upper),
        hat_color=_pick(rng, colors),
        bag_color=_pick(rng, colors),
        bag_side=int(rng.integers(2)),
        body=sample_body(rng))


def sample_identities(seed, n, code=0):
    """``n`` identities, pairwise at least :data:`MIN_ATTRIBUTE_DISTANCE`
    attributes apart. Identity ``k`` depends only on ``seed``, ``code`` and
    identities ``0..k-1`` (a prefix of a longer list is the shorter list).

    Returns:
        list[Identity]
    """
    out = []
    for k in range(n):
        for attempt in range(10000):
            rng = np.random.default_rng([seed, code, k, attempt])
            cand = sample_identity(rng)
            if all(attribute_distance(cand, o) >= MIN_ATTRIBUTE_DISTANCE
                   for o in out):
                out.append(cand)
                break
        else:  # pragma: no cover - 10 attributes leave plenty of room
            raise RuntimeError(f'could not sample {n} distinct identities')
    return out
