"""Logbook config flow steps: choose the boat's position source and optional entities; reconfigure.

Test-before-configure: the position entity must give a position now (a device_tracker with
latitude/longitude attributes, or a latitude sensor with its longitude sensor, both numbers in
range); a speed sensor must have a speed unit and a power sensor a power unit; every chosen entity
must exist. unique_id = "logbook_" + the position entity id (one logbook per position source).
Options: the detector thresholds (`trips.settings.THRESHOLDS`), the engine power threshold and
the house load. Reconfigure changes the entities and the name.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_NAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util.unit_conversion import PowerConverter, SpeedConverter
import probatio

from ..const import CONF_ENTRY_TYPE, CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL, EntryType
from ..trips.feed import number, tracker_position
from ..trips.settings import (
    CONF_ANCHOR,
    CONF_CONDITIONS,
    CONF_CURRENT,
    CONF_ENGINE,
    CONF_LONGITUDE,
    CONF_POSITION,
    CONF_POWER,
    CONF_POWER_KIND,
    CONF_SOC,
    CONF_SPEED,
    CONF_VOLTAGE,
    EXTRA_OPTIONS,
    POWER_BATTERY,
    POWER_PROPULSION,
    THRESHOLDS,
    default_options,
)

DEFAULT_NAME = "Logbook"
SECTION_EXPORT = "export"

#: single-entity fields and the domains their selector offers
ENTITY_FIELDS: dict[str, list[str]] = {
    CONF_POSITION: ["device_tracker", "sensor"],
    CONF_LONGITUDE: ["sensor"],
    CONF_SPEED: ["sensor"],
    CONF_POWER: ["sensor"],
    CONF_ENGINE: ["binary_sensor", "sensor", "switch", "input_boolean"],
    CONF_ANCHOR: ["binary_sensor", "switch", "input_boolean"],
}
EXPORT_FIELDS = (CONF_SOC, CONF_CURRENT, CONF_VOLTAGE)


def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """Logbook options beside the update interval: detector thresholds, engine power, house load."""
    defaults = default_options()
    fields: dict[Any, Any] = {}
    ranges = {key: spec for key, (_, _, spec) in THRESHOLDS.items()}
    ranges.update({key: spec for key, (_, spec) in EXTRA_OPTIONS.items()})
    for key, (low, high, step, unit) in ranges.items():
        fields[probatio.Required(key, default=entry.options.get(key, defaults[key]))] = (
            NumberSelector(
                NumberSelectorConfig(
                    min=low,
                    max=high,
                    step=step,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement=unit,
                )
            )
        )
    return fields


def _optional(key: str, value: Any) -> probatio.Optional:
    if value:
        return probatio.Optional(key, description={"suggested_value": value})
    return probatio.Optional(key)


def _entity(domains: list[str], multiple: bool = False) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain=domains, multiple=multiple))


def logbook_schema(defaults: dict[str, Any]) -> probatio.Schema:
    """The form: name, position (+ longitude), speed, power and its kind, engine, anchor alarm,
    conditions, and a collapsed section with the battery entities for the CSV export."""
    fields: dict[Any, Any] = {
        probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, DEFAULT_NAME)): TextSelector(),
        probatio.Required(
            CONF_POSITION, description={"suggested_value": defaults.get(CONF_POSITION)}
        ): _entity(ENTITY_FIELDS[CONF_POSITION]),
    }
    for key in (CONF_LONGITUDE, CONF_SPEED, CONF_POWER):
        fields[_optional(key, defaults.get(key))] = _entity(ENTITY_FIELDS[key])
    fields[
        probatio.Required(CONF_POWER_KIND, default=defaults.get(CONF_POWER_KIND, POWER_PROPULSION))
    ] = SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=POWER_PROPULSION, label="Propulsion power"),
                SelectOptionDict(value=POWER_BATTERY, label="Battery power"),
            ],
            mode=SelectSelectorMode.LIST,
        )
    )
    for key in (CONF_ENGINE, CONF_ANCHOR):
        fields[_optional(key, defaults.get(key))] = _entity(ENTITY_FIELDS[key])
    fields[_optional(CONF_CONDITIONS, defaults.get(CONF_CONDITIONS))] = _entity(
        ["sensor", "weather"], multiple=True
    )
    export = {_optional(key, defaults.get(key)): _entity(["sensor"]) for key in EXPORT_FIELDS}
    fields[probatio.Required(SECTION_EXPORT)] = section(
        probatio.Schema(export), {"collapsed": not any(defaults.get(k) for k in EXPORT_FIELDS)}
    )
    return probatio.Schema(fields)


class LogbookFlowMixin(ConfigFlow):
    """The Logbook steps of the integration's config flow."""

    def _check_logbook(self, user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """(entry data, errors by field) for the form's input."""
        flat = {k: v for k, v in user_input.items() if k != SECTION_EXPORT}
        flat.update(user_input.get(SECTION_EXPORT) or {})
        data: dict[str, Any] = {CONF_ENTRY_TYPE: EntryType.LOGBOOK.value}
        errors: dict[str, str] = {}
        states = self.hass.states
        for key in (*ENTITY_FIELDS, *EXPORT_FIELDS):
            entity_id = (flat.get(key) or "").strip()
            if not entity_id:
                continue
            data[key] = entity_id
            if states.get(entity_id) is None:
                errors[key] = "entity_not_found"
        data[CONF_POWER_KIND] = flat.get(CONF_POWER_KIND) or POWER_PROPULSION
        conditions = list(dict.fromkeys(flat.get(CONF_CONDITIONS) or []))
        data[CONF_CONDITIONS] = conditions
        if any(states.get(entity_id) is None for entity_id in conditions):
            errors[CONF_CONDITIONS] = "entity_not_found"
        position = data.get(CONF_POSITION, "")
        longitude = data.get(CONF_LONGITUDE)
        if CONF_POSITION not in errors:
            if position.startswith("device_tracker."):
                if longitude:
                    errors[CONF_LONGITUDE] = "longitude_unexpected"
                elif tracker_position(states.get(position)) is None:
                    errors[CONF_POSITION] = "no_position"
            elif not longitude:
                errors[CONF_LONGITUDE] = "longitude_required"
            elif CONF_LONGITUDE not in errors:
                lat = number(states.get(position))
                lon = number(states.get(longitude))
                if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
                    errors[CONF_POSITION] = "no_position"
        for key, valid, error in (
            (CONF_SPEED, SpeedConverter.VALID_UNITS, "speed_unit"),
            (CONF_POWER, PowerConverter.VALID_UNITS, "power_unit"),
        ):
            entity_id = data.get(key)
            if entity_id and key not in errors:
                state = states.get(entity_id)
                assert state is not None
                if state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) not in valid:
                    errors[key] = error
        return data, errors

    async def async_step_logbook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the position source and the optional entities."""
        errors: dict[str, str] = {}
        defaults: dict[str, Any] = {}
        if user_input is not None:
            data, errors = self._check_logbook(user_input)
            defaults = {**data, CONF_NAME: user_input[CONF_NAME]}
            if not errors:
                await self.async_set_unique_id(f"logbook_{data[CONF_POSITION]}")
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=user_input[CONF_NAME].strip() or DEFAULT_NAME,
                    data=data,
                    options={CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL, **default_options()},
                )
        return self.async_show_form(
            step_id="logbook", data_schema=logbook_schema(defaults), errors=errors
        )

    async def async_step_reconfigure_logbook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entities or the name (the trips stay)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        defaults: dict[str, Any] = {**entry.data, CONF_NAME: entry.title}
        if user_input is not None:
            data, errors = self._check_logbook(user_input)
            defaults = {**data, CONF_NAME: user_input[CONF_NAME]}
            if not errors:
                unique_id = f"logbook_{data[CONF_POSITION]}"
                if unique_id != entry.unique_id:
                    await self.async_set_unique_id(unique_id)
                    self._abort_if_unique_id_configured()
                return self.async_update_reload_and_abort(
                    entry,
                    unique_id=unique_id,
                    title=user_input[CONF_NAME].strip() or DEFAULT_NAME,
                    data=data,
                )
        return self.async_show_form(
            step_id="reconfigure_logbook", data_schema=logbook_schema(defaults), errors=errors
        )


LOGBOOK_DATA = {
    "name": "Name",
    "position": "Position",
    "longitude": "Longitude sensor",
    "speed": "Speed over ground",
    "power": "Power",
    "power_kind": "The power is",
    "engine": "Engine running",
    "anchor": "Anchor alarm",
    "conditions": "Conditions to record",
}
LOGBOOK_DATA_DESCRIPTION = {
    "name": "The logbook's device name, e.g. your boat's name.",
    "position": "A device tracker with a GPS position (e.g. the GPS of a Venus GX), or a "
    "latitude sensor (then also choose the longitude sensor).",
    "longitude": "Only with a latitude sensor as the position: the longitude sensor.",
    "speed": "Optional: speed over ground, in any speed unit. Without it the speed is derived "
    "from the positions.",
    "power": "Optional: the power of the propulsion motor (best), or the battery power. Gives "
    "each trip's energy, Wh per nautical mile and the efficiency curve.",
    "power_kind": "Propulsion power counts positive while the motor draws. Battery power follows "
    "Victron's sign (positive while charging); the logbook takes its negative as drawn power.",
    "engine": "Optional: on while the engine runs (a binary sensor, switch, or an RPM or power "
    "sensor: running above 0). Gives engine hours and a faster start and stop.",
    "anchor": "Optional: on while the anchor alarm is set. The boat counts as anchored, and no "
    "trip starts while it is set.",
    "conditions": "Optional: wind, weather or any other entities whose states are recorded at the "
    "start and the end of every trip.",
}
EXPORT_SECTION = {
    "name": "Battery entities for the CSV export",
    "description": "The CSV export has the columns soc, current and voltage: choose their "
    "entities.",
    "data": {"soc": "State of charge", "current": "Battery current", "voltage": "Battery voltage"},
    "data_description": {
        "soc": "State of charge (%).",
        "current": "Battery current (A).",
        "voltage": "Battery voltage (V).",
    },
}

#: config-flow strings of these steps (merged into strings.json by scripts/gen_strings.py)
STRINGS: dict[str, Any] = {
    "menu": {"logbook": "Logbook (trips from GPS, speed, power and engine)"},
    "step": {
        "logbook": {
            "title": "Logbook",
            "description": "The logbook records every trip by itself: start, end, route, "
            "distance, time under way, engine hours, energy and how much power each speed "
            "costs. Choose where the boat's position comes from, and whatever else you have.",
            "data": LOGBOOK_DATA,
            "data_description": LOGBOOK_DATA_DESCRIPTION,
            "sections": {"export": EXPORT_SECTION},
        },
        "reconfigure_logbook": {
            "title": "Reconfigure the logbook",
            "description": "Change the entities or the name. The recorded trips stay.",
            "data": LOGBOOK_DATA,
            "data_description": LOGBOOK_DATA_DESCRIPTION,
            "sections": {"export": EXPORT_SECTION},
        },
    },
    "error": {
        "entity_not_found": "There is no such entity.",
        "no_position": "This entity has no position now (a device tracker needs latitude and "
        "longitude attributes; sensors need numbers in range).",
        "longitude_required": "A latitude sensor needs its longitude sensor.",
        "longitude_unexpected": "A device tracker carries the whole position: leave the "
        "longitude sensor empty.",
        "speed_unit": "This sensor has no speed unit (kn, m/s, km/h...).",
        "power_unit": "This sensor has no power unit (W or kW).",
    },
}

OPTIONS_STRINGS: dict[str, Any] = {
    "data": {
        "start_distance": "Start: distance from the rest point",
        "start_speed": "Start: speed",
        "start_hold": "Start: speed held for",
        "stop_radius": "Stop: radius",
        "stop_speed": "Stop: speed",
        "stop_window": "Stop: time within the radius",
        "merge_gap": "Merge trips separated by less than",
        "merge_distance": "Merge trips closer than",
        "data_gap": "End a trip after a data gap of",
        "min_trip_distance": "Shortest trip (distance)",
        "min_trip_duration": "Shortest trip (time)",
        "max_speed": "Reject fixes faster than",
        "engine_power": "Engine running above",
        "house_load": "House load",
        "fit_max_speed": "Fit the cube law up to",
    },
    "data_description": {
        "start_distance": "Logbooks: a trip starts when the boat is this far from where it "
        "rested (m).",
        "start_speed": "Logbooks: ... or when it keeps at least this speed (kn) ...",
        "start_hold": "Logbooks: ... for this long (s), having moved at least 50 m.",
        "stop_radius": "Logbooks: the boat stops when every position of the stop time lies "
        "within this radius (m) ...",
        "stop_speed": "Logbooks: ... and its median speed is at most this (kn). Also the speed "
        "below which switching the engine off stops the trip at once.",
        "stop_window": "Logbooks: the stop time (min).",
        "merge_gap": "Logbooks: a stop shorter than this (min) stays inside the trip (locks, "
        "bridges, fuel dock); a longer one ends it. A trip ends this long after arrival.",
        "merge_distance": "Logbooks: ... when the boat leaves within this distance (m) of the "
        "stop.",
        "data_gap": "Logbooks: no position for this long (min) ends the open trip at its last fix.",
        "min_trip_distance": "Logbooks: shorter trips are dropped (nautical miles).",
        "min_trip_duration": "Logbooks: trips shorter than this (min) are dropped.",
        "max_speed": "Logbooks: a position implying a higher speed (kn) is a GPS jump.",
        "engine_power": "Logbooks without an engine entity: the engine counts as running while "
        "the power drawn is at least this (W). 0: off.",
        "house_load": "Logbooks: the power the boat draws besides propulsion (W), for the most "
        "economical speed. 0: unknown (estimated from the data when the power is battery power).",
        "fit_max_speed": "Logbooks: the efficiency curve fits P = a·v³ on the speeds up to this "
        "(kn), about 0.8 x hull speed, below the wall where power climbs steeply. 0: every speed.",
    },
}
