"""Sensor platform: every source's sensor description rows.

`VictronSensor` shows what its row's state can hold (numbers, enum options, timestamps, text) and
nothing else; a total_increasing counter (`is_monotonic`) is a `VictronCounterSensor`, which
restores its last value and reads the recorder's last one when added, so the entity layer never
writes it lower than what Home Assistant already has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime
import logging
import math
from math import isfinite
from typing import Any, Final

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
)
from homeassistant.components.sensor.const import NON_NUMERIC_DEVICE_CLASSES, UNIT_CONVERTERS
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import DeviceCoordinator, VictronConfigEntry
from .descriptions.common import RidingAttributesSensorDescription
from .entity import (
    BAD,
    LARGEST_EXACT_INT,
    VictronEntity,
    VictronSensorEntityDescription,
    async_setup_platform,
    finite_number,
    is_monotonic,
)

_LOGGER = logging.getLogger(__package__)

PARALLEL_UPDATES = 0  # push: nothing to poll

MAX_STATE_LENGTH: Final = 255
"""Home Assistant's limit for a state's text (longer ones are logged as errors and dropped)."""

RECORDER_TIMEOUT: Final = 10.0
"""Seconds a counter waits for the recorder's last value when it is added."""

RECORDED_STATES: Final = (1, 10)
"""How many of the recorder's last states to read: the last one, or when it is not a number
(Home Assistant's "restored" unavailable placeholder at start, a device that was unavailable)
the last ten."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors as their devices and values appear."""

    def factory(
        coordinator: DeviceCoordinator, description: VictronSensorEntityDescription
    ) -> VictronSensor:
        return VictronSensor.class_for(description)(coordinator, description)

    async_setup_platform(hass, entry, Platform.SENSOR, factory, async_add_entities)


class VictronSensor(VictronEntity, SensorEntity):
    """A sensor row of a description table."""

    entity_description: VictronSensorEntityDescription
    notify_by_reads = True

    def __init__(
        self, coordinator: DeviceCoordinator, description: VictronSensorEntityDescription
    ) -> None:
        """Create the sensor; what its state can hold follows from the row's classes."""
        super().__init__(coordinator, description)
        device_class = description.device_class
        self._kind: str
        if device_class in (SensorDeviceClass.TIMESTAMP, SensorDeviceClass.UPTIME):
            self._kind = "timestamp"
        elif device_class is SensorDeviceClass.DATE:
            self._kind = "date"
        elif description.options is not None or device_class is SensorDeviceClass.ENUM:
            self._kind = "enum"
        elif device_class not in NON_NUMERIC_DEVICE_CLASSES and (
            description.state_class is not None
            or description.native_unit_of_measurement is not None
            or description.suggested_display_precision is not None
            or device_class is not None
        ):  # Home Assistant's own rule for a sensor that must be numeric
            self._kind = "number"
        else:
            self._kind = "text"

    @staticmethod
    def class_for(description: VictronSensorEntityDescription) -> type[VictronSensor]:
        """The entity class of a row: a counter sensor for rows that never go down."""
        if isinstance(description, RidingAttributesSensorDescription):
            return VictronRidingAttributesSensor
        return VictronCounterSensor if is_monotonic(description) else VictronSensor

    @property
    def native_value(self) -> Any:
        """The latest written value."""
        return self.current_value

    def _coerce(self, value: Any) -> Any:
        """A number (finite), an aware datetime, a date, one of the options or short text
        (str, or a finite int/float), as the row's kind requires; anything else is BAD."""
        kind = self._kind
        if kind == "number":  # the fast paths first: this runs for every row on every push
            cls = type(value)
            if cls is float:
                return value if isfinite(value) else BAD
            if cls is int and -LARGEST_EXACT_INT <= value <= LARGEST_EXACT_INT:
                return value
            if value is None:
                return None
            return BAD if cls is bool else finite_number(value)
        if value is None:
            return None
        if kind == "timestamp":
            ok = isinstance(value, datetime) and value.tzinfo is not None
            return value if ok else BAD
        if kind == "date":
            ok = isinstance(value, date) and not isinstance(value, datetime)
            return value if ok else BAD
        if kind == "enum":
            options = self.entity_description.options
            ok = isinstance(value, str) and (not options or value in options)
            return value if ok else BAD
        if isinstance(value, str):
            return value if len(value) <= MAX_STATE_LENGTH else BAD
        if type(value) in (int, float):
            number = finite_number(value)
            return number if number is BAD or len(str(number)) <= MAX_STATE_LENGTH else BAD
        return BAD


