"""Part of stage 2, prepare: where round seals were pressed on the page.

A seal's ring, its star and the characters round its edge are strokes as dark as print on a
grey scan (or a dim photo, where lifting the red leaves them grey). Where the ring runs near
upright it passes the grid's line filter, and cuts the cell it lies on in two. Seals are
round and of a known size, so they are found as circles, and the grid takes no line from the
strokes that lie on one (`Seal.covers`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

# Official seals are 38-45 mm across; a unit's smaller seals are 30 mm and up.
SEAL_RADIUS_MM = (14.0, 24.0)
# Circles are looked for on a copy with this many pixels per millimetre: enough for a ring
# about 1 mm wide, and fast.
SEARCH_PX_PER_MM = 3.0
# HOUGH_GRADIENT_ALT's measure of how round and whole an edge must be (1 = a perfect circle).
ROUNDNESS = 0.8
# As shares of the radius: the star and the characters make strokes shorter than this ...
SEAL_STROKE = 0.6
# ... and the ring's strokes lie this far out or further ...
RING_FROM = 0.8
# A stroke counts as on the disc this far past the radius: the ring's width, and the bend of a
# stroke along it.
RING_SLACK = 0.1


class Seal(NamedTuple):
    """A round seal: its centre and radius in prepared-page pixels."""

    x: float
    y: float
    radius: float

    def covers(self, segment: tuple[int, int, int, int]) -> bool:
        """Whether a line segment (x0, y0, x1, y1) is a stroke of the seal, not a ruling line.

        It lies on the disc, and it is short (the star, the characters round the edge) or on
        the ring. The ring runs straight only where it turns along the stroke's direction,
        so a stroke of it lies that far out across that direction: a long line well inside,
        or one crossing the ring's band aslant, is a ruling line the seal was pressed on.
        """
        x0, y0, x1, y1 = segment
        reach = self.radius * (1 + RING_SLACK)
        if any(math.hypot(x - self.x, y - self.y) > reach for x, y in ((x0, y0), (x1, y1))):
            return False
        length = math.hypot(x1 - x0, y1 - y0)
        if length <= SEAL_STROKE * self.radius:
            return True
        # the centre's distance from the line the stroke runs along
        across = abs((x1 - x0) * (self.y - y0) - (y1 - y0) * (self.x - x0)) / length
        return across >= RING_FROM * self.radius


def find_seals(gray: np.ndarray, px_per_mm: float) -> tuple[Seal, ...]:
    """The round seals on a grey page, found as circles of a seal's size."""
    scale = SEARCH_PX_PER_MM / px_per_mm
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 1.2)
    low, high = (round(r * SEARCH_PX_PER_MM) for r in SEAL_RADIUS_MM)
    circles = cv2.HoughCircles(
        small,
        cv2.HOUGH_GRADIENT_ALT,
        dp=1.5,
        minDist=2 * low,
        param1=150,
        param2=ROUNDNESS,
        minRadius=low,
        maxRadius=high,
    )
    if circles is None:
        return ()
    return tuple(
        Seal(float(x) / scale, float(y) / scale, float(r) / scale) for x, y, r in circles[0]
    )
