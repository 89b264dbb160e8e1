"""Battery bank source: 2-4 JBD batteries combined the way they are wired. No I/O of its own.

The bank follows its members through the battery registry (`sources.registry`): each running
battery registers its coordinator under its entry id, and the bank hears at once when a member
starts, stops or is reloaded with a new source. It listens to each member's coordinator and
recomputes on every member update and availability change; once, STARTUP_GRACE seconds after it
started, it recomputes to count members that never reported as unavailable.

The maths is pure and lives in the `battery` package (re-exported here under its old names):

* Aggregation (`battery.bank.aggregate`): series or parallel pack values; None while any member
  has no fresh data. Cell monitor (`battery.bank.cell_monitor`): extremes, spread, largest delta.
* Charge limits (`battery.charge_limits.charge_limits`): CVL, CCL and DCL the way
  dbus-serialbattery computes them for a GX; while a member is unavailable both currents are 0 A.
* Alerts (`battery.alerts.AlertTracker`), as problem binary sensors and bus events: state of
  charge below the warning and the alarm level, a cell below or above its limits, cell imbalance
  above a threshold, a member battery unavailable; each clears with a little hysteresis.
  Events: ``victron_venus_bank_alert`` when an alert becomes active and
  ``victron_venus_bank_alert_cleared`` when it clears; data: ``entry_id``, ``bank`` (title),
  ``alert`` (one of `ALERTS`), ``value``, ``limit``, ``battery`` (member title or None),
  ``cell`` (1-based index or None).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later

from ..battery.alerts import (
    ALERTS,
    CELL_HYSTERESIS,
    IMBALANCE_CLEAR_FRACTION,
    SOC_HYSTERESIS,
    Alert,
    AlertTracker,
)
from ..battery.bank import (
    PARALLEL,
    SERIES,
    CellExtreme,
    CellMonitor,
    Member,
    Thresholds,
    aggregate,
    cell_monitor,
)
from ..battery.charge_limits import (
    CHARGE_CELL_CURVE,
    CHARGE_TEMPERATURE_CURVE,
    DISCHARGE_CELL_CURVE,
    DISCHARGE_TEMPERATURE_CURVE,
    battery_current_fractions,
    charge_limits,
    interpolate,
)
from ..const import DOMAIN
from ..coordinator import DeviceCoordinator, write_interval_of
from ..descriptions.bank import BINARY_SENSORS, SENSORS
from .base import Source
from .registry import battery_registry

__all__ = [  # the maths' old home: tests and tools import these names from here
    "ALERTS",
    "CELL_HYSTERESIS",
    "CHARGE_CELL_CURVE",
    "CHARGE_TEMPERATURE_CURVE",
    "DISCHARGE_CELL_CURVE",
    "DISCHARGE_TEMPERATURE_CURVE",
    "IMBALANCE_CLEAR_FRACTION",
    "PARALLEL",
    "SERIES",
    "SOC_HYSTERESIS",
    "Alert",
    "AlertTracker",
    "BankSource",
    "CellExtreme",
    "CellMonitor",
    "Member",
    "Thresholds",
    "aggregate",
    "battery_current_fractions",
    "cell_monitor",
    "charge_limits",
    "interpolate",
]

_LOGGER = logging.getLogger(__name__)

#: entry.data keys
CONF_MEMBERS = "members"  # member config entry ids, in the user's order
CONF_WIRING = "wiring"  # "series" | "parallel"
CONF_CAPACITIES = "capacities"  # member entry id -> capacity override in Ah

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

#: seconds a member may take to report after Home Assistant starts before it counts as unavailable
STARTUP_GRACE = 90.0


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
            write_interval=write_interval_of(entry),
        )
        self._members: dict[str, DeviceCoordinator | None] = dict.fromkeys(self.member_ids)
        self._unsubs: dict[str, CALLBACK_TYPE] = {}
        self._unsub_registry: CALLBACK_TYPE | None = None
        self._unsub_grace: CALLBACK_TYPE | None = None
        self._in_grace = False
        self.updates = 0
        self.events_fired = 0

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
    }

    async def async_start(self) -> None:
        """Check the members still exist (ConfigEntryError), follow them, compute once."""
        missing = [
            m for m in self.member_ids if self.hass.config_entries.async_get_entry(m) is None
        ]
        if missing:
            raise ConfigEntryError(
                f"{len(missing)} member batteries of this bank were deleted: reconfigure the bank"
            )
        self.devices[self.coordinator.identifier] = self.coordinator
        registry = battery_registry(self.hass)
        self._unsub_registry = registry.async_track(self.member_ids, self._async_member_changed)
        for entry_id in self.member_ids:
            self._async_follow(entry_id)
        self._in_grace = STARTUP_GRACE > 0
        if self._in_grace:
            self._unsub_grace = async_call_later(
                self.hass, STARTUP_GRACE, HassJob(self._async_grace_over, cancel_on_shutdown=True)
            )
        self._async_update()

    async def async_stop(self) -> None:
        """Stop following the members."""
        await super().async_stop()
        for unsub in (self._unsub_grace, self._unsub_registry, *self._unsubs.values()):
            if unsub is not None:
                unsub()
        self._unsub_grace = self._unsub_registry = None
        self._unsubs.clear()

    @callback
    def _async_follow(self, entry_id: str) -> bool:
        """Listen to the member's current coordinator (from the registry); True when it changed."""
        coordinator = battery_registry(self.hass).get(entry_id)
        if coordinator is self._members[entry_id]:
            return False
        if (unsub := self._unsubs.pop(entry_id, None)) is not None:
            unsub()
        self._members[entry_id] = coordinator
        if coordinator is not None:
            self._unsubs[entry_id] = coordinator.async_add_listener(self._async_update)
        return True

    @callback
    def _async_member_changed(self, entry_id: str) -> None:
        """A member started, stopped or was reloaded (the registry says so)."""
        if self._async_follow(entry_id):
            self._async_update()

    @callback
    def _async_grace_over(self, _now: Any) -> None:
        """The startup grace ended: members that never reported now count as unavailable."""
        self._unsub_grace = None
        self._in_grace = False
        self._async_update()

    def members(self) -> tuple[list[Member], list[int]]:
        """The members as the aggregation sees them, and the indexes of unavailable ones.

        A member that has not reported yet within STARTUP_GRACE seconds after the bank started
        counts as missing data but not (yet) as unavailable.
        """
        members: list[Member] = []
        unavailable: list[int] = []
        in_grace = self._in_grace
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
