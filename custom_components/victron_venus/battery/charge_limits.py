"""Charge limits of a battery bank for a GX: CVL, CCL and DCL, the dbus-serialbattery way (pure).

A GX with DVCC takes three limits from the battery it is told to follow: the maximum charge
voltage (CVL, V), the maximum charge current (CCL, A) and the maximum discharge current (DCL, A).
They are computed here as mr-manuel/venus-os_dbus-serialbattery does with its config.default.ini
defaults in linear mode (LINEAR_LIMITATION_ENABLE = True):

- CVL = the cell limit (`Thresholds.cell_high`) x cells in series, lowered by the sum of every
  cell's overshoot above that limit (its "penalty sum" P-controller), never below
  `Thresholds.cell_low` x cells in series.
- CCL / DCL = the per-battery maximum (`Thresholds.max_charge_current` /
  `max_discharge_current`) x a fraction interpolated linearly from the highest (charge) or lowest
  (discharge) cell voltage and from the worst temperature (`CHARGE_CELL_CURVE` …
  `DISCHARGE_TEMPERATURE_CURVE`, its CELL_VOLTAGES_WHILE_(DIS)CHARGING and
  TEMPERATURES_WHILE_(DIS)CHARGING tables). Series: the lowest battery's limit; parallel: the
  number of batteries x the lowest battery's limit.
- While a member is unavailable both currents are 0 A (the GX drivers block on lost
  communication, BLOCK_ON_DISCONNECT).
- A member that reports only its lowest and highest cell (and its cell count) stands for its
  string as that many cells: the highest once, the lowest for the rest (`member_string`). The
  currents' cell factors are then exact; the voltage penalty counts the highest cell's overshoot
  only (a lower bound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Final

from .bank import SERIES, Member, Thresholds, member_cells

type Curve = Sequence[tuple[float, float]]

#: (highest cell V, fraction of the maximum charge current), x ascending
CHARGE_CELL_CURVE: Final = (
    (3.375, 1.0), (3.400, 0.25), (3.425, 0.05), (3.450, 0.005), (3.500, 0.0),
)  # fmt: skip
#: (lowest cell V, fraction of the maximum discharge current), x ascending
DISCHARGE_CELL_CURVE: Final = (
    (2.800, 0.0), (2.900, 0.005), (3.000, 0.05), (3.100, 0.25), (3.190, 1.0),
)  # fmt: skip
#: (temperature °C, fraction of the maximum charge current), x ascending
CHARGE_TEMPERATURE_CURVE: Final = (
    (0, 0.0), (2, 0.25), (5, 0.5), (10, 1.0), (40, 1.0), (45, 0.5), (50, 0.25), (55, 0.0),
)  # fmt: skip
#: (temperature °C, fraction of the maximum discharge current), x ascending
DISCHARGE_TEMPERATURE_CURVE: Final = (
    (-10, 0.0), (0, 0.25), (5, 0.5), (10, 1.0), (40, 1.0), (45, 0.5), (50, 0.25), (55, 0.0),
)  # fmt: skip

#: The keys `charge_limits` returns.
LIMIT_KEYS: Final = ("max_charge_voltage", "max_charge_current", "max_discharge_current")


def interpolate(x: float, curve: Curve) -> float:
    """Piecewise-linear y(x) on `curve` ((x, y) with x ascending), flat beyond both ends."""
    if x <= curve[0][0]:
        return curve[0][1]
    for (x0, y0), (x1, y1) in pairwise(curve):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return curve[-1][1]


def battery_current_fractions(
    cells: Sequence[float], temperatures: Sequence[float]
) -> tuple[float, float]:
    """(charge, discharge) fractions (0..1) of one battery's maximum currents.

    `cells` in V, `temperatures` in °C. Charge: the lower of the fraction for its highest cell
    (CHARGE_CELL_CURVE) and for its worst temperature (CHARGE_TEMPERATURE_CURVE); discharge
    likewise with its lowest cell and the discharge curves. No temperature sensor means no
    temperature derating; no cells mean no cell derating.
    """
    charge = interpolate(max(cells), CHARGE_CELL_CURVE) if cells else 1.0
    discharge = interpolate(min(cells), DISCHARGE_CELL_CURVE) if cells else 1.0
    for t in temperatures:
        charge = min(charge, interpolate(t, CHARGE_TEMPERATURE_CURVE))
        discharge = min(discharge, interpolate(t, DISCHARGE_TEMPERATURE_CURVE))
    return charge, discharge


def string_voltage_limit(cells: Sequence[float], thresholds: Thresholds) -> float:
    """CVL (V) of one string of cells in series: cell_high x n minus the overshoot penalty,
    at least cell_low x n."""
    penalty = sum(max(0.0, v - thresholds.cell_high) for v in cells)
    return max(thresholds.cell_high * len(cells) - penalty, thresholds.cell_low * len(cells))


def member_string(data: Mapping[str, Any]) -> list[float] | None:
    """The cell voltages (V) a member stands for in the charge limits, or None when unknown.

    Its `cells`; else, with `cell_min`, `cell_max` and `cell_count`, the highest cell once and
    the lowest for the other cells (see the module docstring).
    """
    cells = list(data.get("cells") or ())
    if cells:
        return cells
    found = member_cells(data)
    count = data.get("cell_count")
    if found is None or not count:
        return None
    low, _low_cell, high, _high_cell = found
    return [high, *[low] * (int(count) - 1)]


def charge_limits(
    members: Sequence[Member], wiring: str, thresholds: Thresholds
) -> dict[str, float | None]:
    """max_charge_voltage (V), max_charge_current and max_discharge_current (A) of the bank.

    See the module docstring. Members carry `cells` (V), or `cell_min`, `cell_max` and
    `cell_count` (`member_string`), and `temperatures` (°C). Currents are 0 while any member is
    unavailable (its data None); everything is None while a member has no cell voltages (or no
    cell count besides its lowest and highest cell), and for an empty bank. Rounded to mV and
    10 mA.
    """
    result: dict[str, float | None] = dict.fromkeys(LIMIT_KEYS)
    if not members:
        return result
    if any(m.data is None for m in members):
        result["max_charge_current"] = result["max_discharge_current"] = 0.0
        return result
    strings: list[list[float]] = []
    charge: list[float] = []
    discharge: list[float] = []
    for member in members:
        data = member.data or {}
        cells = member_string(data)
        if not cells:
            return result
        strings.append(cells)
        fraction_charge, fraction_discharge = battery_current_fractions(
            cells, list(data.get("temperatures") or ())
        )
        charge.append(thresholds.max_charge_current * fraction_charge)
        discharge.append(thresholds.max_discharge_current * fraction_discharge)
    if wiring == SERIES:
        strings = [[v for cells in strings for v in cells]]  # one string of every cell
        factor = 1
    else:
        factor = len(members)
    result["max_charge_voltage"] = round(
        min(string_voltage_limit(s, thresholds) for s in strings), 3
    )
    result["max_charge_current"] = round(factor * min(charge), 2)
    result["max_discharge_current"] = round(factor * min(discharge), 2)
    return result
