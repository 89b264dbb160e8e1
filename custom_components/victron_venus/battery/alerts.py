"""The battery bank's alerts, each with hysteresis (pure).

State of charge below the warning and the alarm level, a cell below or above its limits, cell
imbalance above a threshold (series: the spread over all cells, which form one string; parallel:
the largest delta inside one battery), a member battery unavailable. Each alert trips at its limit
and clears only a little back on the safe side of it: SOC_HYSTERESIS (%) above a SOC limit,
CELL_HYSTERESIS (V) inside a cell limit, below IMBALANCE_CLEAR_FRACTION x the imbalance limit.
So a value hovering at a limit does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .bank import SERIES, CellMonitor, Thresholds

#: Every alert, in the order `AlertTracker.update` reports changes.
ALERTS: Final = (
    "soc_warning",
    "soc_alarm",
    "cell_low",
    "cell_high",
    "imbalance",
    "member_unavailable",
)

#: hysteresis: an alert clears only this far back on the safe side of its limit
SOC_HYSTERESIS: Final = 2.0  # %
CELL_HYSTERESIS: Final = 0.02  # V
IMBALANCE_CLEAR_FRACTION: Final = 0.8


@dataclass(slots=True)
class Alert:
    """An alert's state and the facts behind it.

    `value` and `limit` in the alert's unit (% for SOC, V for cells and imbalance, a count of
    members for member_unavailable); `battery` is the member's index in the bank (0-based),
    `cell` the cell's number in that battery (1-based).
    """

    active: bool = False
    value: float | None = None
    limit: float | None = None
    battery: int | None = None
    cell: int | None = None


def _band(value: float | None, active: bool, trip: bool, clear: bool) -> bool | None:
    """Trip when `trip`; once active, stay on until `clear`; None (keep) when value is None."""
    if value is None:
        return None
    return (not clear) if active else trip


@dataclass(slots=True)
class AlertTracker:
    """Alert states with hysteresis; `update` returns the alerts that changed."""

    thresholds: Thresholds
    wiring: str
    alerts: dict[str, Alert] = field(default_factory=lambda: {name: Alert() for name in ALERTS})

    def update(
        self, soc: float | None, cells: CellMonitor, unavailable: list[int]
    ) -> list[tuple[str, Alert]]:
        """Re-evaluate every alert; return [(name, alert)] of those that turned on or off.

        `soc` in % (None, unknown, keeps both SOC alerts as they are); `cells` from
        `bank.cell_monitor` (no cell data keeps the cell alerts); `unavailable` lists the indexes
        of unavailable members. An active alert's facts follow the latest values.
        """
        th = self.thresholds
        changed: list[tuple[str, Alert]] = []

        def set_(name: str, on: bool | None, **facts: Any) -> None:
            alert = self.alerts[name]
            if on is None:
                return
            if on:  # refresh the facts while active
                for key, value in facts.items():
                    setattr(alert, key, value)
            if on != alert.active:
                alert.active = on
                if not on:
                    for key, value in facts.items():
                        setattr(alert, key, value)
                changed.append((name, alert))

        for name, limit in (("soc_warning", th.soc_warning), ("soc_alarm", th.soc_alarm)):
            active = self.alerts[name].active
            on = _band(soc, active, soc is not None and soc < limit,
                       soc is not None and soc >= limit + SOC_HYSTERESIS)  # fmt: skip
            set_(name, on, value=soc, limit=limit)

        low, high = cells.lowest, cells.highest
        if low is not None:
            on = _band(low.voltage, self.alerts["cell_low"].active, low.voltage < th.cell_low,
                       low.voltage >= th.cell_low + CELL_HYSTERESIS)  # fmt: skip
            set_("cell_low", on, value=low.voltage, limit=th.cell_low,
                 battery=low.battery, cell=low.cell)  # fmt: skip
        if high is not None:
            on = _band(high.voltage, self.alerts["cell_high"].active, high.voltage > th.cell_high,
                       high.voltage <= th.cell_high - CELL_HYSTERESIS)  # fmt: skip
            set_("cell_high", on, value=high.voltage, limit=th.cell_high,
                 battery=high.battery, cell=high.cell)  # fmt: skip
        imbalance = cells.spread if self.wiring == SERIES else cells.largest_delta
        if imbalance is not None:
            battery = None if self.wiring == SERIES else cells.largest_delta_battery
            on = _band(imbalance, self.alerts["imbalance"].active, imbalance > th.imbalance,
                       imbalance <= th.imbalance * IMBALANCE_CLEAR_FRACTION)  # fmt: skip
            set_("imbalance", on, value=imbalance, limit=th.imbalance, battery=battery)
        set_(
            "member_unavailable",
            bool(unavailable),
            value=float(len(unavailable)),
            battery=unavailable[0] if unavailable else None,
        )
        return changed
