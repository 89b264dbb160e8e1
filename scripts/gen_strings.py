"""Write custom_components/victron_venus/strings.json and translations/en.json.

Entity names live here; enum state names are derived from the protocol code tables so the
translations can never fall out of step with the options an enum sensor may take. Run with
`.venv/bin/python scripts/gen_strings.py`; a test checks the committed files are current.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from custom_components.victron_venus.descriptions import vedirect as ve_desc  # noqa: E402

SENSOR_NAMES = {
    "battery_voltage": "Battery voltage",
    "battery_voltage_2": "Battery voltage 2",
    "battery_voltage_3": "Battery voltage 3",
    "starter_voltage": "Starter battery voltage",
    "midpoint_voltage": "Mid-point voltage",
    "midpoint_deviation": "Mid-point deviation",
    "battery_current": "Battery current",
    "battery_current_2": "Battery current 2",
    "battery_current_3": "Battery current 3",
    "battery_power": "Battery power",
    "consumed_amp_hours": "Consumed amp hours",
    "state_of_charge": "State of charge",
    "time_to_go": "Time to go",
    "battery_temperature": "Battery temperature",
    "pv_voltage": "PV voltage",
    "pv_power": "PV power",
    "load_current": "Load current",
    "ac_output_voltage": "AC output voltage",
    "ac_output_current": "AC output current",
    "ac_output_apparent_power": "AC output apparent power",
    "dc_input_voltage": "DC input voltage",
    "dc_input_current": "DC input current",
    "dc_input_power": "DC input power",
    "device_state": "State",
    "charger_error": "Charger error",
    "tracker_mode": "Tracker mode",
    "device_mode": "Device mode",
    "monitor_mode": "Monitor mode",
    "alarm_reason": "Alarm reason",
    "warning_reason": "Warning reason",
    "off_reason": "Off reason",
    "discharged_energy": "Discharged energy",
    "charged_energy": "Charged energy",
    "yield_total": "Yield total",
    "yield_today": "Yield today",
    "yield_yesterday": "Yield yesterday",
    "max_power_today": "Maximum power today",
    "max_power_yesterday": "Maximum power yesterday",
    "deepest_discharge": "Deepest discharge",
    "last_discharge": "Last discharge",
    "average_discharge": "Average discharge",
    "charge_cycles": "Charge cycles",
    "full_discharges": "Full discharges",
    "cumulative_amp_hours_drawn": "Cumulative amp hours drawn",
    "minimum_battery_voltage": "Minimum battery voltage",
    "maximum_battery_voltage": "Maximum battery voltage",
    "time_since_full_charge": "Time since full charge",
    "automatic_synchronisations": "Automatic synchronisations",
    "low_voltage_alarms": "Low voltage alarms",
    "high_voltage_alarms": "High voltage alarms",
    "low_starter_voltage_alarms": "Low starter voltage alarms",
    "high_starter_voltage_alarms": "High starter voltage alarms",
    "minimum_starter_voltage": "Minimum starter voltage",
    "maximum_starter_voltage": "Maximum starter voltage",
    "day_sequence_number": "Day sequence number",
}
BINARY_SENSOR_NAMES = {"alarm": "Alarm", "relay": "Relay", "load_output": "Load output"}


def state_name(option: str) -> str:
    """'auto_equalize_recondition' -> 'Auto equalize recondition'."""
    text = option.replace("_", " ")
    return text[:1].upper() + text[1:]


def entity_strings() -> dict[str, dict[str, dict[str, object]]]:
    sensors: dict[str, dict[str, object]] = {}
    for description in ve_desc.SENSORS:
        key = description.translation_key
        assert key is not None
        row: dict[str, object] = {"name": SENSOR_NAMES[key]}
        if description.options:
            row["state"] = {option: state_name(option) for option in description.options}
        sensors[key] = row
    binary = {}
    for bdesc in ve_desc.BINARY_SENSORS:
        assert bdesc.translation_key is not None
        binary[bdesc.translation_key] = {"name": BINARY_SENSOR_NAMES[bdesc.translation_key]}
    return {"sensor": sensors, "binary_sensor": binary}


PORT_DESCRIPTION = (
    "The serial port of the VE.Direct cable. Prefer a /dev/serial/by-id/ path: it stays the same "
    "when the cable is plugged into another USB socket."
)
PROBE_ERRORS = {
    "port_not_found": "No serial port at that path. Is the cable plugged in?",
    "permission_denied": "Home Assistant may not open that port (add its user to the dialout "
    "group, or map the device into the container).",
    "no_data": "The port opened, but no VE.Direct data arrived within 5 seconds. Check that the "
    "device is powered and that this is the right port.",
    "checksum_failed": "Data arrived but its checksums failed: a wrong baud rate, a damaged cable "
    "or another program on the same port.",
    "cannot_open": "The port could not be opened (is another program using it?).",
}


def strings() -> dict[str, object]:
    return {
        "config": {
            "flow_title": "{name}",
            "step": {
                "user": {
                    "title": "Add to Victron Venus",
                    "menu_options": {"vedirect": "VE.Direct device (USB or serial cable)"},
                },
                "vedirect": {
                    "title": "VE.Direct device",
                    "description": "Choose the serial port of a BMV, SmartShunt, MPPT, Phoenix "
                    "inverter, Orion or Blue Smart charger, or type its path.",
                    "data": {"serial_port": "Serial port"},
                    "data_description": {"serial_port": PORT_DESCRIPTION},
                },
                "usb_confirm": {
                    "title": "VE.Direct device found",
                    "description": "Set up {name} on {port}?",
                },
                "reconfigure": {
                    "title": "Change the serial port",
                    "description": "Choose the port the device is connected to now.",
                    "data": {"serial_port": "Serial port"},
                    "data_description": {"serial_port": PORT_DESCRIPTION},
                },
            },
            "error": PROBE_ERRORS,
            "abort": {
                "already_configured": "This device is already set up.",
                "reconfigure_successful": "The device now uses the new port.",
                "wrong_device": "That port has a different device on it.",
                **PROBE_ERRORS,
            },
        },
        "options": {
            "step": {
                "init": {
                    "title": "Options",
                    "data": {"update_interval": "Update interval"},
                    "data_description": {
                        "update_interval": "Write each sensor's state at most once in this many "
                        "seconds, always the latest value; states, errors and alarms are written "
                        "at once. 0 writes every change (a much larger database)."
                    },
                }
            }
        },
        "entity": entity_strings(),
    }


def main() -> None:
    text = json.dumps(strings(), indent=2, ensure_ascii=False) + "\n"
    base = REPO / "custom_components" / "victron_venus"
    (base / "strings.json").write_text(text)
    (base / "translations").mkdir(exist_ok=True)
    (base / "translations" / "en.json").write_text(text)


if __name__ == "__main__":
    main()
