"""Battery bank source: two or more batteries combined the way they are wired. No I/O of its own.

Members, mixed freely (entry.data `members`, references in the user's order):

* our JBD and Bluetooth batteries: their config entry id. The bank follows them through the
  battery registry (`sources.registry`): each running battery registers its coordinator under its
  entry id, and the bank hears at once when a member starts, stops or is reloaded with a new
  source; it listens to each member's coordinator.
* a battery service of one of our Venus GX entries: ``venus:<GX entry id>:<service identifier>``.
  Its values are the service's entities (found in the entity registry by their unique ids,
  `GX_PATHS`), read from Home Assistant's state machine.
* "a battery Home Assistant already has", from any integration: ``entities:<key>``, the entities
  in entry.data `entity_batteries[<key>]` (`ENTITY_KEYS`: voltage, current and state of charge
  required; power, remaining/nominal capacity, temperature, lowest/highest cell voltage optional),
  converted to SI units from each state's unit (`state_values`).

Entry ids alone is the format of banks made before the other kinds, so such banks load unchanged.
The bank recomputes on every member update and availability change (state changes of the
entities); once, STARTUP_GRACE seconds after it started, it recomputes to count members that never
reported as unavailable. What each member lacks for the cell monitor, the charge limits and the
totals is reported in the `lacking` sensor ("Boat: cell count, temperature").

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

from collections.abc import Callable, Mapping
import logging
import math
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, Platform
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, State, callback
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util.unit_conversion import (
    ElectricCurrentConverter,
    ElectricPotentialConverter,
    EnergyConverter,
    PowerConverter,
    TemperatureConverter,
)

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
    member_gaps,
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
from ..descriptions.bank import BINARY_SENSORS, GX_BINARY_SENSORS, SENSORS
from .bank_gx import BankGxLink, async_remove_bank
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
CONF_MEMBERS = "members"  # member references (entry ids, venus:…, entities:…), the user's order
CONF_WIRING = "wiring"  # "series" | "parallel"
CONF_CAPACITIES = "capacities"  # member reference -> capacity override in Ah
CONF_ENTITY_BATTERIES = "entity_batteries"  # key -> {"name": …, value key -> entity id}

#: member reference prefixes (a reference without one is a battery entry's id)
VENUS_PREFIX: Final = "venus:"
ENTITIES_PREFIX: Final = "entities:"

#: the value keys a battery given as entities may have, and those it must have
ENTITY_KEYS: Final = (
    "voltage", "current", "soc", "power", "remaining_capacity", "nominal_capacity",
    "temperature", "cell_min", "cell_max",
)  # fmt: skip
REQUIRED_KEYS: Final = ("voltage", "current", "soc")
#: a GX battery service's entities by value key: the D-Bus path its unique id ends with
#: (descriptions/venus.py BATTERY_SENSORS; unique id = "<service identifier>_<path>")
GX_PATHS: Final = {
    "voltage": "Dc/0/Voltage",
    "current": "Dc/0/Current",
    "soc": "Soc",
    "power": "Dc/0/Power",
    "remaining_capacity": "Capacity",
    "nominal_capacity": "InstalledCapacity",
    "temperature": "Dc/0/Temperature",
    "cell_min": "System/MinCellVoltage",
    "cell_max": "System/MaxCellVoltage",
    "charged_energy": "History/ChargedEnergy",
    "discharged_energy": "History/DischargedEnergy",
}

#: value key -> (SI unit, converter of a value in another unit to it; None: no other units)
_AMP_HOURS = {"Ah": 1.0, "mAh": 0.001, "kAh": 1000.0}


def _convert(key: str, value: float, unit: str | None) -> float | None:
    """`value` in `unit` as the SI unit of `key` (None for a unit that does not fit)."""
    if unit is None:
        return value
    converters: dict[str, tuple[Any, str]] = {
        "voltage": (ElectricPotentialConverter, "V"),
        "cell_min": (ElectricPotentialConverter, "V"),
        "cell_max": (ElectricPotentialConverter, "V"),
        "current": (ElectricCurrentConverter, "A"),
        "power": (PowerConverter, "W"),
        "temperature": (TemperatureConverter, "°C"),
        "charged_energy": (EnergyConverter, "kWh"),
        "discharged_energy": (EnergyConverter, "kWh"),
    }
    if key in converters:
        converter, target = converters[key]
        if unit not in converter.VALID_UNITS:
            return None
        return float(converter.convert(value, unit, target))
    if key in ("remaining_capacity", "nominal_capacity"):
        factor = _AMP_HOURS.get(unit)
        return None if factor is None else value * factor
    return value if unit == "%" or key != "soc" else None


def state_values(states: Mapping[str, State | None]) -> dict[str, Any] | None:
    """A member's values (bank keys, SI units) from the states of its entities, by value key.

    None (the member is unavailable) while voltage, current or state of charge has no number.
    Optional values that are not numbers are left out. Power is voltage x current when no power
    entity is given; a temperature becomes `temperatures` ([°C]).
    """
    values: dict[str, Any] = {}
    for key, state in states.items():
        if state is None:
            continue
        try:
            number = float(state.state)
        except ValueError:
            continue
        if not math.isfinite(number):
            continue
        converted = _convert(key, number, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
        if converted is not None:
            values[key] = round(converted, 6)
    if any(key not in values for key in REQUIRED_KEYS):
        return None
    values.setdefault("power", round(values["voltage"] * values["current"], 2))
    if (temperature := values.pop("temperature", None)) is not None:
        values["temperatures"] = [temperature]
    return values


class StateBattery:
    """A member read from Home Assistant's state machine: entity ids by value key.

    `async_start(action)` calls `action()` on every state change of its entities; `data()` is
    its values now (`state_values`); `seen` tells whether it ever had them.
    """

    def __init__(self, hass: HomeAssistant, name: str, entities: Mapping[str, str]) -> None:
        """`entities`: value key -> entity id."""
        self.hass = hass
        self.name = name
        self.entities = dict(entities)
        self.seen = False
        self._unsub: CALLBACK_TYPE | None = None

    @callback
    def async_start(self, action: Callable[[], None]) -> None:
        """Follow the entities' state changes (again, after `entities` changed)."""
        self.async_stop()

        @callback
        def changed(_event: Event[Any]) -> None:
            action()

        if self.entities:
            self._unsub = async_track_state_change_event(
                self.hass, list(self.entities.values()), changed
            )

    @callback
    def async_stop(self) -> None:
        """Stop following."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    def data(self) -> dict[str, Any] | None:
        """The member's values now, or None while a required value is missing."""
        values = state_values(
            {key: self.hass.states.get(entity_id) for key, entity_id in self.entities.items()}
        )
        self.seen = self.seen or values is not None
        return values


