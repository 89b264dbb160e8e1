"""VE.Direct entity description tables: one row per text-protocol label.

Keys are the protocol's own labels (protocols.md §1.6); `protocol.vedirect` has already scaled
the values to SI units with Home Assistant's unit names, so a row only says what the value is.
BMV history fields are diagnostic and enabled, as core victron_gx enables the GX's same paths
(the day sequence number aside); the devices' own energy counters (BMV H17/H18, MPPT H19/H20) are
total_increasing kWh for the Energy dashboard. Durations are shown in hours (suggested unit),
charge cycles count in "cycles"; AR, WARN and OR are enums (one reason, "none" or "multiple").
"""

from __future__ import annotations

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    UnitOfApparentPower,
    UnitOfTemperature,
    UnitOfTime,
)

from ..coordinator import DeviceData
from ..entity import (
    VictronBinarySensorEntityDescription,
    VictronSensorEntityDescription,
)
from ..protocol import vedirect as ve
from .common import CYCLES, DIAG, amp_hours, amps, energy, reasons_row, sensor, volts, watts


def _count(key: str, tk: str, unit: str | None = None) -> VictronSensorEntityDescription:
    """A BMV history counter (diagnostic; charge cycles in "cycles")."""
    return sensor(
        key, tk, unit, None, diagnostic=True,
        state_class=SensorStateClass.TOTAL_INCREASING,
    )  # fmt: skip


def _enum(key: str, tk: str, *, diagnostic: bool = False) -> VictronSensorEntityDescription:
    """An enum sensor whose options are the protocol's decoded names (ve.ENUM_OPTIONS)."""
    options = ve.ENUM_OPTIONS[key]
    allowed = frozenset(options)

    def value(data: DeviceData) -> str | None:
        state = data.get(key)
        return state if state in allowed else None

    return VictronSensorEntityDescription(
        key=key,
        translation_key=tk,
        device_class=SensorDeviceClass.ENUM,
        options=options,
        value_fn=value,
        discrete=True,
        entity_category=DIAG if diagnostic else None,
    )


def _reasons(key: str, tk: str, *, diagnostic: bool = False) -> VictronSensorEntityDescription:
    """A bitmask (AR, WARN, OR) as an enum: "none", the one active reason or "multiple" (every
    active reason in the ``reasons`` attribute); the parser gives the names (ALARM_REASONS,
    OFF_REASONS)."""
    table = ve.OFF_REASONS if key == "OR" else ve.ALARM_REASONS

    def names(data: DeviceData) -> object:
        return data.get(key)

    return reasons_row(key, tk, names, table, diagnostic=diagnostic)


SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    # battery
    volts("V", "battery_voltage"),
    volts("V2", "battery_voltage_2"),
    volts("V3", "battery_voltage_3"),
    volts("VS", "starter_voltage"),
    volts("VM", "midpoint_voltage"),
    sensor("DM", "midpoint_deviation", PERCENTAGE, None, precision=1),
    amps("I", "battery_current"),
    amps("I2", "battery_current_2"),
    amps("I3", "battery_current_3"),
    watts("P", "battery_power"),
    amp_hours("CE", "consumed_amp_hours"),
    sensor("SOC", "state_of_charge", PERCENTAGE, SensorDeviceClass.BATTERY, precision=1),
    sensor(
        "TTG",
        "time_to_go",
        UnitOfTime.MINUTES,
        SensorDeviceClass.DURATION,
        precision=1,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
    ),
    sensor("T", "battery_temperature", UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE),
    # solar
    volts("VPV", "pv_voltage"),
    watts("PPV", "pv_power"),
    amps("IL", "load_current"),
    # inverter and DC-DC
    volts("AC_OUT_V", "ac_output_voltage"),
    amps("AC_OUT_I", "ac_output_current"),
    sensor(
        "AC_OUT_S",
        "ac_output_apparent_power",
        UnitOfApparentPower.VOLT_AMPERE,
        SensorDeviceClass.APPARENT_POWER,
        precision=0,
    ),
    volts("DC_IN_V", "dc_input_voltage"),
    amps("DC_IN_I", "dc_input_current"),
    watts("DC_IN_P", "dc_input_power"),
    # states and reasons
    _enum("CS", "device_state"),
    _enum("ERR", "charger_error"),
    _enum("MPPT", "tracker_mode"),
    _enum("MODE", "device_mode"),
    _enum("MON", "monitor_mode", diagnostic=True),
    _reasons("AR", "alarm_reason"),
    _reasons("WARN", "warning_reason"),
    _reasons("OR", "off_reason", diagnostic=True),
    # energy counters for the Energy dashboard
    energy("H17", "discharged_energy"),
    energy("H18", "charged_energy"),
    energy("H19", "yield_total"),
    energy("H20", "yield_today", monotonic=False),  # resets every day
    energy("H22", "yield_yesterday", counter=False),
    # a day's maximum only rises, in real steps (never noise): every displayed step is written
    watts("H21", "max_power_today", diagnostic=True, write_threshold=1, write_relative=0),
    watts("H23", "max_power_yesterday", diagnostic=True, state_class=None),
    # BMV history
    amp_hours("H1", "deepest_discharge", diagnostic=True),
    amp_hours("H2", "last_discharge", diagnostic=True),
    amp_hours("H3", "average_discharge", diagnostic=True),
    _count("H4", "charge_cycles", CYCLES),
    _count("H5", "full_discharges"),
    amp_hours("H6", "cumulative_amp_hours_drawn", diagnostic=True),
    volts("H7", "minimum_battery_voltage", diagnostic=True),
    volts("H8", "maximum_battery_voltage", diagnostic=True),
    sensor(
        "H9",
        "time_since_full_charge",
        UnitOfTime.SECONDS,
        SensorDeviceClass.DURATION,
        precision=1,
        diagnostic=True,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
    ),
    _count("H10", "automatic_synchronisations"),
    _count("H11", "low_voltage_alarms"),
    _count("H12", "high_voltage_alarms"),
    _count("H13", "low_starter_voltage_alarms"),
    _count("H14", "high_starter_voltage_alarms"),
    volts("H15", "minimum_starter_voltage", diagnostic=True),
    volts("H16", "maximum_starter_voltage", diagnostic=True),
    sensor(
        "HSDS", "day_sequence_number", None, None, diagnostic=True, enabled=False, state_class=None
    ),
)

BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    VictronBinarySensorEntityDescription(
        key="Alarm", translation_key="alarm", device_class=BinarySensorDeviceClass.PROBLEM,
        discrete=True,
    ),
    VictronBinarySensorEntityDescription(
        key="Relay", translation_key="relay", discrete=True, entity_category=DIAG,
    ),
    VictronBinarySensorEntityDescription(
        key="LOAD", translation_key="load_output", discrete=True,
    ),
)  # fmt: skip
