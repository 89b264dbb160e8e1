"""Bluetooth battery (aiobmsble families) entity description tables: the JBD battery's entity model.

Keys are the value keys `sources.ble_battery.sample_values` pushes (SI units). The pack, cell and
temperature rows, the FETs and balancing, and the charged/discharged energy counters are the JBD
battery's own rows (descriptions/jbd.py), so a Daly, JK, ANT or Seplos battery has the same
entities as a JBD one: every cell voltage its own entity (cell_voltage_1..32), temperature_1..8,
lowest/highest/average cell and the delta, total_increasing kWh counters for the Energy
dashboard. A row becomes an entity only when the family reports its key. Added here: what the
library reports beyond a JBD BMS (state of health, runtime, stored energy, balance and heater
currents, packs) and its plausibility `problem` flag as a problem binary sensor, with the BMS's
own problem code as a diagnostic sensor (the library does not name the code's bits per family).
"""

from __future__ import annotations

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfTime

from ..entity import VictronBinarySensorEntityDescription, VictronSensorEntityDescription
from .common import amps, binary, sensor
from .jbd import BINARY_SENSORS as JBD_BINARY_SENSORS, SENSORS as JBD_SENSORS

#: the JBD binary rows without its protection flags (a JBD 0x03 bitmask; the library reports a
#: plausibility flag and a family-specific code instead)
_JBD_STATE_ROWS = tuple(row for row in JBD_BINARY_SENSORS if not row.key.startswith("protection_"))

SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    *JBD_SENSORS,
    sensor("state_of_health", "state_of_health", PERCENTAGE, precision=0),
    sensor(
        "runtime",
        "battery_runtime",
        UnitOfTime.SECONDS,
        SensorDeviceClass.DURATION,
        precision=1,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
    ),
    sensor(
        "stored_energy",
        "stored_energy",
        UnitOfEnergy.WATT_HOUR,
        SensorDeviceClass.ENERGY_STORAGE,
        precision=0,
    ),
    amps("balance_current", "balance_current", diagnostic=True),
    amps("heater_current", "heater_current", diagnostic=True, enabled=False),
    sensor("pack_count", "pack_count", diagnostic=True, state_class=None),
    sensor("problem_code", "problem_code", diagnostic=True, state_class=None),
)

BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    *_JBD_STATE_ROWS,
    binary("problem", "bms_problem", BinarySensorDeviceClass.PROBLEM),
    binary("charging", "battery_charging", BinarySensorDeviceClass.BATTERY_CHARGING),
    binary("heater", "heater", BinarySensorDeviceClass.HEAT, diagnostic=True),
)