def gx_entities(hass: HomeAssistant, identifier: str) -> dict[str, str]:
    """The registered entities of a GX battery service by value key (`GX_PATHS`)."""
    registry = er.async_get(hass)
    found: dict[str, str] = {}
    for key, path in GX_PATHS.items():
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{identifier}_{path}")
        if entity_id is not None:
            found[key] = entity_id
    return found


def parse_venus_ref(ref: str) -> tuple[str, str]:
    """(GX entry id, service identifier) of a ``venus:<entry id>:<identifier>`` reference."""
    entry_id, _sep, identifier = ref.removeprefix(VENUS_PREFIX).partition(":")
    return entry_id, identifier


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


ISSUE_BANK_MEMBER_MISSING = "bank_member_missing"


def bank_issue_id(entry_id: str) -> str:
    """The issue id of a bank's missing members."""
    return f"{ISSUE_BANK_MEMBER_MISSING}_{entry_id}"


def missing_members(hass: HomeAssistant, entry: ConfigEntry) -> list[str]:
    """The member references of bank `entry` whose config entry no longer exists, in order
    (entity batteries are Home Assistant's entities: never missing here)."""
    missing = []
    for ref in entry.data.get(CONF_MEMBERS, []):
        if ref.startswith(ENTITIES_PREFIX):
            continue
        entry_id = parse_venus_ref(ref)[0] if ref.startswith(VENUS_PREFIX) else ref
        if hass.config_entries.async_get_entry(entry_id) is None:
            missing.append(ref)
    return missing


@callback
def async_check_bank_members(hass: HomeAssistant, entry: ConfigEntry) -> list[str]:
    """Raise (or clear) the fixable `bank_member_missing` issue of bank `entry`; the missing
    member references."""
    missing = missing_members(hass, entry)
    issue_id = bank_issue_id(entry.entry_id)
    if missing:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_BANK_MEMBER_MISSING,
            translation_placeholders={"bank": entry.title, "count": str(len(missing))},
            data={"entry_id": entry.entry_id},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
    return missing


