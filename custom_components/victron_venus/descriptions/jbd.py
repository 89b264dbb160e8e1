"""JBD battery entity description tables: pack, cells, temperatures, protections, energy.

Keys are the value keys `sources.jbd` pushes (already in SI units, protocols.md §2.4-2.5). Cells
and temperatures are rows per index (cell_voltage_1..32, temperature_1..8): a row becomes an entity
only when the battery reports that cell or sensor, so a 4S pack gets four cell sensors and a 16S
pack sixteen, each its own entity (the most asked-for feature of BMS integrations). Each
protection flag of the 0x03 bitmask is its own problem binary sensor. Charged/discharged energy are
the source's own integrated counters, total_increasing kWh for the Energy dashboard.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    UnitOfPower,
    UnitOfTemperature,
)

from ..entity import VictronBinarySensorEntityDescription, VictronSensorEntityDescription
from ..protocol.jbd import PROTECTION_FLAGS
from .common import AMP_HOURS, CYCLES, amps, binary, energy, sensor, volts

MAX_CELLS = 32
MAX_TEMPERATURES = 8


def cell_volts(key: str, translation_key: str, **kw: Any) -> VictronSensorEntityDescription:
    """A cell voltage row (V, millivolt resolution)."""
    return volts(key, translation_key, precision=3, **kw)


SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    volts("voltage", "battery_voltage", precision=2),
    amps("current", "battery_current"),
    sensor("power", "battery_power", UnitOfPower.WATT, SensorDeviceClass.POWER, precision=0),
    sensor("soc", "state_of_charge", PERCENTAGE, SensorDeviceClass.BATTERY, precision=0),
    sensor("remaining_capacity", "remaining_capacity", AMP_HOURS, precision=2),
    sensor("nominal_capacity", "nominal_capacity", AMP_HOURS, precision=2, diagnostic=True),
    sensor(
        "cycles",
        "charge_cycles",
        CYCLES,
        state_class=SensorStateClass.TOTAL_INCREASING,
        diagnostic=True,
    ),
    *(
        sensor(
            f"temperature_{n}",
            "temperature_n",
            UnitOfTemperature.CELSIUS,
            SensorDeviceClass.TEMPERATURE,
            precision=1,
            translation_placeholders={"index": str(n)},
        )
        for n in range(1, MAX_TEMPERATURES + 1)
    ),
    *(
        cell_volts(
            f"cell_voltage_{n}", "cell_voltage_n", translation_placeholders={"index": str(n)}
        )
        for n in range(1, MAX_CELLS + 1)
    ),
    cell_volts("cell_min", "lowest_cell_voltage"),
    cell_volts("cell_max", "highest_cell_voltage"),
    cell_volts("cell_average", "average_cell_voltage"),
    cell_volts("cell_delta", "cell_voltage_delta"),
    # which cell is lowest (highest) flips between cells within the voltage noise: written once
    # it has held a minute (balanced)
    sensor("cell_min_index", "lowest_cell", diagnostic=True, state_class=None, write_settle=60),
    sensor("cell_max_index", "highest_cell", diagnostic=True, state_class=None, write_settle=60),
    sensor("cell_count", "cell_count", diagnostic=True, state_class=None),
    energy("charged_energy", "charged_energy", precision=3),
    energy("discharged_energy", "discharged_energy", precision=3),
)

BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    binary("balancing", "balancing"),
    binary("charge_fet", "charge_mosfet"),
    binary("discharge_fet", "discharge_mosfet"),
    *(
        binary(
            f"protection_{flag}",
            f"protection_{flag}",
            BinarySensorDeviceClass.PROBLEM,
            diagnostic=True,
        )
        for flag in PROTECTION_FLAGS
    ),
)
