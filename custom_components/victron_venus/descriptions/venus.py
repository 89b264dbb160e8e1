"""Venus GX entity description tables: one row per D-Bus path, per service type.

A row's key is the D-Bus path as it appears in the MQTT topic (``Dc/0/Voltage``); the entity's
unique id is ``<device identifier>_<path>``. Values arrive in the GX's D-Bus units (protocols.md
§3.7): SI, energy in kWh, temperature in °C, tank volumes in m³ - a row converts only where Home
Assistant wants another unit (tank volumes to litres) and decodes codes to names (states, errors,
modes, alarms, fluid types). Every numeric row checks that the value is a number: a GX that
publishes text where a number belongs gives "unknown", never an exception.

Rows are grouped in module-level tuples (tests/components/test_strings.py reads them);
`SENSORS`, `BINARY_SENSORS` and `TRACKERS` map a service type to its rows. A row becomes an entity
when its path first has a value (paths that were only ever null, such as L2/L3 on a single-phase
system, make no entities).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    DEGREE,
    PERCENTAGE,
    REVOLUTIONS_PER_MINUTE,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfLength,
    UnitOfPower,
    UnitOfPressure,
    UnitOfSpeed,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolume,
)

from ..coordinator import DeviceData
from ..entity import (
    VictronBinarySensorEntityDescription,
    VictronSensorEntityDescription,
    VictronTrackerEntityDescription,
)
from ..protocol import vedirect as ve
from .common import AMP_HOURS, CYCLES, DIAG, MEASUREMENT, OTHER, reasons_row, sensor

TOTAL_INCREASING: Final = SensorStateClass.TOTAL_INCREASING
PHASES: Final = ("L1", "L2", "L3")

# --- code tables (protocols.md §3.7), names ready to be enum options ------------------------------

BATTERY_STATES: Final = {0: "idle", 1: "charging", 2: "discharging"}
"""``system/0/Dc/Battery/State``."""
AC_SOURCES: Final = {0: "not_available", 1: "grid", 2: "generator", 3: "shore", 240: "inverting"}
"""``system/0/Ac/ActiveIn/Source``: what feeds the AC input (240: none, inverting)."""
ACTIVE_INPUTS: Final = {0: "ac_in_1", 1: "ac_in_2", 240: "disconnected"}
"""``vebus/<n>/Ac/ActiveIn/ActiveInput``."""
SYSTEM_STATES: Final = {
    **ve.CS_STATES,
    256: "discharging",
    257: "sustain_ess",
    258: "recharge",
    259: "scheduled_charge",
    260: "dynamic_ess",
}
"""``system/0/SystemState/State``: the VE.Direct CS codes plus the ESS states (256-260)."""
CHARGER_MODES: Final = {1: "on", 4: "off"}
"""``Mode`` of a solar charger, DC-DC converter or AC charger."""
ALARM_LEVELS: Final = {0: "ok", 1: "warning", 2: "alarm"}
"""Every ``Alarms/*`` path."""
FLUID_TYPES: Final = {
    0: "fuel",
    1: "fresh_water",
    2: "waste_water",
    3: "live_well",
    4: "oil",
    5: "black_water",
    6: "gasoline",
    7: "diesel",
    8: "lpg",
    9: "lng",
    10: "hydraulic_oil",
    11: "raw_water",
}
"""``tank/<n>/FluidType``."""
SENSOR_STATUS: Final = {
    0: "ok",
    1: "disconnected",
    2: "short_circuited",
    3: "reverse_polarity",
    4: "unknown",
    5: "error",
}
"""``Status`` of a tank or temperature input (dbus-adc; 5 also "config error" on tanks)."""
TEMPERATURE_TYPES: Final = {
    0: "battery",
    1: "fridge",
    2: "generic",
    3: "room",
    4: "outdoor",
    5: "water_heater",
    6: "freezer",
}
"""``temperature/<n>/TemperatureType``."""
INPUT_STATES: Final = {
    0: "low",
    1: "high",
    2: "off",
    3: "on",
    4: "no",
    5: "yes",
    6: "open",
    7: "closed",
    8: "ok",
    9: "alarm",
    10: "running",
    11: "stopped",
}
"""``digitalinput/<n>/State``: the input's level as named by its type."""
INPUT_TYPES: Final = {
    0: "disabled",
    1: "pulse_meter",
    2: "door_alarm",
    3: "bilge_pump",
    4: "bilge_alarm",
    5: "burglar_alarm",
    6: "smoke_alarm",
    7: "fire_alarm",
    8: "co2_alarm",
    9: "generator",
    10: "touch_input_control",
}
"""``digitalinput/<n>/Type``."""
VEBUS_ERRORS: Final = {
    0: "no_error",
    1: "phase_switched_off",
    2: "mixed_device_types",
    3: "devices_missing",
    4: "no_other_device",
    5: "ac_out_overvoltage",
    6: "ddc_program_error",
    7: "bms_assistant_missing",
    8: "ground_relay_test_failed",
    10: "time_sync_problem",
    11: "relay_test_failed",
    14: "transmit_error",
    16: "dongle_missing",
    17: "master_lost",
    18: "slave_ac_out_overvoltage",
    22: "cannot_be_slave",
    24: "switch_over_protection",
    25: "firmware_incompatibility",
    26: "internal_error",
}
"""``vebus/<n>/VebusError``: VE.Bus error codes (Victron's VE.Bus error code list); any other
code is "other", the number kept in the sensor's ``code`` attribute."""


# --- value functions ------------------------------------------------------------------------------


MEASUREMENT_DIGITS: Final = 7
"""Significant digits a measurement keeps. Values the GX computes in double precision (sums in
systemcalc) carry float32 noise that the parser cannot tell from data (4.70000002088338 A)."""


def _number(
    key: str, scale: float | None = None, digits: int | None = None, *, significant: bool = True
) -> Callable[..., Any]:
    """Read a number (int or float, never bool or text); optionally scaled, then rounded to
    `digits` decimals or (measurements) to MEASUREMENT_DIGITS significant digits. Counters
    (`significant=False`) keep every digit."""

    def value(data: DeviceData) -> float | int | None:
        raw: Any = data.get(key)
        kind = type(raw)
        if kind is not float and kind is not int:
            return None
        number: float | int = raw
        if kind is int and scale is None:
            return number
        if scale is not None:
            number = number * scale
        if digits is not None:
            return round(number) if digits == 0 else round(number, digits)
        if significant:
            return float(f"{number:.{MEASUREMENT_DIGITS}g}")
        return number

    return value


def _code(key: str, table: Mapping[int, str]) -> Callable[..., Any]:
    """Decode an integer code to its name (None for codes the table lacks, or non-integers)."""

    def value(data: DeviceData) -> str | None:
        raw = data.get(key)
        if type(raw) is float and raw.is_integer():
            raw = int(raw)
        return table.get(raw) if type(raw) is int else None

    return value


def _flag(key: str, on: frozenset[int] = frozenset({1})) -> Callable[..., Any]:
    """A 0/1 (or 0/2 alarm) value as a bool; None when it is not a number."""

    def value(data: DeviceData) -> bool | None:
        raw: Any = data.get(key)
        if type(raw) not in (int, float, bool):
            return None
        return int(raw) in on

    return value


def _bit_names(key: str, table: Mapping[int, str]) -> Callable[[DeviceData], list[str] | None]:
    """A bitmask's set bits as names (``unknown_bit_<n>`` for bits the table lacks); None when the
    value is not a non-negative integer."""

    def names(data: DeviceData) -> list[str] | None:
        raw = data.get(key)
        if type(raw) is float and raw.is_integer():
            raw = int(raw)
        if type(raw) is not int or raw < 0:
            return None
        return [
            table.get(1 << bit, f"unknown_bit_{bit}")
            for bit in range(raw.bit_length())
            if raw & (1 << bit)
        ]

    return names


# --- row builders ---------------------------------------------------------------------------------


def _sensor(
    key: str,
    translation_key: str,
    unit: str | None = None,
    device_class: SensorDeviceClass | None = None,
    *,
    state_class: SensorStateClass | None = MEASUREMENT,
    precision: int | None = None,
    enabled: bool = True,
    diagnostic: bool = False,
    value_fn: Callable[..., Any] | None = None,
    placeholders: Mapping[str, str] | None = None,
    suggested_unit: str | None = None,
    **kwargs: Any,
) -> VictronSensorEntityDescription:
    """A GX sensor row: `common.sensor` with the value read as a cleaned number by default;
    `suggested_unit` is the unit Home Assistant shows it in (the state machine converts); other
    keywords go to the description (`write_threshold` ...)."""
    return sensor(
        key,
        translation_key,
        unit,
        device_class,
        state_class=state_class,
        precision=precision,
        enabled=enabled,
        diagnostic=diagnostic,
        translation_placeholders=placeholders,
        value_fn=value_fn or _number(key),
        suggested_unit_of_measurement=suggested_unit,
        **kwargs,
    )


def _volts(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(
        key, tk, UnitOfElectricPotential.VOLT, SensorDeviceClass.VOLTAGE, precision=2, **kw
    )


def _amps(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(
        key, tk, UnitOfElectricCurrent.AMPERE, SensorDeviceClass.CURRENT, precision=2, **kw
    )


def _watts(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(key, tk, UnitOfPower.WATT, SensorDeviceClass.POWER, precision=0, **kw)


def _volt_amps(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(
        key,
        tk,
        UnitOfApparentPower.VOLT_AMPERE,
        SensorDeviceClass.APPARENT_POWER,
        precision=0,
        **kw,
    )


def _hertz(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(key, tk, UnitOfFrequency.HERTZ, SensorDeviceClass.FREQUENCY, precision=2, **kw)


def _celsius(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(
        key, tk, UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE, precision=1, **kw
    )


def _percent(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(key, tk, PERCENTAGE, None, precision=0, **kw)


def _soc(key: str, tk: str = "state_of_charge") -> VictronSensorEntityDescription:
    return _sensor(key, tk, PERCENTAGE, SensorDeviceClass.BATTERY, precision=1)


def _amp_hours(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    return _sensor(key, tk, AMP_HOURS, None, precision=1, **kw)


def _kwh(
    key: str, tk: str, *, counter: bool = True, resets: bool = False, **kw: Any
) -> VictronSensorEntityDescription:
    """An energy counter (Energy dashboard: total_increasing). It never goes down (the entity
    layer refuses a lower value) unless it `resets` by design, like a day's yield."""
    row = _sensor(
        key,
        tk,
        UnitOfEnergy.KILO_WATT_HOUR,
        SensorDeviceClass.ENERGY,
        state_class=TOTAL_INCREASING if counter else None,
        precision=2,
        value_fn=_number(key, significant=False),
        **kw,
    )
    return replace(row, monotonic=False) if resets else row


def _seconds(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    """A duration the GX gives in seconds, shown in hours (864,000 s reads 240.0 h)."""
    return _sensor(
        key,
        tk,
        UnitOfTime.SECONDS,
        SensorDeviceClass.DURATION,
        precision=1,
        value_fn=_number(key, digits=0),
        suggested_unit=UnitOfTime.HOURS,
        **kw,
    )


def _speed(key: str, tk: str, **kw: Any) -> VictronSensorEntityDescription:
    """A boat's speed: m/s natively (the GX's unit), shown in knots (2 decimals: the write
    policy reads the precision in the native unit, 0.02 m/s steps as before)."""
    return _sensor(
        key,
        tk,
        UnitOfSpeed.METERS_PER_SECOND,
        SensorDeviceClass.SPEED,
        precision=2,
        suggested_unit=UnitOfSpeed.KNOTS,
        **kw,
    )


def _count(key: str, tk: str, unit: str | None = None, **kw: Any) -> VictronSensorEntityDescription:
    """A counter that only goes up (alarms, synchronisations; charge cycles in "cycles")."""
    return _sensor(key, tk, unit, None, state_class=TOTAL_INCREASING, **kw)


def _code_or_other(key: str, table: Mapping[int, str]) -> Callable[..., Any]:
    """Decode an integer code to its name, ``other`` for a code the table lacks."""

    def value(data: DeviceData) -> str | None:
        raw = data.get(key)
        if type(raw) is float and raw.is_integer():
            raw = int(raw)
        return table.get(raw, OTHER) if type(raw) is int else None

    return value


def _code_attributes(key: str, table: Mapping[int, str]) -> Callable[..., Any]:
    """``{"code": n}`` for a code the table lacks (so "other" stays traceable), else None."""

    def attributes(data: DeviceData) -> dict[str, Any] | None:
        raw = data.get(key)
        if type(raw) is float and raw.is_integer():
            raw = int(raw)
        return {"code": raw} if type(raw) is int and raw not in table else None

    return attributes


def _enum(
    key: str, tk: str, table: Mapping[int, str], *, diagnostic: bool = False, enabled: bool = True
) -> VictronSensorEntityDescription:
    """An enum sensor: the code decoded by `table`; options are the table's names."""
    return VictronSensorEntityDescription(
        key=key,
        translation_key=tk,
        device_class=SensorDeviceClass.ENUM,
        options=list(dict.fromkeys(table.values())),
        value_fn=_code(key, table),
        discrete=True,
        entity_category=DIAG if diagnostic else None,
        entity_registry_enabled_default=enabled,
    )


def _alarm(key: str, tk: str) -> VictronSensorEntityDescription:
    """An ``Alarms/*`` path: ok / warning / alarm."""
    return _enum(key, tk, ALARM_LEVELS, diagnostic=True)


def _binary(
    key: str,
    tk: str,
    device_class: BinarySensorDeviceClass | None = None,
    *,
    on: frozenset[int] = frozenset({1}),
    diagnostic: bool = False,
    placeholders: Mapping[str, str] | None = None,
) -> VictronBinarySensorEntityDescription:
    return VictronBinarySensorEntityDescription(
        key=key,
        translation_key=tk,
        translation_placeholders=placeholders,
        device_class=device_class,
        value_fn=_flag(key, on),
        discrete=True,
        entity_category=DIAG if diagnostic else None,
    )


def _ac_phases(
    prefix: str, what: str, fields: str = "VIPFS", *, enabled: bool = True
) -> tuple[VictronSensorEntityDescription, ...]:
    """V, I, P, F, S rows of every phase of an AC input or output (``<prefix>/L1/V`` ...)."""
    rows: list[VictronSensorEntityDescription] = []
    builders: dict[str, tuple[Callable[..., VictronSensorEntityDescription], str]] = {
        "V": (_volts, "voltage"),
        "I": (_amps, "current"),
        "P": (_watts, "power"),
        "F": (_hertz, "frequency"),
        "S": (_volt_amps, "apparent_power"),
    }
    for phase in PHASES:
        for field in fields:
            build, name = builders[field]
            rows.append(
                build(
                    f"{prefix}/{phase}/{field}",
                    f"{what}_{name}",
                    placeholders={"phase": phase},
                    enabled=enabled,
                )
            )
    return tuple(rows)


# --- tables per service type ----------------------------------------------------------------------

SYSTEM_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _soc("Dc/Battery/Soc"),
    _volts("Dc/Battery/Voltage", "battery_voltage"),
    _amps("Dc/Battery/Current", "battery_current"),
    _watts("Dc/Battery/Power", "battery_power"),
    _celsius("Dc/Battery/Temperature", "battery_temperature"),
    _amp_hours("Dc/Battery/ConsumedAmphours", "consumed_amp_hours"),
    _seconds("Dc/Battery/TimeToGo", "time_to_go"),
    _enum("Dc/Battery/State", "battery_state", BATTERY_STATES),
    _watts("Dc/Pv/Power", "pv_power"),
    _amps("Dc/Pv/Current", "pv_current"),
    _watts("Dc/System/Power", "dc_system_power"),
    _amps("Dc/System/Current", "dc_system_current"),
    _watts("Dc/InverterCharger/Power", "inverter_charger_dc_power"),
    _watts("Dc/Alternator/Power", "alternator_power"),
    _watts("Dc/Charger/Power", "charger_power"),
    _watts("Dc/FuelCell/Power", "fuel_cell_power"),
    *(
        _watts(f"Ac/{source}/{phase}/Power", tk, placeholders={"phase": phase})
        for source, tk in (
            ("Consumption", "ac_consumption_power"),
            ("ConsumptionOnOutput", "ac_consumption_on_output_power"),
            ("ConsumptionOnInput", "ac_consumption_on_input_power"),
            ("Grid", "grid_power"),
            ("Genset", "generator_power"),
            ("ActiveIn", "ac_input_power"),
            ("PvOnOutput", "pv_on_output_power"),
            ("PvOnGrid", "pv_on_grid_power"),
            ("PvOnGenset", "pv_on_generator_power"),
        )
        for phase in PHASES
    ),
    *(
        _amps(
            f"Ac/Consumption/{phase}/Current",
            "ac_consumption_current",
            placeholders={"phase": phase},
        )
        for phase in PHASES
    ),
    _enum("Ac/ActiveIn/Source", "ac_input_source", AC_SOURCES),
    _enum("SystemState/State", "system_state", SYSTEM_STATES),
    _speed("GpsSpeed", "gps_speed"),
    _watts("MotorDrive/Power", "motor_drive_power"),
    _sensor("MotorDrive/0/RPM", "motor_rpm", REVOLUTIONS_PER_MINUTE, None, precision=0),
)

SYSTEM_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = tuple(
    _binary(f"Relay/{n}/State", "gx_relay", placeholders={"relay": str(n + 1)}, diagnostic=True)
    for n in (0, 1)
)

BATTERY_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _soc("Soc"),
    _volts("Dc/0/Voltage", "battery_voltage"),
    _amps("Dc/0/Current", "battery_current"),
    _watts("Dc/0/Power", "battery_power"),
    _celsius("Dc/0/Temperature", "battery_temperature"),
    _volts("Dc/1/Voltage", "starter_voltage"),
    _volts("Dc/0/MidVoltage", "midpoint_voltage"),
    _sensor("Dc/0/MidVoltageDeviation", "midpoint_deviation", PERCENTAGE, None, precision=1),
    _amp_hours("ConsumedAmphours", "consumed_amp_hours"),
    _seconds("TimeToGo", "time_to_go"),
    _amp_hours("Capacity", "remaining_capacity"),
    _amp_hours("InstalledCapacity", "installed_capacity", diagnostic=True),
    _percent("Soh", "state_of_health"),
    _volts("Info/MaxChargeVoltage", "max_charge_voltage", diagnostic=True),
    _amps("Info/MaxChargeCurrent", "max_charge_current", diagnostic=True),
    _amps("Info/MaxDischargeCurrent", "max_discharge_current", diagnostic=True),
    _volts("System/MinCellVoltage", "min_cell_voltage", diagnostic=True),
    _volts("System/MaxCellVoltage", "max_cell_voltage", diagnostic=True),
    _kwh("History/ChargedEnergy", "charged_energy"),
    _kwh("History/DischargedEnergy", "discharged_energy"),
    _count("History/ChargeCycles", "charge_cycles", CYCLES, diagnostic=True),
    _count("History/FullDischarges", "full_discharges", diagnostic=True),
    _amp_hours("History/DeepestDischarge", "deepest_discharge", diagnostic=True),
    _amp_hours("History/LastDischarge", "last_discharge", diagnostic=True),
    _amp_hours("History/AverageDischarge", "average_discharge", diagnostic=True),
    _amp_hours("History/TotalAhDrawn", "cumulative_amp_hours_drawn", diagnostic=True),
    _volts("History/MinimumVoltage", "minimum_battery_voltage", diagnostic=True),
    _volts("History/MaximumVoltage", "maximum_battery_voltage", diagnostic=True),
    _volts("History/MinimumStarterVoltage", "minimum_starter_voltage", diagnostic=True),
    _volts("History/MaximumStarterVoltage", "maximum_starter_voltage", diagnostic=True),
    _seconds("History/TimeSinceLastFullCharge", "time_since_full_charge", diagnostic=True),
    _count("History/AutomaticSyncs", "automatic_synchronisations", diagnostic=True),
    _count("History/LowVoltageAlarms", "low_voltage_alarms", diagnostic=True),
    _count("History/HighVoltageAlarms", "high_voltage_alarms", diagnostic=True),
    _alarm("Alarms/Alarm", "any_alarm"),
    _alarm("Alarms/LowVoltage", "low_voltage_alarm"),
    _alarm("Alarms/HighVoltage", "high_voltage_alarm"),
    _alarm("Alarms/LowSoc", "low_soc_alarm"),
    _alarm("Alarms/LowStarterVoltage", "low_starter_voltage_alarm"),
    _alarm("Alarms/HighStarterVoltage", "high_starter_voltage_alarm"),
    _alarm("Alarms/LowTemperature", "low_temperature_alarm"),
    _alarm("Alarms/HighTemperature", "high_temperature_alarm"),
    _alarm("Alarms/MidVoltage", "mid_voltage_alarm"),
)

BATTERY_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    _binary("Relay/0/State", "relay", diagnostic=True),
)

DC_METER_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _volts("Dc/0/Voltage", "dc_voltage"),
    _amps("Dc/0/Current", "dc_current"),
    _watts("Dc/0/Power", "dc_power"),
    _celsius("Dc/0/Temperature", "dc_temperature"),
    _volts("Dc/1/Voltage", "starter_voltage"),
    _kwh("History/EnergyIn", "energy_in"),
    _kwh("History/EnergyOut", "energy_out"),
    _alarm("Alarms/LowVoltage", "low_voltage_alarm"),
    _alarm("Alarms/HighVoltage", "high_voltage_alarm"),
)
"""dcload, dcsource and dcsystem: SmartShunts and BMVs set up as DC meters."""

INVERTER_CHARGER_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    *_ac_phases("Ac/ActiveIn", "ac_in"),
    *_ac_phases("Ac/In/1", "ac_in_1", "VIPF"),
    *_ac_phases("Ac/In/2", "ac_in_2", "VIPF", enabled=False),
    *_ac_phases("Ac/Out", "ac_out"),
    *_ac_phases("Ac/In", "charger_ac_in", "I"),
    _watts("Ac/ActiveIn/P", "ac_input_total_power"),
    _watts("Ac/Out/P", "ac_output_total_power"),
    _amps("Ac/ActiveIn/CurrentLimit", "ac_input_current_limit", diagnostic=True),
    _enum("Ac/ActiveIn/ActiveInput", "active_ac_input", ACTIVE_INPUTS),
    _volts("Dc/0/Voltage", "battery_voltage"),
    _amps("Dc/0/Current", "battery_current"),
    _watts("Dc/0/Power", "battery_power"),
    _celsius("Dc/0/Temperature", "battery_temperature"),
    _soc("Soc"),
    _watts("Yield/Power", "pv_power"),
    _volts("Pv/V", "pv_voltage"),
    _kwh("Yield/User", "yield_total"),
    _enum("State", "device_state", ve.CS_STATES),
    _enum("Mode", "device_mode", ve.MODES),
    _enum("ErrorCode", "charger_error", ve.ERR_CODES),
    VictronSensorEntityDescription(
        key="VebusError",
        translation_key="vebus_error",
        device_class=SensorDeviceClass.ENUM,
        options=[*VEBUS_ERRORS.values(), OTHER],
        value_fn=_code_or_other("VebusError", VEBUS_ERRORS),
        attributes_fn=_code_attributes("VebusError", VEBUS_ERRORS),
        discrete=True,
        entity_category=DIAG,
    ),
    *(
        _kwh(f"Energy/{path}", f"energy_{tk}")  # all enabled, as core victron_gx
        for path, tk in (
            ("AcIn1ToAcOut", "ac_in_1_to_ac_out"),
            ("AcIn1ToInverter", "ac_in_1_to_battery"),
            ("InverterToAcOut", "battery_to_ac_out"),
            ("OutToInverter", "ac_out_to_battery"),
            ("AcIn2ToAcOut", "ac_in_2_to_ac_out"),
            ("AcIn2ToInverter", "ac_in_2_to_battery"),
            ("AcOutToAcIn1", "ac_out_to_ac_in_1"),
            ("InverterToAcIn1", "battery_to_ac_in_1"),
        )
    ),
    _alarm("Alarms/HighTemperature", "high_temperature_alarm"),
    _alarm("Alarms/LowBattery", "low_battery_alarm"),
    _alarm("Alarms/Overload", "overload_alarm"),
    _alarm("Alarms/Ripple", "ripple_alarm"),
    _alarm("Alarms/TemperatureSensor", "temperature_sensor_alarm"),
    _alarm("Alarms/VoltageSensor", "voltage_sensor_alarm"),
    _alarm("Alarms/GridLost", "grid_lost_alarm"),
    _alarm("Alarms/PhaseRotation", "phase_rotation_alarm"),
    _alarm("Alarms/HighDcVoltage", "high_dc_voltage_alarm"),
    _alarm("Alarms/HighDcCurrent", "high_dc_current_alarm"),
    _alarm("Alarms/BmsConnectionLost", "bms_connection_lost_alarm"),
    _alarm("Alarms/LowVoltage", "low_voltage_alarm"),
    _alarm("Alarms/HighVoltage", "high_voltage_alarm"),
    _alarm("Alarms/LowTemperature", "low_temperature_alarm"),
)
"""vebus (Multi/Quattro), multi (Multi RS), inverter (Phoenix), charger (Blue Smart, Skylla):
one table, since a path a service lacks never makes an entity."""

INVERTER_CHARGER_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    _binary("Relay/0/State", "relay", diagnostic=True),
)

SOLAR_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _watts("Yield/Power", "pv_power"),
    _volts("Pv/V", "pv_voltage"),
    _amps("Pv/I", "pv_current"),
    _volts("Dc/0/Voltage", "battery_voltage"),
    _amps("Dc/0/Current", "battery_current"),
    _celsius("Dc/0/Temperature", "battery_temperature"),
    _amps("Load/I", "load_current"),
    _kwh("Yield/User", "yield_total"),
    _kwh("Yield/System", "system_yield", diagnostic=True),
    _kwh("History/Daily/0/Yield", "yield_today", resets=True),
    _kwh("History/Daily/1/Yield", "yield_yesterday", counter=False),
    # a day's maximum only rises, in real steps (never noise): every displayed step is written
    _watts(
        "History/Daily/0/MaxPower",
        "max_power_today",
        diagnostic=True,
        write_threshold=1,
        write_relative=0,
    ),
    _watts("History/Daily/1/MaxPower", "max_power_yesterday", diagnostic=True, state_class=None),
    _enum("State", "device_state", ve.CS_STATES),
    _enum("MppOperationMode", "tracker_mode", ve.MPPT_MODES),
    _enum("ErrorCode", "charger_error", ve.ERR_CODES),
    _enum("Mode", "charger_mode", CHARGER_MODES),
    reasons_row(
        "DeviceOffReason",
        "off_reason",
        _bit_names("DeviceOffReason", ve.OFF_REASONS),
        ve.OFF_REASONS,
        diagnostic=True,
    ),
    *(
        row
        for n in range(4)
        for row in (
            _volts(
                f"Pv/{n}/V",
                "tracker_pv_voltage",
                placeholders={"tracker": str(n + 1)},
                enabled=False,
            ),
            _watts(
                f"Pv/{n}/P", "tracker_pv_power", placeholders={"tracker": str(n + 1)}, enabled=False
            ),
        )
    ),
)

SOLAR_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    _binary("Load/State", "load_output"),
    _binary("Relay/0/State", "relay", diagnostic=True),
)

DCDC_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _volts("Dc/0/Voltage", "output_voltage"),
    _amps("Dc/0/Current", "output_current"),
    _watts("Dc/0/Power", "output_power"),
    _celsius("Dc/0/Temperature", "battery_temperature"),
    _volts("Dc/In/V", "dc_input_voltage"),
    _amps("Dc/In/I", "dc_input_current"),
    _watts("Dc/In/P", "dc_input_power"),
    _enum("State", "device_state", ve.CS_STATES),
    _enum("ErrorCode", "charger_error", ve.ERR_CODES),
    _enum("Mode", "charger_mode", CHARGER_MODES),
    reasons_row(
        "DeviceOffReason",
        "off_reason",
        _bit_names("DeviceOffReason", ve.OFF_REASONS),
        ve.OFF_REASONS,
        diagnostic=True,
    ),
    _sensor("Speed", "alternator_speed", REVOLUTIONS_PER_MINUTE, None, precision=0),
    _sensor("Engine/Speed", "engine_speed", REVOLUTIONS_PER_MINUTE, None, precision=0),
    _percent("FieldDrive", "field_drive"),
    _kwh("History/Cumulative/User/ChargedEnergy", "charged_energy"),
)
"""dcdc (Orion XS) and alternator (Wakespeed, Arco, Orion XS as alternator charger)."""

GPS_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _speed("Speed", "speed"),
    _sensor("Course", "course", DEGREE, None, state_class=None, precision=0),
    _sensor("Altitude", "altitude", UnitOfLength.METERS, SensorDeviceClass.DISTANCE, precision=0),
    _sensor("NrOfSatellites", "satellites", None, None, state_class=None, diagnostic=True),
)

GPS_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (_binary("Fix", "gps_fix"),)

FIX_ACCURACY: Final = 10.0
"""Metres of accuracy reported with a GPS fix (a GX publishes no HDOP)."""


def _position(data: DeviceData) -> tuple[float, float, float] | None:
    """(latitude °, longitude °, accuracy m) while the GPS has a fix, else None."""
    latitude: Any = data.get("Position/Latitude")
    longitude: Any = data.get("Position/Longitude")
    if type(latitude) not in (int, float) or type(longitude) not in (int, float):
        return None
    if data.get("Fix") == 0 or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return (float(latitude), float(longitude), FIX_ACCURACY)


GPS_TRACKERS: tuple[VictronTrackerEntityDescription, ...] = (
    VictronTrackerEntityDescription(
        key="Position",
        translation_key="position",
        value_fn=_position,
        exists_fn=lambda data: "Position/Latitude" in data and "Position/Longitude" in data,
    ),
)

TANK_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _percent("Level", "tank_level"),
    _sensor(
        "Remaining",
        "tank_remaining",
        UnitOfVolume.LITERS,
        SensorDeviceClass.VOLUME_STORAGE,
        precision=0,
        value_fn=_number("Remaining", 1000, 3),
    ),
    _sensor(
        "Capacity",
        "tank_capacity",
        UnitOfVolume.LITERS,
        SensorDeviceClass.VOLUME_STORAGE,
        precision=0,
        value_fn=_number("Capacity", 1000, 3),
        diagnostic=True,
    ),
    _enum("FluidType", "fluid_type", FLUID_TYPES, diagnostic=True),
    _enum("Status", "sensor_status", SENSOR_STATUS, diagnostic=True),
)

TEMPERATURE_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _celsius("Temperature", "temperature"),
    _sensor("Humidity", "humidity", PERCENTAGE, SensorDeviceClass.HUMIDITY, precision=0),
    _sensor("Pressure", "pressure", UnitOfPressure.HPA, SensorDeviceClass.PRESSURE, precision=0),
    _volts("BatteryVoltage", "sensor_battery_voltage", diagnostic=True),
    _enum("TemperatureType", "temperature_type", TEMPERATURE_TYPES, diagnostic=True),
    _enum("Status", "sensor_status", SENSOR_STATUS, diagnostic=True),
)

DIGITAL_INPUT_SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    _enum("State", "input_state", INPUT_STATES),
    _enum("Type", "input_type", INPUT_TYPES, diagnostic=True),
    _count("Count", "pulse_count"),
)

DIGITAL_INPUT_BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    _binary("Alarm", "input_alarm", BinarySensorDeviceClass.PROBLEM, on=frozenset({1, 2})),
)

SENSORS: dict[str, tuple[VictronSensorEntityDescription, ...]] = {
    "system": SYSTEM_SENSORS,
    "battery": BATTERY_SENSORS,
    "dcload": DC_METER_SENSORS,
    "dcsource": DC_METER_SENSORS,
    "dcsystem": DC_METER_SENSORS,
    "vebus": INVERTER_CHARGER_SENSORS,
    "multi": INVERTER_CHARGER_SENSORS,
    "inverter": INVERTER_CHARGER_SENSORS,
    "charger": INVERTER_CHARGER_SENSORS,
    "solarcharger": SOLAR_SENSORS,
    "dcdc": DCDC_SENSORS,
    "alternator": DCDC_SENSORS,
    "gps": GPS_SENSORS,
    "tank": TANK_SENSORS,
    "temperature": TEMPERATURE_SENSORS,
    "digitalinput": DIGITAL_INPUT_SENSORS,
}
"""Sensor rows per service type (the third part of the D-Bus service name)."""

BINARY_SENSORS: dict[str, tuple[VictronBinarySensorEntityDescription, ...]] = {
    "system": SYSTEM_BINARY_SENSORS,
    "battery": BATTERY_BINARY_SENSORS,
    "vebus": INVERTER_CHARGER_BINARY_SENSORS,
    "multi": INVERTER_CHARGER_BINARY_SENSORS,
    "inverter": INVERTER_CHARGER_BINARY_SENSORS,
    "charger": INVERTER_CHARGER_BINARY_SENSORS,
    "solarcharger": SOLAR_BINARY_SENSORS,
    "gps": GPS_BINARY_SENSORS,
    "digitalinput": DIGITAL_INPUT_BINARY_SENSORS,
}

TRACKERS: dict[str, tuple[VictronTrackerEntityDescription, ...]] = {"gps": GPS_TRACKERS}

SERVICE_TYPES: Final[tuple[str, ...]] = tuple(SENSORS)
"""Every service type that becomes devices, in menu order (the options' default: all)."""

SERVICE_LABELS: Final[dict[str, str]] = {
    "battery": "battery",
    "dcload": "DC load",
    "dcsource": "DC source",
    "dcsystem": "DC system",
    "vebus": "inverter/charger",
    "multi": "inverter/charger",
    "inverter": "inverter",
    "charger": "charger",
    "solarcharger": "solar charger",
    "dcdc": "DC-DC",
    "alternator": "alternator",
    "gps": "GPS",
    "tank": "tank",
    "temperature": "temperature",
    "digitalinput": "input",
}
"""Added to a device name that another device of the GX already has ("House inverter/charger")."""

IDENTITY_PATHS: Final = frozenset(
    {"CustomName", "ProductName", "ProductId", "Serial", "FirmwareVersion", "HardwareVersion"}
)
"""Paths that name a device (device registry fields), not entities."""

KNOWN_PATHS: Final[dict[str, frozenset[str]]] = {
    service_type: frozenset(
        [row.key for row in SENSORS[service_type]]
        + [row.key for row in BINARY_SENSORS.get(service_type, ())]
        + (["Position/Latitude", "Position/Longitude"] if service_type in TRACKERS else [])
    )
    for service_type in SENSORS
}
"""Every path a row reads, per service type (the rest is counted as unknown)."""
