"""Propulsion efficiency: the power/speed curve, its cube-law fit and the most economical speed.

Pure (standard library only). Inputs are steady-state (speed, power) samples, e.g.
`Trip.efficiency_samples` of the trips of the last 30 days. Speeds are in KNOTS unless
`speed_unit="m/s"` is passed; every output is in knots, W, Wh per nautical mile.

Maths (../shared/reference/logbook.md §4):

* Samples are binned by speed in `bin_kn` (0.5 kn) bins; a bin reports the median speed and the
  median power of its samples, and Wh/nm = W / kn (the same number: 1 kn = 1 nm per hour).
* House load: samples below `rest_speed_kn` (0.25 kn) estimate it as their median power, unless it
  is given. Those samples are not part of the curve.
* Below hull speed, propulsion power follows P = a·v³. With P_prop = P_bin - P_house per bin, least
  squares gives the closed form a = Σ(P_prop·v³) / Σ(v⁶) over the bins at or below `fit_max_kn`
  (use about 0.8 x hull speed, where the wall starts; all bins when None).
* Wh/nm of the model is a·v² + P_house / v, smallest at v* = (P_house / 2a)^(1/3): the most
  economical speed once the house load is counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import math
from typing import Any, Literal

KNOT_MS = 1852.0 / 3600.0
"""One knot in m/s."""


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One speed bin. `power_w` and `wh_per_nm` are as measured (house load included if the
    power signal includes it); `model_power_w` is a·v³ + house load at `speed_kn`."""

    bin_low_kn: float
    speed_kn: float
    power_w: float
    wh_per_nm: float
    samples: int
    model_power_w: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "bin_low_kn": self.bin_low_kn,
            "speed_kn": round(self.speed_kn, 3),
            "power_w": round(self.power_w, 1),
            "wh_per_nm": round(self.wh_per_nm, 1),
            "samples": self.samples,
            "model_power_w": None if self.model_power_w is None else round(self.model_power_w, 1),
        }


@dataclass(frozen=True, slots=True)
class EfficiencyCurve:
    """The fitted curve. `a` in W/kn³ (None when there is nothing to fit), `house_load_w` in W,
    `best_speed_kn` = v* (None without a house load or a fit)."""

    points: tuple[CurvePoint, ...]
    a: float | None
    house_load_w: float
    house_load_estimated: bool
    best_speed_kn: float | None
    bin_kn: float
    samples: int
    fit_max_kn: float | None = None

    def power_w(self, speed_kn: float) -> float | None:
        """Model power at a speed (propulsion + house load)."""
        if self.a is None:
            return None
        return self.a * speed_kn**3 + self.house_load_w

    def wh_per_nm(self, speed_kn: float) -> float | None:
        """Model energy per nautical mile at a speed."""
        power = self.power_w(speed_kn)
        if power is None or speed_kn <= 0:
            return None
        return power / speed_kn

    def range_nm(self, energy_wh: float, speed_kn: float) -> float | None:
        """Distance `energy_wh` lasts at a speed, by the model."""
        per_nm = self.wh_per_nm(speed_kn)
        return None if per_nm is None or per_nm <= 0 else energy_wh / per_nm

    @property
    def best_wh_per_nm(self) -> float | None:
        """Model Wh/nm at v*."""
        return None if self.best_speed_kn is None else self.wh_per_nm(self.best_speed_kn)

    def attributes(self) -> dict[str, Any]:
        """The small figures, fit for entity attributes (no curve)."""
        best = self.best_wh_per_nm
        return {
            "a_w_per_kn3": None if self.a is None else round(self.a, 4),
            "house_load_w": round(self.house_load_w, 1),
            "best_speed_kn": None if self.best_speed_kn is None else round(self.best_speed_kn, 2),
            "best_wh_per_nm": None if best is None else round(best, 1),
            "samples": self.samples,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe: for a service response."""
        return {
            **self.attributes(),
            "house_load_estimated": self.house_load_estimated,
            "bin_kn": self.bin_kn,
            "fit_max_kn": self.fit_max_kn,
            "points": [p.to_dict() for p in self.points],
        }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def fit_cube(points: Iterable[tuple[float, float]], house_load_w: float = 0.0) -> float | None:
    """Closed-form least squares of P - house = a·v³ over (speed kn, power W) points.

    Returns a in W/kn³, or None when no point has a positive speed.
    """
    num = 0.0
    den = 0.0
    for v, p in points:
        if v > 0:
            v3 = v * v * v
            num += (p - house_load_w) * v3
            den += v3 * v3
    return num / den if den > 0 else None


def best_speed(a: float | None, house_load_w: float) -> float | None:
    """v* = (P_house / 2a)^(1/3) in knots; None unless both are positive."""
    if a is None or a <= 0 or house_load_w <= 0:
        return None
    return float((house_load_w / (2.0 * a)) ** (1.0 / 3.0))


def build_curve(
    samples: Iterable[tuple[float, float]],
    *,
    speed_unit: Literal["kn", "m/s"] = "kn",
    bin_kn: float = 0.5,
    house_load_w: float | None = None,
    fit_max_kn: float | None = None,
    min_bin_samples: int = 3,
    rest_speed_kn: float = 0.25,
) -> EfficiencyCurve:
    """Bin, fit and summarise steady-state (speed, power) samples.

    Bins with fewer than `min_bin_samples` samples are left out of the curve and the fit.
    """
    if bin_kn <= 0:
        raise ValueError("bin_kn must be > 0")
    scale = 1.0 / KNOT_MS if speed_unit == "m/s" else 1.0
    bins: dict[int, tuple[list[float], list[float]]] = {}
    rest: list[float] = []
    count = 0
    for speed, power in samples:
        if not (math.isfinite(speed) and math.isfinite(power)) or speed < 0:
            continue
        v = speed * scale
        count += 1
        if v < rest_speed_kn:
            rest.append(power)
            continue
        speeds, powers = bins.setdefault(int(v / bin_kn), ([], []))
        speeds.append(v)
        powers.append(power)
    estimated = house_load_w is None
    if house_load_w is None:
        house_load_w = _median(rest) if len(rest) >= min_bin_samples else 0.0
    medians = [
        (key, _median(speeds), _median(powers), len(speeds))
        for key, (speeds, powers) in sorted(bins.items())
        if len(speeds) >= min_bin_samples
    ]
    a = fit_cube(
        ((v, p) for _, v, p, _ in medians if fit_max_kn is None or v <= fit_max_kn), house_load_w
    )
    points = tuple(
        CurvePoint(
            bin_low_kn=round(key * bin_kn, 6),
            speed_kn=v,
            power_w=p,
            wh_per_nm=p / v,
            samples=n,
            model_power_w=None if a is None else a * v**3 + house_load_w,
        )
        for key, v, p, n in medians
    )
    return EfficiencyCurve(
        points=points,
        a=a,
        house_load_w=house_load_w,
        house_load_estimated=estimated,
        best_speed_kn=best_speed(a, house_load_w),
        bin_kn=bin_kn,
        samples=count,
        fit_max_kn=fit_max_kn,
    )
