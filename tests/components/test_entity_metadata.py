"""Entity metadata of every description row against Home Assistant's sensor conventions (issue 12
section 1): state labels written as a person would (no "Ac in 1", "Ok", "Bms connection lost"),
coded values as enums with labelled states, units / device classes / state classes that agree
(HA's own DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES), once-a-day values without
long-term statistics, counters with a unit, durations and boat speeds shown in h and kn, the
default-enabled flags core victron_gx uses for history and energy paths, and names short enough
for the device page.

Read from the tables themselves (tests/components/test_strings.py's `entity_rows`), in every
language we ship.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import re
from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.sensor.const import DEVICE_CLASS_STATE_CLASSES, DEVICE_CLASS_UNITS
from homeassistant.const import UnitOfSpeed, UnitOfTime
from homeassistant.helpers.entity import EntityDescription
import pytest

from custom_components.victron_venus.descriptions import (
    bank,
    ble_battery,
    jbd,
    vedirect,
    venus,
)
from custom_components.victron_venus.descriptions.common import RidingAttributesSensorDescription
from custom_components.victron_venus.entity import VictronSensorEntityDescription
from tests.components.test_strings import COMPONENT, entity_rows

LANGUAGES = ("en", "de", "nl", "fr")


def _strings(language: str) -> dict[str, Any]:
    path = COMPONENT / ("strings.json" if language == "en" else f"translations/{language}.json")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _sensor_rows() -> Iterator[tuple[str, VictronSensorEntityDescription]]:
    for where, platform, row in entity_rows():
        if platform == "sensor":
            assert isinstance(row, VictronSensorEntityDescription), where
            yield where, row


def _row(table: Any, key: str) -> Any:
    return next(row for row in table if row.key == key)


# --- a. state labels ------------------------------------------------------------------------------

#: acronyms as a machine writes them when it capitalises a key ("ac_in_1" -> "Ac in 1")
MACHINE_ACRONYMS = re.compile(
    r"\b(Ac|Dc|Ok|Bms|Co2|Ess|Lpg|Lng|Pv|Gps|Soc|Mppt|Gx|Dvcc|Ve\.bus|Ve\.direct|Ntc|Mosfet|Fet)\b"
)


def _entity_texts(language: str) -> Iterator[tuple[str, str]]:
    for platform, rows in _strings(language)["entity"].items():
        for key, entry in rows.items():
            yield f"{platform}.{key}.name", entry.get("name", "")
            for state, label in entry.get("state", {}).items():
                yield f"{platform}.{key}.state.{state}", label


@pytest.mark.parametrize("language", LANGUAGES)
def test_entity_names_and_state_labels_are_not_machine_made(language: str) -> None:
    """No entity name or state label writes an acronym as a capitalised key would ("Ac in 1",
    "Ok", "Bms connection lost", "Dc dc charger", "Co2 alarm", "Lpg", "Sustain ess")."""
    bad = [
        f"{where}: {text!r}"
        for where, text in _entity_texts(language)
        if MACHINE_ACRONYMS.search(text)
    ]
    assert bad == []


def test_the_labels_the_issue_saw() -> None:
    """The labels a user saw in the browser, as they now read in English."""
    sensor = _strings("en")["entity"]["sensor"]
    assert sensor["active_ac_input"]["state"]["ac_in_1"] == "AC input 1"
    assert sensor["low_voltage_alarm"]["state"]["ok"] == "OK"  # like VE.Direct's problem sensor
    assert sensor["charger_error"]["state"]["bms_connection_lost"] == "BMS connection lost"
    assert sensor["monitor_mode"]["state"]["dc_dc_charger"] == "DC-DC charger"
    assert sensor["monitor_mode"]["state"]["ac_charger"] == "AC charger"
    assert sensor["monitor_mode"]["state"]["dc_system"] == "DC system"
    assert sensor["input_type"]["state"]["co2_alarm"] == "CO2 alarm"
    assert sensor["vebus_error"]["state"]["no_error"] == "No error"
    assert sensor["alarm_reason"]["state"]["none"] == "No alarm"


#: sensor rows whose state is free text (not translatable): why each is not an enum
FREE_TEXT = {
    "largest_cell_delta_battery": "a battery's name (the user's)",
    "lacking": "the missing values per battery, as battery names and value names",
}


def test_coded_values_are_enums() -> None:
    """A sensor without unit, device class and state class is an enum (its states translated)
    unless its state is a name the user gave; VE.Bus error and the reason bitmasks are enums."""
    text_rows = sorted(
        {
            row.key
            for _where, row in _sensor_rows()
            if row.device_class is None
            and row.native_unit_of_measurement is None
            and row.state_class is None
            and row.options is None
        }
    )
    # JBD's lowest/highest cell numbers and counts are numbers (an index, a count)
    numbers = {
        "cell_min_index", "cell_max_index", "cell_count", "pack_count", "problem_code", "HSDS",
        "NrOfSatellites",
    }  # fmt: skip
    assert [key for key in text_rows if key not in numbers] == sorted(FREE_TEXT)
    for table, key in (
        (venus.INVERTER_CHARGER_SENSORS, "VebusError"),
        (venus.SOLAR_SENSORS, "DeviceOffReason"),
        (venus.DCDC_SENSORS, "DeviceOffReason"),
        (vedirect.SENSORS, "AR"),
        (vedirect.SENSORS, "WARN"),
        (vedirect.SENSORS, "OR"),
    ):
        row = _row(table, key)
        assert row.device_class is SensorDeviceClass.ENUM, key
        assert row.options is not None, key
        assert {"none", "no_error"} & set(row.options), key


def test_vebus_error_codes_decode_to_names() -> None:
    """VE.Bus error 0 is "no_error" (was a raw "0"); known codes have names; unknown ones
    are "other" (the code stays readable in the attribute)."""
    row = _row(venus.INVERTER_CHARGER_SENSORS, "VebusError")
    assert row.value_fn({"VebusError": 0}) == "no_error"
    assert row.value_fn({"VebusError": 8}) == "ground_relay_test_failed"
    assert row.value_fn({"VebusError": 99}) == "other"
    assert row.attributes_fn({"VebusError": 99}) == {"code": 99}
    assert row.value_fn({"VebusError": "x"}) is None


def test_reason_bitmasks_are_one_state_and_every_reason_an_attribute() -> None:
    """AR / WARN / OR: "none", the one active reason, or "multiple" with every reason in the
    `reasons` attribute."""
    row = _row(vedirect.SENSORS, "AR")
    assert row.value_fn({"AR": ()}) == "none"
    assert row.value_fn({"AR": ("low_voltage",)}) == "low_voltage"
    assert row.value_fn({"AR": ("low_voltage", "low_soc")}) == "multiple"
    assert row.attributes_fn({"AR": ("low_voltage", "low_soc")}) == {
        "reasons": ["low_voltage", "low_soc"]
    }
    assert row.value_fn({"AR": ("unknown_bit_15",)}) == "other"
    assert row.value_fn({}) is None
    off = _row(venus.SOLAR_SENSORS, "DeviceOffReason")
    assert off.value_fn({"DeviceOffReason": 0}) == "none"
    assert off.value_fn({"DeviceOffReason": 0x001}) == "no_input_power"
    assert off.value_fn({"DeviceOffReason": 0x009}) == "multiple"
    assert off.attributes_fn({"DeviceOffReason": 0x009}) == {
        "reasons": ["no_input_power", "remote_input"]
    }


# --- b. classes, units, state classes -------------------------------------------------------------


def test_units_and_state_classes_agree_with_the_device_class() -> None:
    """Every sensor row's unit (native and suggested) is one Home Assistant allows for its device
    class, and its state class one the class allows (energy: total / total_increasing; enum,
    timestamp: none)."""
    problems: list[str] = []
    for where, row in _sensor_rows():
        dc = row.device_class
        units = DEVICE_CLASS_UNITS.get(dc) if dc else None
        problems.extend(
            f"{where} {row.key}: {unit} for {dc}"
            for unit in (row.native_unit_of_measurement, row.suggested_unit_of_measurement)
            if units is not None and unit is not None and unit not in units
        )
        classes = DEVICE_CLASS_STATE_CLASSES.get(dc) if dc else None
        if classes is not None and row.state_class is not None and row.state_class not in classes:
            problems.append(f"{where} {row.key}: {row.state_class} for {dc}")
        if dc in (SensorDeviceClass.ENUM, SensorDeviceClass.TIMESTAMP) and (
            row.state_class or row.native_unit_of_measurement
        ):
            problems.append(f"{where} {row.key}: {dc} with a state class or unit")
        if dc is SensorDeviceClass.MONETARY and row.state_class is SensorStateClass.MEASUREMENT:
            problems.append(f"{where} {row.key}: monetary measurement")
    assert problems == []


def test_charge_cycles_count_in_cycles() -> None:
    """Charge cycles (GX, VE.Direct H4, JBD, bank) have the unit "cycles" and total_increasing."""
    for table, key in (
        (venus.BATTERY_SENSORS, "History/ChargeCycles"),
        (vedirect.SENSORS, "H4"),
        (jbd.SENSORS, "cycles"),
        (ble_battery.SENSORS, "cycles"),
    ):
        row = _row(table, key)
        assert (row.native_unit_of_measurement, row.state_class, row.device_class) == (
            "cycles",
            SensorStateClass.TOTAL_INCREASING,
            None,
        ), key


def test_once_a_day_values_and_counts_have_no_measurement_statistics() -> None:
    """Yesterday's figures change once a day, a satellite count and a day's sequence number are
    no quantities: no long-term statistics (state_class None)."""
    for table, key in (
        (venus.SOLAR_SENSORS, "History/Daily/1/MaxPower"),
        (venus.SOLAR_SENSORS, "History/Daily/1/Yield"),
        (vedirect.SENSORS, "H23"),
        (vedirect.SENSORS, "H22"),
        (venus.GPS_SENSORS, "NrOfSatellites"),
        (vedirect.SENSORS, "HSDS"),
    ):
        assert _row(table, key).state_class is None, key
    yesterday = [
        f"{where} {row.key}"
        for where, row in _sensor_rows()
        if "yesterday" in (row.translation_key or "") and row.state_class is not None
    ]
    assert yesterday == []


def test_load_output_is_a_plain_on_off() -> None:
    """The load output is a switched output, not "power detected" (device_class power)."""
    for row in (
        _row(venus.SOLAR_BINARY_SENSORS, "Load/State"),
        _row(vedirect.BINARY_SENSORS, "LOAD"),
    ):
        assert row.device_class is not BinarySensorDeviceClass.POWER
        assert row.device_class is None


#: GX history and energy paths core victron_gx enables by default (disabled here before)
CORE_ENABLED = (
    (venus.BATTERY_SENSORS, "History/FullDischarges"),
    (venus.BATTERY_SENSORS, "History/DeepestDischarge"),
    (venus.BATTERY_SENSORS, "History/LastDischarge"),
    (venus.BATTERY_SENSORS, "History/AverageDischarge"),
    (venus.BATTERY_SENSORS, "History/TotalAhDrawn"),
    (venus.BATTERY_SENSORS, "History/MinimumVoltage"),
    (venus.BATTERY_SENSORS, "History/MaximumVoltage"),
    (venus.BATTERY_SENSORS, "History/MinimumStarterVoltage"),
    (venus.BATTERY_SENSORS, "History/MaximumStarterVoltage"),
    (venus.BATTERY_SENSORS, "History/TimeSinceLastFullCharge"),
    (venus.BATTERY_SENSORS, "History/AutomaticSyncs"),
    (venus.BATTERY_SENSORS, "History/LowVoltageAlarms"),
    (venus.BATTERY_SENSORS, "History/HighVoltageAlarms"),
    (venus.INVERTER_CHARGER_SENSORS, "Energy/AcIn2ToAcOut"),
    (venus.INVERTER_CHARGER_SENSORS, "Energy/AcIn2ToInverter"),
    (venus.INVERTER_CHARGER_SENSORS, "Energy/AcOutToAcIn1"),
    (venus.INVERTER_CHARGER_SENSORS, "Energy/InverterToAcIn1"),
    (venus.SOLAR_SENSORS, "Yield/System"),
)


def test_history_and_energy_paths_are_enabled_like_core() -> None:
    """The 18 GX history and energy paths core victron_gx enables are enabled here too (a row
    makes an entity only when the GX publishes its path, so nothing empty appears); the
    VE.Direct BMV history, the same values, likewise."""
    assert len(CORE_ENABLED) == 18
    for table, key in CORE_ENABLED:
        assert _row(table, key).entity_registry_enabled_default, key
    disabled = [row.key for row in vedirect.SENSORS if not row.entity_registry_enabled_default]
    assert disabled == ["HSDS"]


# --- d. durations and speeds ----------------------------------------------------------------------


def test_durations_read_in_hours_and_boat_speeds_in_knots() -> None:
    """A duration in s or min is suggested in h (GX time to go 864,000 s reads 240 h, like
    VE.Direct's minutes); a speed in m/s is suggested in knots; the native unit stays."""
    for where, row in _sensor_rows():
        if row.device_class is SensorDeviceClass.DURATION:
            assert row.suggested_unit_of_measurement == UnitOfTime.HOURS, (where, row.key)
            assert row.suggested_display_precision is not None, (where, row.key)
        if row.device_class is SensorDeviceClass.SPEED:
            assert row.suggested_unit_of_measurement == UnitOfSpeed.KNOTS, (where, row.key)
    ttg = _row(venus.SYSTEM_SENSORS, "Dc/Battery/TimeToGo")
    assert (ttg.native_unit_of_measurement, ttg.suggested_unit_of_measurement) == ("s", "h")
    speed = _row(venus.GPS_SENSORS, "Speed")
    assert (speed.native_unit_of_measurement, speed.suggested_unit_of_measurement) == ("m/s", "kn")


# --- f. names -------------------------------------------------------------------------------------

MAX_NAME = 30
"""Characters of a name the device page shows without cutting it (a placeholder counts as 2)."""


def _named_rows() -> Iterator[tuple[str, str, EntityDescription]]:
    yield from (
        (where, platform, row)
        for where, platform, row in entity_rows()
        if platform in ("sensor", "binary_sensor", "image", "device_tracker")
    )


@pytest.mark.parametrize("language", ["en"])
def test_names_are_short(language: str) -> None:
    """Sensor and binary sensor names fit the device page ("Battery with the largest ce…")."""
    entity = _strings(language)["entity"]
    long = sorted(
        {
            name
            for _where, platform, row in _named_rows()
            if (name := entity[platform][row.translation_key]["name"])
            and len(re.sub(r"\{\w+\}", "L1", name)) > MAX_NAME
        }
    )
    assert long == []


def test_problem_sensors_name_the_thing_not_the_fault() -> None:
    """A problem binary sensor reads "<name>: OK / Problem": its name is the thing watched, not a
    fault ("Battery unavailable: OK" read oddly)."""
    entity = _strings("en")["entity"]
    assert entity["binary_sensor"]["alert_member_unavailable"]["name"] == "Member batteries"
    assert entity["sensor"]["largest_cell_delta_battery"]["name"] == "Most unbalanced battery"
    faults = re.compile(r"\b(unavailable|missing|lost|protection)\b", re.IGNORECASE)
    bad = [
        f"{row.key}: {name}"
        for _where, platform, row in _named_rows()
        if platform == "binary_sensor"
        and row.device_class is BinarySensorDeviceClass.PROBLEM
        and faults.search(name := entity["binary_sensor"][row.translation_key]["name"])
    ]
    assert bad == []


def test_bank_rows_have_no_text_cell_sensors() -> None:
    """The bank's lowest / highest cell is an attribute of the cell voltage sensors, not a text
    sensor that flips between batteries (issue 12: 57 Activity entries in 30 minutes)."""
    keys = {row.key for row in bank.SENSORS}
    assert not keys & {"lowest_cell", "highest_cell"}
    for key in ("lowest_cell_voltage", "highest_cell_voltage"):
        row = _row(bank.SENSORS, key)
        assert isinstance(row, RidingAttributesSensorDescription), key
