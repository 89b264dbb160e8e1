"""The README's main job: `scripts/develop --check` brings up a real Home Assistant, sets every
demo device up through the config flow and prints live entities whose values match the captures."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.shared import REPO, fixture_path


@pytest.mark.timeout(660)  # the logbook needs its boat to sail a minute and a half
def test_develop_check_prints_live_entities_from_the_captures() -> None:
    """Exit 0, every demo device listed, and values that are in the captures."""
    fixture_path("vedirect")  # fails loudly when ../shared is missing
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "develop"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "check passed" in out
    for device in (
        "BMV-700",
        "BMV-712 Smart",
        "SmartSolar MPPT 100|20",
        "SmartSolar MPPT 150|70 rev2",
        "BlueSolar MPPT 75|15",
        "Phoenix Inverter 12V 1200VA 230Vac 64k HS",
    ):
        assert f"\n{device}\n" in out, device
    rows = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^\s+(\S+\.\S+)\s+(\S+)\s*(\S*)$", out, re.MULTILINE)
    }
    # values the captures hold (protocols.md §1.9 and the raw blocks)
    assert rows["sensor.phoenix_inverter_12v_1200va_230vac_64k_hs_ac_output_voltage"] == (
        "230.07",
        "V",
    )
    assert rows["sensor.phoenix_inverter_12v_1200va_230vac_64k_hs_state"][0] == "inverting"
    assert rows["sensor.bmv_712_smart_battery_voltage"] == ("12.282", "V")
    assert rows["sensor.bmv_712_smart_state_of_charge"] == ("91.6", "%")
    assert rows["sensor.smartsolar_mppt_150_70_rev2_pv_power"] == ("412", "W")
    assert rows["sensor.bluesolar_mppt_75_15_yield_total"][1] == "kWh"
    assert 11.0 < float(rows["sensor.bmv_700_battery_voltage"][0]) < 14.0
    # the two simulated JBD batteries (the btsnoop captures' frames on ptys) and their bank
    for device in ("JBD battery fore", "JBD battery aft", "House bank"):
        assert f"\n{device}\n" in out, device
    assert rows["sensor.jbd_battery_fore_cell_4_voltage"] == ("3.417", "V")
    assert rows["sensor.jbd_battery_fore_nominal_capacity"] == ("280.0", "Ah")
    assert rows["sensor.jbd_battery_aft_cell_3_voltage"][0] in {"3.53", "3.531"}
    assert "sensor.jbd_battery_aft_cell_5_voltage" not in rows  # 4S: four cell sensors
    fore = float(rows["sensor.jbd_battery_fore_battery_voltage"][0])
    aft = float(rows["sensor.jbd_battery_aft_battery_voltage"][0])
    bank = float(rows["sensor.house_bank_battery_voltage"][0])
    assert abs(bank - (fore + aft)) < 0.02  # series; the replay may move one step between rows
    assert rows["sensor.house_bank_cell_count"][0] == "8"
    assert rows["sensor.house_bank_highest_cell_voltage"][1] == "V"  # who: its attributes
    assert "sensor.house_bank_highest_cell" not in rows  # no text sensor (issue 12)
    assert rows["binary_sensor.house_bank_cell_voltage_above_limit"][0] == "on"
    # issue 13: a Bluetooth battery of another brand (a JK BMS answering with aiobmsble's own
    # frames, heard through a fake Bluetooth proxy), every cell its own entity, kWh counters; and
    # a mixed bank of the fore JBD battery and the GX's House battery service
    assert "\nJK_B2A8S20P\n" in out
    cells = [rows[f"sensor.jk_b2a8s20p_cell_{n}_voltage"] for n in range(1, 9)]
    assert [value for value, _unit in cells] == [
        "3.315", "3.315", "3.315", "3.312", "3.313", "3.312", "3.313", "3.313",
    ]  # fmt: skip
    assert "sensor.jk_b2a8s20p_cell_9_voltage" not in rows  # 8S
    assert rows["sensor.jk_b2a8s20p_battery_voltage"] == ("26.509", "V")
    assert rows["sensor.jk_b2a8s20p_charged_energy"][1] == "kWh"
    assert rows["sensor.jk_b2a8s20p_discharged_energy"][1] == "kWh"
    assert "\nBoat bank\n" in out
    assert rows["sensor.boat_bank_batteries_available"][0] == "2"
    assert rows["sensor.boat_bank_battery_current"][1] == "A"
    assert rows["sensor.boat_bank_lowest_cell_voltage"][1] == "V"
    assert re.search(r"sensor\.boat_bank_missing_battery_values +House: cell voltages", out)
    # the simulated Venus GX (the boat recording over mosquitto, set up through the GX flow)
    for device in (
        "Ekrano GX",
        "House",
        "Starter",
        "Bimini",
        "House inverter/charger",
        "NMEA 2000 GPS",
        "Fuel",
        "Fresh Water",
        "Black Water",
        "Fridge Temp",
    ):
        assert f"\n{device}\n" in out, device
    assert rows["sensor.house_battery_voltage"] == ("13.7", "V")  # SmartShunt battery/275
    assert rows["sensor.starter_battery_voltage"] == ("13.34", "V")  # BMV-700 battery/289
    assert rows["sensor.bimini_yield_total"] == ("1922.4", "kWh")
    assert rows["sensor.bimini_state"][0] == "float"
    assert rows["sensor.house_inverter_charger_ac_input_voltage_l1"] == ("120.32", "V")
    assert rows["sensor.fuel_remaining"] == ("27.441", "L")  # 0.027441 m³
    assert rows["sensor.ekrano_gx_state_of_charge"] == ("100", "%")
    # the GX GPS sails plaka.nmea (5-6 kn; m/s on Venus OS, shown in knots: issue 12), and the
    # Logbook has a trip under way
    speed, unit = rows["sensor.nmea_2000_gps_speed"]
    assert unit == "kn" and 2.0 < float(speed) < 8.0
    assert "\nAurora\n" in out
    assert rows["sensor.aurora_navigation_state"][0] == "under_way"
    assert rows["binary_sensor.aurora_under_way"][0] == "on"
    distance, unit = rows["sensor.aurora_trip_distance"]
    assert unit == "nmi" and 0.1 <= float(distance) < 1.0
    assert rows["sensor.aurora_trip_average_speed"][1] == "kn"
    assert 4.0 < float(rows["sensor.aurora_trip_average_speed"][0]) < 7.5
    assert rows["sensor.aurora_log"][1] == "nmi"
    assert rows["sensor.fridge_temp_temperature"] == ("6.225", "°C")
    assert not [entity for entity, (state, _) in rows.items() if state == "unavailable"]
    # issue 11: VE.Direct HEX on the simulated BlueSolar MPPT and Phoenix (Control on): identity
    # read over HEX, the MPPT's 31 history days as statistics (today 0.00 kWh from the capture's
    # 0x1050 record, 30 made-up days of the fake: 13.65 kWh), one confirmed write on each
    assert "BlueSolar MPPT 75|15 HQ1411MYIKN: HEX identity: product id 0xA042, firmware 1.23" in out
    assert "history imported: 31 days, 13.65 kWh" in out
    assert "write switch.bluesolar_mppt_75_15_load_output off: confirmed, state off" in out
    assert "HQ2152UFKWY: HEX identity: product id 0xA2F1, firmware 1.24" in out
    assert "write select.phoenix_inverter_12v_1200va_230vac_64k_hs_mode eco: confirmed" in out
