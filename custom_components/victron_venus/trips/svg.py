"""The efficiency curve as an SVG picture: power against speed, the fitted curve, v*.

Pure (standard library only): `efficiency_svg(curve)` returns a complete SVG 1.1 document as UTF-8
bytes (about 3-5 kB), 640 x 400 px, light and dark themes readable (neutral colours on a
transparent background):

* the measured bins: median power (W) at the median speed (kn) of each 0.5 kn bin, as dots whose
  size grows with the bin's sample count;
* the fitted model P = a·v³ + offset (offset = the house load when the power signal includes it),
  from 0 to the highest speed;
* the most economical speed v* as a dashed vertical line, labelled with its Wh/nm;
* axis ticks at 1-2-5 steps, axis labels with units, and a caption with a and the house load.

Without bins the picture says so ("no steady-state samples yet").
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from .efficiency import EfficiencyCurve

WIDTH = 640
HEIGHT = 400
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 20, 36, 52
_FAMILY = "font-family='sans-serif'"
_FONT = f"{_FAMILY} font-size='12' fill='#888'"


def nice_step(span: float, ticks: int = 5) -> float:
    """A 1-2-5 step that divides `span` into about `ticks` parts (span > 0)."""
    raw = span / max(1, ticks)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def efficiency_svg(
    curve: EfficiencyCurve, *, model_offset_w: float | None = None, title: str = "Power vs speed"
) -> bytes:
    """Render `curve`. `model_offset_w` is added to a·v³ for the drawn model (default: the
    curve's house load, i.e. the measured power includes it)."""
    offset = curve.house_load_w if model_offset_w is None else model_offset_w
    parts: list[str] = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<svg xmlns='http://www.w3.org/2000/svg' version='1.1' width='{WIDTH}' "
        f"height='{HEIGHT}' viewBox='0 0 {WIDTH} {HEIGHT}'>",
        f"<title>{escape(title)}</title>",
        f"<text x='{WIDTH / 2:.0f}' y='20' text-anchor='middle' {_FAMILY} font-size='14' "
        f"fill='#888'>{escape(title)}</text>",
    ]
    points = curve.points
    if not points:
        parts.append(
            f"<text x='{WIDTH / 2:.0f}' y='{HEIGHT / 2:.0f}' text-anchor='middle' {_FONT}>"
            "No steady-state samples yet: the curve appears after a trip under power.</text>"
        )
        parts.append("</svg>")
        return "\n".join(parts).encode()

    v_max = max(p.speed_kn for p in points)
    if curve.best_speed_kn is not None:
        v_max = max(v_max, curve.best_speed_kn)
    v_max *= 1.1
    p_max = max(p.power_w for p in points)
    if curve.a is not None:
        p_max = max(p_max, curve.a * v_max**3 / 1.1**3 + offset)
    p_max = max(p_max * 1.1, 1.0)
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM

    def x(v: float) -> float:
        return _LEFT + v / v_max * plot_w

    def y(p: float) -> float:
        return _TOP + plot_h - max(0.0, min(p, p_max)) / p_max * plot_h

    # axes and grid
    x_step = nice_step(v_max)
    y_step = nice_step(p_max)
    parts.append("<g stroke='#888' stroke-opacity='0.25'>")
    v = 0.0
    while v <= v_max + 1e-9:
        parts.append(f"<line x1='{x(v):.1f}' y1='{_TOP}' x2='{x(v):.1f}' y2='{_TOP + plot_h}'/>")
        v += x_step
    p = 0.0
    while p <= p_max + 1e-9:
        parts.append(f"<line x1='{_LEFT}' y1='{y(p):.1f}' x2='{_LEFT + plot_w}' y2='{y(p):.1f}'/>")
        p += y_step
    parts.append("</g>")
    parts.append(f"<g {_FONT}>")
    v = 0.0
    while v <= v_max + 1e-9:
        parts.append(
            f"<text x='{x(v):.1f}' y='{_TOP + plot_h + 16}' text-anchor='middle'>{_fmt(v)}</text>"
        )
        v += x_step
    p = 0.0
    while p <= p_max + 1e-9:
        parts.append(f"<text x='{_LEFT - 6}' y='{y(p) + 4:.1f}' text-anchor='end'>{_fmt(p)}</text>")
        p += y_step
    parts.append(
        f"<text x='{_LEFT + plot_w / 2:.0f}' y='{HEIGHT - 12}' text-anchor='middle'>"
        "speed over ground (kn)</text>"
    )
    parts.append(
        f"<text x='16' y='{_TOP + plot_h / 2:.0f}' text-anchor='middle' "
        f"transform='rotate(-90 16 {_TOP + plot_h / 2:.0f})'>power (W)</text>"
    )
    parts.append("</g>")

    # fitted model
    if curve.a is not None:
        a = curve.a
        steps = 60
        coords = " ".join(
            f"{x(v_max / 1.1 * i / steps):.1f},{y(a * (v_max / 1.1 * i / steps) ** 3 + offset):.1f}"
            for i in range(steps + 1)
        )
        parts.append(
            f"<polyline points='{coords}' fill='none' stroke='#1e88e5' stroke-width='2'>"
            f"<title>P = {a:.3g}·v³ + {offset:.0f} W</title></polyline>"
        )

    # measured bins
    most = max(pt.samples for pt in points)
    for pt in points:
        radius = 3.0 + 4.0 * math.sqrt(pt.samples / most)
        parts.append(
            f"<circle cx='{x(pt.speed_kn):.1f}' cy='{y(pt.power_w):.1f}' r='{radius:.1f}' "
            f"fill='#fb8c00' fill-opacity='0.85'><title>{pt.speed_kn:.2f} kn: "
            f"{pt.power_w:.0f} W, {pt.wh_per_nm:.0f} Wh/nm ({pt.samples} samples)</title></circle>"
        )

    # most economical speed
    best = curve.best_speed_kn
    if best is not None:
        wh = curve.best_wh_per_nm
        label = f"most economical {best:.1f} kn" + (f", {wh:.0f} Wh/nm" if wh else "")
        parts.append(
            f"<line x1='{x(best):.1f}' y1='{_TOP}' x2='{x(best):.1f}' y2='{_TOP + plot_h}' "
            "stroke='#43a047' stroke-width='1.5' stroke-dasharray='6 4'/>"
        )
        anchor = "start" if x(best) < _LEFT + plot_w * 0.6 else "end"
        dx = 6 if anchor == "start" else -6
        parts.append(
            f"<text x='{x(best) + dx:.1f}' y='{_TOP + 14}' text-anchor='{anchor}' {_FAMILY} "
            f"font-size='12' fill='#43a047'>{escape(label)}</text>"
        )
    caption = []
    if curve.a is not None:
        caption.append(f"a = {curve.a:.3g} W/kn³")
    if curve.house_load_w > 0:
        caption.append(f"house load {curve.house_load_w:.0f} W")
    caption.append(f"{curve.samples} samples")
    parts.append(
        f"<text x='{_LEFT + 8}' y='{_TOP + plot_h - 8}' {_FONT}>{escape(', '.join(caption))}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts).encode()