class BankSource(Source):
    """A virtual battery over two or more batteries of any kind (see the module docstring)."""

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
        #: battery entries (JBD, BLE) by entry id: their running coordinators
        self.entry_ids = [
            m for m in self.member_ids if not m.startswith((VENUS_PREFIX, ENTITIES_PREFIX))
        ]
        self._members: dict[str, DeviceCoordinator | None] = dict.fromkeys(self.entry_ids)
        #: GX battery services and batteries given as entities: read from the state machine
        self.state_members: dict[str, StateBattery] = {}
        batteries: Mapping[str, Any] = entry.data.get(CONF_ENTITY_BATTERIES, {})
        for ref in self.member_ids:
            if ref.startswith(ENTITIES_PREFIX):
                spec = dict(batteries.get(ref.removeprefix(ENTITIES_PREFIX), {}))
                name = str(spec.pop("name", "") or ref)
                entities = {k: v for k, v in spec.items() if k in ENTITY_KEYS and v}
                self.state_members[ref] = StateBattery(hass, name, entities)
            elif ref.startswith(VENUS_PREFIX):
                self.state_members[ref] = StateBattery(hass, parse_venus_ref(ref)[1], {})
        self._unsub_entity_registry: CALLBACK_TYPE | None = None
        self.lacking: dict[str, list[str]] = {}
        self._unsubs: dict[str, CALLBACK_TYPE] = {}
        self._unsub_registry: CALLBACK_TYPE | None = None
        self._unsub_grace: CALLBACK_TYPE | None = None
        self._in_grace = False
        self.updates = 0
        self.events_fired = 0
        # --- issue 10: the bank's charge limits to a GX (sources/bank_gx.py) ---
        self.gx_link = BankGxLink(hass, entry, self._async_update)

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS + GX_BINARY_SENSORS,
    }

    async def async_start(self) -> None:
        """Raise the fixable repair issue when a member's entry was deleted (that member then
        counts as unavailable: no setup failure), follow the members, compute once."""
        async_check_bank_members(self.hass, self.entry)
        self.devices[self.coordinator.identifier] = self.coordinator
        async_remove_cell_text_sensors(self.hass, self.coordinator.identifier)
        registry = battery_registry(self.hass)
        self._unsub_registry = registry.async_track(self.entry_ids, self._async_member_changed)
        for entry_id in self.entry_ids:
            self._async_follow(entry_id)
        self._async_resolve_gx()
        for member in self.state_members.values():
            member.async_start(self._async_update)
        if any(ref.startswith(VENUS_PREFIX) for ref in self.member_ids):
            self._unsub_entity_registry = self.hass.bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_entity_registry_updated
            )
        self._in_grace = STARTUP_GRACE > 0
        if self._in_grace:
            self._unsub_grace = async_call_later(
                self.hass, STARTUP_GRACE, HassJob(self._async_grace_over, cancel_on_shutdown=True)
            )
        await self.gx_link.async_start()  # issue 10: restores the GX when the option went off
        self._async_update()

    async def async_stop(self) -> None:
        """Stop following the members."""
        await super().async_stop()
        for unsub in (
            self._unsub_grace,
            self._unsub_registry,
            self._unsub_entity_registry,
            *self._unsubs.values(),
        ):
            if unsub is not None:
                unsub()
        self._unsub_grace = self._unsub_registry = self._unsub_entity_registry = None
        self._unsubs.clear()
        for member in self.state_members.values():
            member.async_stop()
        self.gx_link.async_stop()  # issue 10

    @callback
    def _async_resolve_gx(self) -> bool:
        """Find the entities of the GX battery members (and their names); True when changed."""
        changed = False
        devices = dr.async_get(self.hass)
        for ref, member in self.state_members.items():
            if not ref.startswith(VENUS_PREFIX):
                continue
            gx_entry_id, identifier = parse_venus_ref(ref)
            device = devices.async_get_device_by_identifier((DOMAIN, identifier), gx_entry_id)
            if device is not None:
                member.name = device.name_by_user or device.name or identifier
            entities = gx_entities(self.hass, identifier)
            if entities != member.entities:
                member.entities = entities
                changed = True
        return changed

    @callback
    def _async_entity_registry_updated(self, event: Event[Any]) -> None:
        """A GX battery's entity may have been created: find them again, follow, recompute."""
        if event.data.get("action") != "create":
            return
        if self._async_resolve_gx():
            for ref, member in self.state_members.items():
                if ref.startswith(VENUS_PREFIX):
                    member.async_start(self._async_update)
            self._async_update()

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
        for index, ref in enumerate(self.member_ids):
            capacity = self.capacities.get(ref)
            if (state_member := self.state_members.get(ref)) is not None:
                data = state_member.data()
                if data is None and not (in_grace and not state_member.seen):
                    unavailable.append(index)
                members.append(Member(state_member.name, data, capacity))
                continue
            entry = self.hass.config_entries.async_get_entry(ref)
            name = entry.title if entry is not None else ref
            coordinator = self._members.get(ref)
            fresh = coordinator is not None and coordinator.last_update_success
            if not fresh and not (in_grace and (coordinator is None or not coordinator.updates)):
                unavailable.append(index)
            members.append(
                Member(
                    name,
                    dict(coordinator.data) if fresh and coordinator is not None else None,
                    capacity,
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

        def where(extreme: CellExtreme | None) -> dict[str, Any] | None:
            """The cell's identity: the member's name and the cell's number (None when the
            battery reports its extremes, not which cell): attributes of the voltage sensor."""
            if extreme is None:
                return None
            return {"battery": members[extreme.battery].name, "cell": extreme.cell}

        for member in members:  # what each available member lacks (kept while unavailable)
            if member.data is not None:
                self.lacking[member.name] = member_gaps(member.data, member.capacity)
        lacking = [
            f"{m.name}: {', '.join(gaps)}" for m in members if (gaps := self.lacking.get(m.name))
        ]

        values.update(
            lowest_cell_voltage=cells.lowest.voltage if cells.lowest else None,
            lowest_cell_location=where(cells.lowest),
            highest_cell_voltage=cells.highest.voltage if cells.highest else None,
            highest_cell_location=where(cells.highest),
            cell_spread=cells.spread,
            largest_cell_delta=cells.largest_delta,
            largest_cell_delta_battery=(
                members[cells.largest_delta_battery].name
                if cells.largest_delta_battery is not None
                else None
            ),
            members_available=len(members) - len([m for m in members if m.data is None]),
            lacking="; ".join(lacking)[:255] if lacking else "nothing",
        )
        for name, alert in self.tracker.update(values["soc"], cells, unavailable):
            self._fire(name, alert, members)
        for name, alert in self.tracker.alerts.items():
            values[f"alert_{name}"] = alert.active
        self.gx_link.update(values, unavailable)  # issue 10: the GX follows the limits
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

    # --- issue 10: the bank's charge limits to a GX (sources/bank_gx.py) ---

    @classmethod
    async def async_remove_entry(cls, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """The bank is deleted: a GX that followed it gets its own charge limits back."""
        await async_remove_bank(hass, entry)

    def diagnostics(self) -> dict[str, Any]:
        """Wiring, members, thresholds, alert states and counters."""
        members, unavailable = self.members()
        return {
            **super().diagnostics(),
            "wiring": self.wiring,
            "members": [
                {
                    "kind": _kind(ref),
                    "available": m.data is not None,
                    "capacity_override": m.capacity,
                    "lacking": self.lacking.get(m.name, []),
                }
                for ref, m in zip(self.member_ids, members, strict=True)
            ],
            "unavailable": unavailable,
            "thresholds": {k: getattr(self.thresholds, k) for k in Thresholds.__dataclass_fields__},
            "alerts": {k: a.active for k, a in self.tracker.alerts.items()},
            "updates": self.updates,
            "events_fired": self.events_fired,
            "gx_link": self.gx_link.diagnostics(),  # issue 10
        }


def _kind(ref: str) -> str:
    """'battery', 'gx' or 'entities': what kind of member a reference is."""
    if ref.startswith(VENUS_PREFIX):
        return "gx"
    if ref.startswith(ENTITIES_PREFIX):
        return "entities"
    return "battery"


#: keys of the bank's former "Lowest cell" / "Highest cell" text sensors (issue 12: they flipped
#: between batteries every 10-40 s); the cell's identity is now an attribute of the voltage rows
REMOVED_CELL_TEXT_KEYS: Final = ("lowest_cell", "highest_cell")


@callback
def async_remove_cell_text_sensors(hass: HomeAssistant, identifier: str) -> int:
    """Remove the registry entries of the bank's former cell text sensors (unique id
    ``<bank identifier>_lowest_cell`` / ``_highest_cell``); returns how many were removed."""
    registry = er.async_get(hass)
    removed = 0
    for key in REMOVED_CELL_TEXT_KEYS:
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{identifier}_{key}")
        if entity_id is not None:
            registry.async_remove(entity_id)
            removed += 1
    return removed
