"""Battery bank source: 2-4 JBD batteries combined the way they are wired. No I/O of its own.

The bank listens to its member entries' coordinators (found through `hass.config_entries` and
their `runtime_data`, re-resolved every second so a reloaded member is picked up again) and
recomputes on every member update:

* Aggregation (`aggregate`). Series: voltages add, current is the average (the same current flows
  through every battery; the average smooths their shunt errors), capacity is the lowest, cell
  counts add, a FET is on only when it is on in every battery (AND). Parallel: voltage is the
  average, currents add, capacities add, state of charge is capacity-weighted, a FET is on when it
  is on in any battery (OR). Power is the sum of the batteries' own powers either way. A capacity
  override (Ah) replaces a battery's nominal capacity and its remaining capacity becomes
  SOC x override. Aggregates are None while any member has no fresh data.
* Cell monitor (`cell_monitor`): the lowest and the highest cell of the bank and which battery
  and cell holds them, the spread between them, and the largest cell delta inside one battery.
* Charge limits (`charge_limits`), the way dbus-serialbattery computes them for a GX (its
  config.default.ini defaults, linear mode): maximum charge voltage = cell limit x cells in series,
  lowered by the sum of every cell's overshoot above the limit (its "penalty sum" P-controller);
  maximum charge/discharge current = the per-battery maximum x a fraction interpolated from the
  highest (charge) or lowest (discharge) cell voltage and from the worst temperature. Series: the
  lowest battery's limit; parallel: the number of batteries x the lowest battery's limit. While a
  member is unavailable both currents are 0 A (the GX drivers block on lost communication).
* Alerts (`AlertTracker`), as problem binary sensors and bus events: state of charge below the
  warning and the alarm level, a cell below or above its limits, cell imbalance above a threshold
  (series: the spread over all cells, which form one string; parallel: the largest delta inside
  one battery), a member battery unavailable. Each alert clears with a little hysteresis.
  Events: ``victron_venus_bank_alert`` when an alert becomes active and
  ``victron_venus_bank_alert_cleared`` when it clears; data: ``entry_id``, ``bank`` (title),
  ``alert`` (one of `ALERTS`), ``value``, ``limit``, ``battery`` (member title or None),
  ``cell`` (1-based index or None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
import logging
import time
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_time_interval

from ..const import DOMAIN
from ..descriptions.bank import BINARY_SENSORS, SENSORS
from ..entity import DeviceCoordinator, update_interval_of
from .base import Source

_LOGGER = logging.getLogger(__name__)

#: entry.data keys
CONF_MEMBERS = "members"  # member config entry ids, in the user's order
CONF_WIRING = "wiring"  # "series" | "parallel"
CONF_CAPACITIES = "capacities"  # member entry id -> capacity override in Ah
SERIES: Final = "series"
PARALLEL: Final = "parallel"

#: options and their defaults
CONF_SOC_WARNING = "soc_warning"
CONF_SOC_ALARM = "soc_alarm"
CONF_CELL_LOW = "cell_low"
CONF_CELL_HIGH = "cell_high"
CONF_IMBALANCE = "imbalance"
CONF_MAX_CHARGE_CURRENT = "max_charge_current"
CONF_MAX_DISCHARGE_CURRENT = "max_discharge_current"

EVENT_ALERT: Final = f"{DOMAIN}_bank_alert"
EVENT_ALERT_CLEARED: Final = f"{DOMAIN}_bank_alert_cleared"
ALERTS: Final = (
    "soc_warning",
    "soc_alarm",
    "cell_low",
    "cell_high",
    "imbalance",
    "member_unavailable",
)

#: seconds a member may take to report after Home Assistant starts before it counts as unavailable
STARTUP_GRACE = 90.0
#: hysteresis: an alert clears only this far back on the safe side of its limit
SOC_HYSTERESIS = 2.0  # %
CELL_HYSTERESIS = 0.02  # V
IMBALANCE_CLEAR_FRACTION = 0.8

# dbus-serialbattery config.default.ini (linear mode), as (x ascending, fraction)
CHARGE_CELL_CURVE = ((3.375, 1.0), (3.400, 0.25), (3.425, 0.05), (3.450, 0.005), (3.500, 0.0))
DISCHARGE_CELL_CURVE = ((2.800, 0.0), (2.900, 0.005), (3.000, 0.05), (3.100, 0.25), (3.190, 1.0))
CHARGE_TEMPERATURE_CURVE = (
    (0, 0.0), (2, 0.25), (5, 0.5), (10, 1.0), (40, 1.0), (45, 0.5), (50, 0.25), (55, 0.0),
)  # fmt: skip
DISCHARGE_TEMPERATURE_CURVE = (
    (-10, 0.0), (0, 0.25), (5, 0.5), (10, 1.0), (40, 1.0), (45, 0.5), (50, 0.25), (55, 0.0),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The bank's options: alert limits (%, V) and per-battery current maxima (A)."""

    soc_warning: float = 20.0
    soc_alarm: float = 10.0
    cell_low: float = 2.9
    cell_high: float = 3.45
    imbalance: float = 0.1
    max_charge_current: float = 50.0
    max_discharge_current: float = 60.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Thresholds:
        """Thresholds from entry.options (defaults for missing keys)."""
        default = cls()
        return cls(
            **{
                name: float(options.get(name, getattr(default, name)))
                for name in cls.__dataclass_fields__
            }
        )


