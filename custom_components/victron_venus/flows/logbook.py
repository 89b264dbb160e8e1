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
    CONF_ENGINE_POWER,
    CONF_FIT_MAX_SPEED,
    CONF_HOUSE_LOAD,
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


#: the options form's sections: name -> (its fields, collapsed). The boat's engine and efficiency
#: fields are open; the detector thresholds, whose defaults suit most boats, collapsed.
OPTION_SECTIONS: dict[str, tuple[tuple[str, ...], bool]] = {
    "boat": ((CONF_ENGINE_POWER, CONF_HOUSE_LOAD, CONF_FIT_MAX_SPEED), False),
    "trip_start": (("start_distance", "start_speed", "start_hold"), True),
    "trip_stop": (
        ("stop_radius", "stop_speed", "stop_window", "merge_gap", "merge_distance"),
        True,
    ),
    "trip_filter": (("data_gap", "min_trip_distance", "min_trip_duration", "max_speed"), True),
}


def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """Logbook options beside the write interval, in `OPTION_SECTIONS`: the engine power, the
    house load and the efficiency fit's top speed; the detector thresholds. Each field's default
    is the entry's value (stored flat in entry.options; the options flow flattens the sections).
    A section left out of an answer keeps its values (config_flow.flat_options). No default for
    a section itself: the frontend then fills it from its fields' defaults."""
    defaults = default_options()
    ranges = {key: spec for key, (_, _, spec) in THRESHOLDS.items()}
    ranges.update({key: spec for key, (_, spec) in EXTRA_OPTIONS.items()})
    fields: dict[Any, Any] = {}
    for name, (keys, collapsed) in OPTION_SECTIONS.items():
        inner: dict[Any, Any] = {}
        for key in keys:
            low, high, step, unit = ranges[key]
            inner[probatio.Required(key, default=entry.options.get(key, defaults[key]))] = (
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
        fields[probatio.Optional(name)] = section(probatio.Schema(inner), {"collapsed": collapsed})
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
            options=[POWER_PROPULSION, POWER_BATTERY],
            translation_key="power_kind",
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
