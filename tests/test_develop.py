"""The README's main job: `scripts/develop --check` brings up a real Home Assistant, sets every
demo device up through the config flow and prints live entities whose values match the captures."""

from __future__ import annotations

import os
import re
import subprocess

from tests.shared import REPO, fixture_path


def test_develop_check_prints_live_entities_from_the_captures() -> None:
    """Exit 0, every demo device listed, and values that are in the captures."""
    fixture_path("vedirect")  # fails loudly when ../shared is missing
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "develop"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
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
    assert not [entity for entity, (state, _) in rows.items() if state == "unavailable"]