@dataclass(frozen=True, slots=True)
class Member:
    """One battery as the aggregation sees it: title, latest values (None = unavailable)."""

    name: str
    data: Mapping[str, Any] | None
    capacity: float | None = None  # override in Ah


def interpolate(x: float, curve: Sequence[tuple[float, float]]) -> float:
    """Piecewise-linear y(x) on `curve` ((x, y) with x ascending), flat beyond both ends."""
    if x <= curve[0][0]:
        return curve[0][1]
    for (x0, y0), (x1, y1) in pairwise(curve):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return curve[-1][1]


def _capacity(member: Member) -> tuple[float | None, float | None]:
    """(remaining Ah, nominal Ah) of a member, with its capacity override applied."""
    data = member.data or {}
    if member.capacity:
        soc = data.get("soc")
        return (None if soc is None else soc / 100 * member.capacity), member.capacity
    return data.get("remaining_capacity"), data.get("nominal_capacity")


def _all(values: list[Any]) -> bool:
    return all(v is not None for v in values)


def aggregate(members: Sequence[Member], wiring: str) -> dict[str, Any]:
    """The bank's pack values from its members (see the module docstring); SI units.

    Keys: voltage V, current A, power W, soc %, remaining_capacity and nominal_capacity Ah,
    cell_count, charge_fet, discharge_fet, temperature_min and temperature_max °C,
    charged_energy and discharged_energy kWh. Every value is None while any member is
    unavailable or lacks it.
    """
    keys = (
        "voltage", "current", "power", "soc", "remaining_capacity", "nominal_capacity",
        "cell_count", "charge_fet", "discharge_fet", "temperature_min", "temperature_max",
        "charged_energy", "discharged_energy",
    )  # fmt: skip
    result: dict[str, Any] = dict.fromkeys(keys)
    if not members or any(m.data is None for m in members):
        return result
    data = [m.data or {} for m in members]

    def values(key: str) -> list[Any]:
        return [d.get(key) for d in data]

    volts, amps, watts, socs = values("voltage"), values("current"), values("power"), values("soc")
    capacities = [_capacity(m) for m in members]
    remaining: list[Any] = [c[0] for c in capacities]
    nominal: list[Any] = [c[1] for c in capacities]
    cells = values("cell_count")
    charge, discharge = values("charge_fet"), values("discharge_fet")
    series = wiring == SERIES
    if _all(volts):
        result["voltage"] = round(sum(volts) if series else sum(volts) / len(volts), 3)
    if _all(amps):
        result["current"] = round(sum(amps) / len(amps) if series else sum(amps), 3)
    if _all(watts):
        result["power"] = round(sum(watts), 2)
    if _all(remaining) and _all(nominal):
        if series:
            result["remaining_capacity"] = round(min(remaining), 3)
            result["nominal_capacity"] = round(min(nominal), 3)
        else:
            result["remaining_capacity"] = round(sum(remaining), 3)
            result["nominal_capacity"] = round(sum(nominal), 3)
    if _all(socs):
        total = sum(nominal) if _all(nominal) else 0
        if series:
            result["soc"] = min(socs)
        elif total and _all(remaining):
            result["soc"] = round(100 * sum(remaining) / total, 1)
        else:
            result["soc"] = round(sum(socs) / len(socs), 1)
    if _all(cells):
        result["cell_count"] = sum(cells) if series else min(cells)
    if _all(charge):
        result["charge_fet"] = all(charge) if series else any(charge)
    if _all(discharge):
        result["discharge_fet"] = all(discharge) if series else any(discharge)
    temperatures = [t for d in data for t in (d.get("temperatures") or ())]
    if temperatures:
        result["temperature_min"] = min(temperatures)
        result["temperature_max"] = max(temperatures)
    for key in ("charged_energy", "discharged_energy"):
        if _all(counters := values(key)):
            result[key] = round(sum(counters), 6)
    return result


