"""Row builders shared by the description tables: one place for units, classes and categories.

Every builder returns a frozen description; `**kwargs` pass through to the description
(value_fn, exists_fn, translation_placeholders, ...).
"""

from __future__ import annotations

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

from ..entity import VictronBinarySensorEntityDescription, VictronSensorEntityDescription

#: Home Assistant has no unit constant for charge; "Ah" is what the devices and users say.
AMP_HOURS = "Ah"
MEASUREMENT = SensorStateClass.MEASUREMENT
DIAG = EntityCategory.DIAGNOSTIC


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
