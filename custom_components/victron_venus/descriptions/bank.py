"""Battery bank entity description tables: aggregated pack, cell monitor, charge limits, alerts.

Keys are the value keys `sources.bank` pushes (SI units). Alerts are problem binary sensors
(written at once on change); the same changes are fired as bus events (see sources/bank.py).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import (
    PERCENTAGE,
    UnitOfElectricPotential,
    UnitOfPower,
    UnitOfTemperature,
)

from ..coordinator import DeviceData
from ..entity import VictronBinarySensorEntityDescription, VictronSensorEntityDescription
from .common import (
    AMP_HOURS,
    MEASUREMENT,
    RidingAttributesSensorDescription,
    amps,
    binary,
    energy,
    sensor,
    volts,
)
from .jbd import cell_volts


def cell_extreme(
    key: str, translation_key: str, location_key: str
) -> VictronSensorEntityDescription:
    """The bank's lowest or highest cell voltage (V), with the cell's identity as the attributes
    ``battery`` (the member's name) and ``cell`` (its number; None when the battery reports only
    its extremes): `location_key` holds ``{"battery": str, "cell": int | None}``."""

    def where(data: DeviceData) -> dict[str, Any] | None:
        location = data.get(location_key)
        return dict(location) if isinstance(location, dict) else None

    return RidingAttributesSensorDescription(
        key=key,
        translation_key=translation_key,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=MEASUREMENT,
        suggested_display_precision=3,
        riding_attributes_fn=where,
    )


SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    volts("voltage", "battery_voltage", precision=2),
    amps("current", "battery_current"),
    sensor("power", "battery_power", UnitOfPower.WATT, SensorDeviceClass.POWER, precision=0),
    sensor("soc", "state_of_charge", PERCENTAGE, SensorDeviceClass.BATTERY, precision=0),
    sensor("remaining_capacity", "remaining_capacity", AMP_HOURS, precision=2),
    sensor("nominal_capacity", "nominal_capacity", AMP_HOURS, precision=2, diagnostic=True),
    sensor("cell_count", "cell_count", diagnostic=True, state_class=None),
    sensor(
        "temperature_min",
        "lowest_temperature",
        UnitOfTemperature.CELSIUS,
        SensorDeviceClass.TEMPERATURE,
        precision=1,
    ),
    sensor(
        "temperature_max",
        "highest_temperature",
        UnitOfTemperature.CELSIUS,
        SensorDeviceClass.TEMPERATURE,
        precision=1,
    ),
    # which battery and cell: attributes riding along with the voltage's own writes (a text
    # sensor of its own flipped between batteries every 10-40 s, flooding Activity and recorder)
    cell_extreme("lowest_cell_voltage", "lowest_cell_voltage", "lowest_cell_location"),
    cell_extreme("highest_cell_voltage", "highest_cell_voltage", "highest_cell_location"),
    cell_volts("cell_spread", "cell_voltage_spread"),
    cell_volts("largest_cell_delta", "largest_cell_delta"),
    sensor("largest_cell_delta_battery", "largest_cell_delta_battery", state_class=None),
    volts("max_charge_voltage", "max_charge_voltage", precision=2),
    amps("max_charge_current", "max_charge_current"),
    amps("max_discharge_current", "max_discharge_current"),
    energy("charged_energy", "charged_energy", precision=3),
    energy("discharged_energy", "discharged_energy", precision=3),
    sensor("members_available", "members_available", diagnostic=True),
    # what each member lacks for the cell monitor, charge limits and totals (sources/bank.py)
    sensor("lacking", "bank_lacking", diagnostic=True, state_class=None),
)

BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    binary("charge_fet", "charge_mosfet"),
    binary("discharge_fet", "discharge_mosfet"),
    binary("alert_soc_warning", "alert_soc_warning", BinarySensorDeviceClass.PROBLEM),
    binary("alert_soc_alarm", "alert_soc_alarm", BinarySensorDeviceClass.PROBLEM),
    binary("alert_cell_low", "alert_cell_low", BinarySensorDeviceClass.PROBLEM),
    binary("alert_cell_high", "alert_cell_high", BinarySensorDeviceClass.PROBLEM),
    binary("alert_imbalance", "alert_imbalance", BinarySensorDeviceClass.PROBLEM),
    binary("alert_member_unavailable", "alert_member_unavailable", BinarySensorDeviceClass.PROBLEM),
)

# --- issue 10: the bank's charge limits to a GX (sources/bank_gx.py) ---

GX_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    # on while the GX holds the bank's last charge limits; only with the option gx_limits on
    binary("gx_following", "gx_following"),
)