class VictronRidingAttributesSensor(VictronSensor):
    """A sensor whose attributes ride along with its state writes (see
    `RidingAttributesSensorDescription`): read from the latest data when the write policy writes
    the state, so a change of them alone neither writes a state (no Activity entry, no recorder
    row) nor waits longer than the value's own next write."""

    entity_description: RidingAttributesSensorDescription

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The row's riding attributes now (None while unavailable or without a value)."""
        if not self.coordinator.last_update_success or self.current_value is None:
            return None
        try:
            attrs = self.entity_description.riding_attributes_fn(self.coordinator.data)
        except Exception:
            _LOGGER.debug("%s: its attributes could not be read", self.entity_id, exc_info=True)
            return None
        return attrs


class VictronCounterSensor(VictronSensor, RestoreSensor):
    """A total_increasing counter: restores its last value, the floor of what it may write."""

    async def _async_restored_floor(self) -> Any:
        """The larger of the restored value and the recorder's last one, in the native unit
        (None when neither is known). The restore cache is written every 15 minutes and at a
        clean stop; the recorder holds what was written up to its last commit (5 s), so after
        Home Assistant is killed the recorder's value is the newer one."""
        known: list[float | int] = []
        unit = self.native_unit_of_measurement
        restored = await self.async_get_last_sensor_data()
        if restored is not None and restored.native_unit_of_measurement == unit:
            number = finite_number(restored.native_value)
            if number is not BAD:
                known.append(number)
        recorded = await _async_last_recorded(self.hass, self.entity_id)
        if recorded is not None:
            number = self._in_native_unit(*recorded)
            if number is not None:
                known.append(number)
        return max(known) if known else None

    def _in_native_unit(self, value: float, unit: str | None) -> float | None:
        """A recorded value (in the unit the user shows) in the row's native unit."""
        native = self.native_unit_of_measurement
        if unit == native:
            return value
        converter = UNIT_CONVERTERS.get(self.device_class)
        if converter is None or unit not in converter.VALID_UNITS:
            return None
        if native not in converter.VALID_UNITS:
            return None
        converted = converter.convert(value, unit, native)
        return float(f"{converted:.12g}")  # no float noise from the round trip


async def _async_last_recorded(
    hass: HomeAssistant, entity_id: str
) -> tuple[float, str | None] | None:
    """The recorder's last numeric state of `entity_id` and its unit, or None (no recorder, a
    migration running, nothing recorded, or no answer within RECORDER_TIMEOUT)."""
    if "recorder" not in hass.config.components:
        return None
    from homeassistant.helpers.recorder import async_migration_in_progress, get_instance

    if async_migration_in_progress(hass):
        return None

    def last_numeric() -> tuple[float, str | None] | None:
        from homeassistant.components.recorder import history  # in the recorder's thread

        for count in RECORDED_STATES:
            states = history.get_last_state_changes(hass, count, entity_id)
            found = _latest_number(states.get(entity_id.lower(), []))
            if found is not None:
                return found
        return None

    try:
        async with asyncio.timeout(RECORDER_TIMEOUT):
            return await get_instance(hass).async_add_executor_job(last_numeric)
    except TimeoutError:
        _LOGGER.warning("%s: the recorder did not answer; its last value is not known", entity_id)
        return None


def _latest_number(states: list[State]) -> tuple[float, str | None] | None:
    """The newest state that is a finite number, with its unit (states oldest first)."""
    for state in reversed(states):
        if state.state in ("", STATE_UNKNOWN, STATE_UNAVAILABLE):
            continue
        try:
            value = float(state.state)
        except ValueError:
            continue
        if math.isfinite(value):
            return value, state.attributes.get("unit_of_measurement")
    return None