@dataclass(frozen=True, slots=True)
class CellExtreme:
    """A cell of the bank: its voltage (V), the battery's index in the bank and the cell's (1-)."""

    voltage: float
    battery: int
    cell: int


@dataclass(frozen=True, slots=True)
class CellMonitor:
    """Cells across the bank: extremes, spread (V), the largest delta inside one battery (V)."""

    lowest: CellExtreme | None = None
    highest: CellExtreme | None = None
    spread: float | None = None
    largest_delta: float | None = None
    largest_delta_battery: int | None = None


def cell_monitor(members: Sequence[Member]) -> CellMonitor:
    """Cell extremes over every member that has cell voltages (available members only)."""
    lowest: CellExtreme | None = None
    highest: CellExtreme | None = None
    largest: tuple[float, int] | None = None
    for index, member in enumerate(members):
        cells = (member.data or {}).get("cells") or ()
        if not cells:
            continue
        low = min(cells)
        high = max(cells)
        if lowest is None or low < lowest.voltage:
            lowest = CellExtreme(low, index, cells.index(low) + 1)
        if highest is None or high > highest.voltage:
            highest = CellExtreme(high, index, cells.index(high) + 1)
        delta = round(high - low, 4)
        if largest is None or delta > largest[0]:
            largest = (delta, index)
    if lowest is None or highest is None or largest is None:
        return CellMonitor()
    return CellMonitor(
        lowest, highest, round(highest.voltage - lowest.voltage, 4), largest[0], largest[1]
    )


def battery_current_fractions(
    cells: Sequence[float], temperatures: Sequence[float]
) -> tuple[float, float]:
    """(charge, discharge) fractions of one battery's maximum currents (0..1).

    Charge: the lower of the fraction for its highest cell (CHARGE_CELL_CURVE) and for its worst
    temperature (CHARGE_TEMPERATURE_CURVE); discharge likewise with its lowest cell and the
    discharge curves. No temperature sensor means no temperature derating.
    """
    charge = interpolate(max(cells), CHARGE_CELL_CURVE) if cells else 1.0
    discharge = interpolate(min(cells), DISCHARGE_CELL_CURVE) if cells else 1.0
    for t in temperatures:
        charge = min(charge, interpolate(t, CHARGE_TEMPERATURE_CURVE))
        discharge = min(discharge, interpolate(t, DISCHARGE_TEMPERATURE_CURVE))
    return charge, discharge


def charge_limits(
    members: Sequence[Member], wiring: str, thresholds: Thresholds
) -> dict[str, float | None]:
    """max_charge_voltage (V), max_charge_current and max_discharge_current (A) of the bank.

    See the module docstring. Currents are 0 while any member is unavailable; everything is None
    while a member has no cell voltages yet.
    """
    result: dict[str, float | None] = dict.fromkeys(
        ("max_charge_voltage", "max_charge_current", "max_discharge_current")
    )
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
        cells = list(data.get("cells") or ())
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

    def string_limit(cells: list[float]) -> float:
        penalty = sum(max(0.0, v - thresholds.cell_high) for v in cells)
        return max(thresholds.cell_high * len(cells) - penalty, thresholds.cell_low * len(cells))

    result["max_charge_voltage"] = round(min(string_limit(s) for s in strings), 3)
    result["max_charge_current"] = round(factor * min(charge), 2)
    result["max_discharge_current"] = round(factor * min(discharge), 2)
    return result


