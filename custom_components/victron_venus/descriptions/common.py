"""Row builders shared by the description tables: one place for units, classes and categories.

Every builder returns a frozen description; `**kwargs` pass through to the description
(value_fn, exists_fn, translation_placeholders, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)

from ..coordinator import DeviceData
from ..entity import VictronBinarySensorEntityDescription, VictronSensorEntityDescription

#: Home Assistant has no unit constant for charge; "Ah" is what the devices and users say.
AMP_HOURS = "Ah"
#: charge cycles: no Home Assistant unit either; core integrations (homevolt) say "cycles"
CYCLES = "cycles"
#: enum states of codes and reason bitmasks (each has a label in strings.json per sensor)
OTHER = "other"
"""The state of a code its table lacks (VE.Bus errors) or of a reason bit nobody named."""
NO_REASON = "none"
MULTIPLE_REASONS = "multiple"
MEASUREMENT = SensorStateClass.MEASUREMENT
DIAG = EntityCategory.DIAGNOSTIC


@dataclass(frozen=True, kw_only=True)
class RidingAttributesSensorDescription(VictronSensorEntityDescription):
    """A sensor row whose attributes ride along with its own writes: `riding_attributes_fn`
    gives them from the device data when the state is written (by the write policy), and a
    change of them alone writes nothing (unlike `attributes_fn`, which writes at once). For
    attributes that would otherwise flood Activity and the recorder (the bank's cell
    identity); sensor.py gives such rows `VictronRidingAttributesSensor`."""

    riding_attributes_fn: Callable[[DeviceData], Mapping[str, Any] | None]


def sensor(
    key: str,
    translation_key: str,
    unit: str | None = None,
    device_class: SensorDeviceClass | None = None,
    *,
    precision: int | None = None,
    state_class: SensorStateClass | None = MEASUREMENT,
    diagnostic: bool = False,
    enabled: bool = True,
    **kwargs: Any,
) -> VictronSensorEntityDescription:
    """One sensor row; a measurement unless `state_class` says otherwise."""
    return VictronSensorEntityDescription(
        key=key,
        translation_key=translation_key,
        native_unit_of_measurement=unit,
        device_class=device_class,
        state_class=state_class,
        suggested_display_precision=precision,
        entity_category=DIAG if diagnostic else None,
        entity_registry_enabled_default=enabled,
        **kwargs,
    )


def volts(
    key: str, translation_key: str, precision: int = 2, **kw: Any
) -> VictronSensorEntityDescription:
    """A voltage row (V)."""
    return sensor(
        key, translation_key, UnitOfElectricPotential.VOLT, SensorDeviceClass.VOLTAGE,
        precision=precision, **kw,
    )  # fmt: skip


def amps(key: str, translation_key: str, **kw: Any) -> VictronSensorEntityDescription:
    """A current row (A)."""
    return sensor(
        key, translation_key, UnitOfElectricCurrent.AMPERE, SensorDeviceClass.CURRENT,
        precision=2, **kw,
    )  # fmt: skip


def watts(key: str, translation_key: str, **kw: Any) -> VictronSensorEntityDescription:
    """A power row (W)."""
    return sensor(
        key, translation_key, UnitOfPower.WATT, SensorDeviceClass.POWER, precision=0, **kw
    )


def amp_hours(key: str, translation_key: str, **kw: Any) -> VictronSensorEntityDescription:
    """A charge row (Ah)."""
    return sensor(key, translation_key, AMP_HOURS, None, precision=1, **kw)


def energy(
    key: str, translation_key: str, *, counter: bool = True, precision: int = 2, **kw: Any
) -> VictronSensorEntityDescription:
    """An energy row (kWh): a total_increasing counter for the Energy dashboard, or a plain
    energy value (counter=False, e.g. yesterday's yield) that long-term statistics leave alone."""
    return sensor(
        key, translation_key, UnitOfEnergy.KILO_WATT_HOUR, SensorDeviceClass.ENERGY,
        precision=precision,
        state_class=SensorStateClass.TOTAL_INCREASING if counter else None, **kw,
    )  # fmt: skip


def binary(
    key: str,
    translation_key: str,
    device_class: BinarySensorDeviceClass | None = None,
    *,
    diagnostic: bool = False,
    **kw: Any,
) -> VictronBinarySensorEntityDescription:
    """A binary sensor row; written at once on change."""
    return VictronBinarySensorEntityDescription(
        key=key,
        translation_key=translation_key,
        device_class=device_class,
        entity_category=DIAG if diagnostic else None,
        discrete=True,
        **kw,
    )


def reason_state(reasons: Any, known: frozenset[str]) -> str | None:
    """The enum state of a reason bitmask: "none", the one active reason (``other`` when nobody
    named it) or "multiple" (every reason is in the ``reasons`` attribute); None for no value."""
    if reasons is None:
        return None
    if not reasons:
        return NO_REASON
    if len(reasons) > 1:
        return MULTIPLE_REASONS
    return reasons[0] if reasons[0] in known else OTHER


def reasons_row(
    key: str,
    tk: str,
    names: Callable[[DeviceData], Any],
    table: Mapping[int, str],
    *,
    diagnostic: bool = False,
) -> VictronSensorEntityDescription:
    """An enum sensor over a reason bitmask (alarm, warning, off reasons): the state is
    `reason_state`, the attribute ``reasons`` lists every active reason's name. `names` reads
    the active reasons' names from the device data (a tuple/list of names, or None)."""
    known = frozenset(table.values())

    def value(data: DeviceData) -> str | None:
        return reason_state(names(data), known)

    def attributes(data: DeviceData) -> dict[str, Any] | None:
        reasons = names(data)
        return None if reasons is None else {"reasons": list(reasons)}

    return VictronSensorEntityDescription(
        key=key,
        translation_key=tk,
        device_class=SensorDeviceClass.ENUM,
        options=[NO_REASON, *dict.fromkeys(table.values()), MULTIPLE_REASONS, OTHER],
        value_fn=value,
        attributes_fn=attributes,
        discrete=True,
        entity_category=DIAG if diagnostic else None,
    )
