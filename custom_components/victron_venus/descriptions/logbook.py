"""Logbook entity description tables: one device per Logbook entry, rows over its data keys.

The Logbook source (sources/logbook.py, `LogbookSource.data`) pushes these keys; a row exists when
its key is in the data, so energy rows only appear with a power entity, engine hours only when
engine running time can be known:

| key | value |
|---|---|
| navigation_state | "moored", "under_way", "anchored" (attribute `propulsion`: motoring/sailing) |
| moving | True while under way |
| trip_distance, trip_duration, trip_average_speed | the open trip: nmi, h, kn (None without one) |
| trip_energy, trip_wh_per_nm | the open trip's energy (Wh) and Wh per nautical mile |
| last_trip | the last finished trip's end (datetime); attributes: its summary (no track) |
| total_distance, total_underway, total_engine_hours, total_energy | lifetime: nmi, h, h, kWh |
| efficiency_version | a number that changes with the efficiency curve (the image row) |
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import UnitOfEnergy, UnitOfLength, UnitOfSpeed, UnitOfTime

from ..coordinator import DeviceData
from ..entity import (
    VictronBinarySensorEntityDescription,
    VictronImageEntityDescription,
    VictronSensorEntityDescription,
)

NAVIGATION_STATES = ["moored", "under_way", "anchored"]
WH_PER_NM = "Wh/nmi"


def _attrs(key: str) -> Any:
    def get(data: DeviceData) -> Any:
        return data.get(key)

    return get


def _image(data: DeviceData) -> bytes | None:
    render = data.get("efficiency_svg")
    return render() if callable(render) else None


SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    VictronSensorEntityDescription(
        key="navigation_state",
        translation_key="navigation_state",
        device_class=SensorDeviceClass.ENUM,
        options=NAVIGATION_STATES,
        discrete=True,
        attributes_fn=_attrs("navigation_attributes"),
    ),
    VictronSensorEntityDescription(
        key="trip_distance",
        translation_key="trip_distance",
        native_unit_of_measurement=UnitOfLength.NAUTICAL_MILES,
        suggested_unit_of_measurement=UnitOfLength.NAUTICAL_MILES,
        device_class=SensorDeviceClass.DISTANCE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
    ),
    VictronSensorEntityDescription(
        key="trip_duration",
        translation_key="trip_duration",
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
    ),
    VictronSensorEntityDescription(
        key="trip_average_speed",
        translation_key="trip_average_speed",
        native_unit_of_measurement=UnitOfSpeed.KNOTS,
        suggested_unit_of_measurement=UnitOfSpeed.KNOTS,
        device_class=SensorDeviceClass.SPEED,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
    ),
    VictronSensorEntityDescription(
        key="trip_energy",
        translation_key="trip_energy",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        suggested_display_precision=0,
    ),
    VictronSensorEntityDescription(
        key="trip_wh_per_nm",
        translation_key="trip_wh_per_nm",
        native_unit_of_measurement=WH_PER_NM,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
    ),
    VictronSensorEntityDescription(
        key="last_trip",
        translation_key="last_trip",
        device_class=SensorDeviceClass.TIMESTAMP,
        discrete=True,
        attributes_fn=_attrs("last_trip_attributes"),
    ),
    VictronSensorEntityDescription(
        key="total_distance",
        translation_key="total_distance",
        native_unit_of_measurement=UnitOfLength.NAUTICAL_MILES,
        suggested_unit_of_measurement=UnitOfLength.NAUTICAL_MILES,
        device_class=SensorDeviceClass.DISTANCE,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
    ),
    VictronSensorEntityDescription(
        key="total_underway",
        translation_key="total_underway",
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
    ),
    VictronSensorEntityDescription(
        key="total_engine_hours",
        translation_key="total_engine_hours",
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=1,
    ),
    VictronSensorEntityDescription(
        key="total_energy",
        translation_key="total_energy",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
    ),
)

BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    VictronBinarySensorEntityDescription(
        key="moving",
        translation_key="under_way",
        device_class=BinarySensorDeviceClass.MOVING,
        discrete=True,
    ),
)

IMAGES: tuple[VictronImageEntityDescription, ...] = (
    VictronImageEntityDescription(
        key="efficiency_version",
        translation_key="efficiency_curve",
        image_fn=_image,
        content_type="image/svg+xml",
        attributes_fn=_attrs("efficiency_attributes"),
    ),
)