@dataclass(slots=True)
class Alert:
    """An alert's state and the facts behind it."""

    active: bool = False
    value: float | None = None
    limit: float | None = None
    battery: int | None = None
    cell: int | None = None


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

        `soc` None (unknown) keeps both SOC alerts as they are; no cell data keeps the cell
        alerts; `unavailable` lists the indexes of unavailable members.
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

        def band(value: float | None, active: bool, trip: bool, clear: bool) -> bool | None:
            """Trip when `trip`; once active, stay on until `clear`."""
            if value is None:
                return None
            return (not clear) if active else trip

        for name, limit in (("soc_warning", th.soc_warning), ("soc_alarm", th.soc_alarm)):
            active = self.alerts[name].active
            on = band(soc, active, soc is not None and soc < limit,
                      soc is not None and soc >= limit + SOC_HYSTERESIS)  # fmt: skip
            set_(name, on, value=soc, limit=limit)

        low, high = cells.lowest, cells.highest
        if low is not None:
            on = band(low.voltage, self.alerts["cell_low"].active, low.voltage < th.cell_low,
                      low.voltage >= th.cell_low + CELL_HYSTERESIS)  # fmt: skip
            set_("cell_low", on, value=low.voltage, limit=th.cell_low,
                 battery=low.battery, cell=low.cell)  # fmt: skip
        if high is not None:
            on = band(high.voltage, self.alerts["cell_high"].active, high.voltage > th.cell_high,
                      high.voltage <= th.cell_high - CELL_HYSTERESIS)  # fmt: skip
            set_("cell_high", on, value=high.voltage, limit=th.cell_high,
                 battery=high.battery, cell=high.cell)  # fmt: skip
        imbalance = cells.spread if self.wiring == SERIES else cells.largest_delta
        if imbalance is not None:
            battery = None if self.wiring == SERIES else cells.largest_delta_battery
            on = band(imbalance, self.alerts["imbalance"].active, imbalance > th.imbalance,
                      imbalance <= th.imbalance * IMBALANCE_CLEAR_FRACTION)  # fmt: skip
            set_("imbalance", on, value=imbalance, limit=th.imbalance, battery=battery)
        set_(
            "member_unavailable",
            bool(unavailable),
            value=float(len(unavailable)),
            battery=unavailable[0] if unavailable else None,
        )
        return changed


class BankSource(Source):
    """A virtual battery over 2-4 JBD battery entries (see the module docstring)."""

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR)

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Prepare the bank of `entry`; nothing runs before async_start."""
        super().__init__(hass, entry)
        assert entry.unique_id is not None
        self.member_ids: list[str] = list(entry.data[CONF_MEMBERS])
        self.wiring: str = entry.data[CONF_WIRING]
        self.capacities: dict[str, float] = {
            k: float(v) for k, v in entry.data.get(CONF_CAPACITIES, {}).items() if v
        }
        self.thresholds = Thresholds.from_options(entry.options)
        self.tracker = AlertTracker(self.thresholds, self.wiring)
        self.coordinator = DeviceCoordinator(
            hass,
            entry,
            identifier=entry.unique_id,
            device_info=DeviceInfo(
                identifiers={(DOMAIN, entry.unique_id)},
                manufacturer="Victron Venus",
                model=f"Battery bank, {len(self.member_ids)} in {self.wiring}",
                name=entry.title,
            ),
            update_interval=update_interval_of(entry),
        )
        self._members: dict[str, DeviceCoordinator | None] = dict.fromkeys(self.member_ids)
        self._unsubs: dict[str, CALLBACK_TYPE] = {}
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._started = time.monotonic()
        self.updates = 0
        self.events_fired = 0

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
    }

    async def async_start(self) -> None:
        """Check the members still exist (ConfigEntryError), subscribe, compute once."""
        missing = [
            m for m in self.member_ids if self.hass.config_entries.async_get_entry(m) is None
        ]
        if missing:
            raise ConfigEntryError(
                f"{len(missing)} member batteries of this bank were deleted: reconfigure the bank"
            )
        self._started = time.monotonic()
        self.devices[self.coordinator.identifier] = self.coordinator
        self._async_resolve()
        self._async_update()
        self._unsub_timer = async_track_time_interval(
            self.hass, self._async_tick, timedelta(seconds=1), cancel_on_shutdown=True
        )

    async def async_stop(self) -> None:
        """Stop listening to the members."""
        await super().async_stop()
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        for unsub in self._unsubs.values():
            unsub()
        self._unsubs.clear()

    def _member_coordinator(self, entry_id: str) -> DeviceCoordinator | None:
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        coordinator = getattr(getattr(entry, "runtime_data", None), "coordinator", None)
        return coordinator if isinstance(coordinator, DeviceCoordinator) else None

    @callback
    def _async_resolve(self) -> bool:
        """(Re)subscribe to each member's current coordinator; True when any changed."""
        changed = False
        for entry_id in self.member_ids:
            coordinator = self._member_coordinator(entry_id)
            if coordinator is self._members[entry_id]:
                continue
            changed = True
            if (unsub := self._unsubs.pop(entry_id, None)) is not None:
                unsub()
            self._members[entry_id] = coordinator
            if coordinator is not None:
                self._unsubs[entry_id] = coordinator.async_add_listener(self._async_update)
        return changed

    @callback
    def _async_tick(self, _now: Any) -> None:
        if self._async_resolve() or time.monotonic() - self._started < STARTUP_GRACE + 2:
            self._async_update()

    def members(self) -> tuple[list[Member], list[int]]:
        """The members as the aggregation sees them, and the indexes of unavailable ones.

        A member that has not reported yet within STARTUP_GRACE seconds after the bank started
        counts as missing data but not (yet) as unavailable.
        """
        members: list[Member] = []
        unavailable: list[int] = []
        in_grace = time.monotonic() - self._started < STARTUP_GRACE
        for index, entry_id in enumerate(self.member_ids):
            entry = self.hass.config_entries.async_get_entry(entry_id)
            name = entry.title if entry is not None else entry_id
            coordinator = self._members.get(entry_id)
            fresh = coordinator is not None and coordinator.last_update_success
            if not fresh and not (in_grace and (coordinator is None or not coordinator.updates)):
                unavailable.append(index)
            members.append(
                Member(
                    name,
                    dict(coordinator.data) if fresh and coordinator is not None else None,
                    self.capacities.get(entry_id),
                )
            )
        return members, unavailable

    @callback
    def _async_update(self) -> None:
        """Recompute the bank from its members; push; fire events for changed alerts."""
        members, unavailable = self.members()
        values = aggregate(members, self.wiring)
        cells = cell_monitor(members)  # unavailable members (no data) are skipped
        values.update(charge_limits(members, self.wiring, self.thresholds))

        def where(extreme: CellExtreme | None) -> str | None:
            if extreme is None:
                return None
            return f"{members[extreme.battery].name}, cell {extreme.cell}"

        values.update(
            lowest_cell_voltage=cells.lowest.voltage if cells.lowest else None,
            lowest_cell=where(cells.lowest),
            highest_cell_voltage=cells.highest.voltage if cells.highest else None,
            highest_cell=where(cells.highest),
            cell_spread=cells.spread,
            largest_cell_delta=cells.largest_delta,
            largest_cell_delta_battery=(
                members[cells.largest_delta_battery].name
                if cells.largest_delta_battery is not None
                else None
            ),
            members_available=len(members) - len([m for m in members if m.data is None]),
        )
        for name, alert in self.tracker.update(values["soc"], cells, unavailable):
            self._fire(name, alert, members)
        for name, alert in self.tracker.alerts.items():
            values[f"alert_{name}"] = alert.active
        self.updates += 1
        self.coordinator.async_push(values)

    def _fire(self, name: str, alert: Alert, members: list[Member]) -> None:
        self.events_fired += 1
        battery = members[alert.battery].name if alert.battery is not None else None
        _LOGGER.log(
            logging.WARNING if alert.active else logging.INFO,
            "%s: alert %s %s (value %s, limit %s%s)",
            self.entry.title,
            name,
            "active" if alert.active else "cleared",
            alert.value,
            alert.limit,
            f", {battery}" if battery else "",
        )
        self.hass.bus.async_fire(
            EVENT_ALERT if alert.active else EVENT_ALERT_CLEARED,
            {
                "entry_id": self.entry.entry_id,
                "bank": self.entry.title,
                "alert": name,
                "value": alert.value,
                "limit": alert.limit,
                "battery": battery,
                "cell": alert.cell,
            },
        )

    def diagnostics(self) -> dict[str, Any]:
        """Wiring, members, thresholds, alert states and counters."""
        members, unavailable = self.members()
        return {
            **super().diagnostics(),
            "wiring": self.wiring,
            "members": [
                {"available": m.data is not None, "capacity_override": m.capacity} for m in members
            ],
            "unavailable": unavailable,
            "thresholds": {k: getattr(self.thresholds, k) for k in Thresholds.__dataclass_fields__},
            "alerts": {k: a.active for k, a in self.tracker.alerts.items()},
            "updates": self.updates,
            "events_fired": self.events_fired,
        }
