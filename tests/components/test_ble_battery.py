"""Bluetooth batteries of other BMS brands (aiobmsble families), end to end.

Each family's real advertisement and notification bytes (aiobmsble's own test frames,
tests/fakes/aiobmsble_frames.py) go through the real library, the real BleakClient and
bleak-retry-connector on a fake radio (tests/fakes/ble_bms.py) into our entry: discovery from
the manifest's matchers, the confirm step, the entities (every cell its own entity), the energy
counters and their Store, a BMS that disconnects in the middle of a poll, a password the BMS
ignores. The expected numbers are the library's own expectations for these frames.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_BLUETOOTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources import ble_battery as source_module
from custom_components.victron_venus.sources.ble_battery import BLEBatterySource
from tests.components.ble_battery_helpers import advertise, fast, no_answer_soon, setup_battery
from tests.components.jbd_helpers import entity_id, state, wait_for
from tests.fakes import ble_bms
from tests.fakes.aiobmsble_frames import ANT_LOGIN, ANT_PASSWORD

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

#: the library's expectations for each family's frames (its tests' _RESULT_DEFS)
EXPECTED: dict[str, dict[str, Any]] = {
    "jikong_bms": {
        "title": "JK_B2A8S20P",
        "voltage": 26.509,
        "current": -7.063,
        "soc": 68,
        "cycles": 21,
        "nominal_capacity": 210,
        "remaining_capacity": 142.464,
        "cells": [3.315, 3.315, 3.315, 3.312, 3.313, 3.312, 3.313, 3.313],
        "temperatures": [31.0, 28.4, 29.2, 31.0],
        "charge_fet": True,
        "discharge_fet": True,
        "model": "JK_B2A8S20P",
        "sw_version": "11.48",
    },
    "daly_bms": {
        "title": "DL-40160901534C",
        "voltage": 14.0,
        "current": 3.0,
        "soc": 90.0,
        "cycles": 57,
        "nominal_capacity": None,
        "remaining_capacity": 345.6,
        "cells": [4.127, 4.137, 4.147, 4.157],
        "temperatures": [38.0, 20.0, 21.0, 22.0, 23.0],
        "charge_fet": False,
        "discharge_fet": True,
        "model": "smart BMS",
        "sw_version": "T00K_321042_11",
    },
    "ant_bms": {
        "title": "ANT-BLE24C-001",
        "voltage": 50.88,
        "current": 2.1,
        "soc": 10,
        "cycles": 190,
        "nominal_capacity": 80,
        "remaining_capacity": 9.957766,
        "cells": [
            2.334, 2.331, 2.334, 2.333, 2.333, 2.334, 2.336, 2.334, 2.191, 2.19, 2.192,
            2.338, 2.283, 2.336, 2.336, 2.335, 2.334, 2.335, 2.334, 2.335, 2.337, 2.335,
        ],
        "temperatures": [29.0, 29.0, 29.0, 29.0, 30.0, 30.0],
        "charge_fet": True,
        "discharge_fet": True,
        "model": "smart BMS",
        "sw_version": "24BHUB00-211026A",
    },
    "seplos_bms": {
        "title": "SP05B2312190075",
        "voltage": 52.34,
        "current": -6.7,
        "soc": 47.9,
        "cycles": 9,
        "nominal_capacity": 280,
        "remaining_capacity": 134.12,
        "cells": [3.272, 3.272, 3.272, 3.271, 3.271, 3.271, 3.271, 3.27, 3.27, 3.271, 3.271,
                  3.271, 3.271, 3.272, 3.272, 3.272, 3.528, 3.528, 3.528, 3.527, 3.527, 3.527,
                  3.527, 3.526, 3.526, 3.527, 3.527, 3.527, 3.527, 3.528, 3.528, 3.529],
        "temperatures": [],
        "charge_fet": True,
        "discharge_fet": True,
        "model": "smart BMS V3",
        "sw_version": None,
    },
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


def _number(hass: HomeAssistant, unique_id: str) -> float:
    value = state(hass, unique_id)
    assert value is not None, unique_id
    return float(value)


@pytest.mark.parametrize("family", list(EXPECTED))
async def test_each_family_from_discovery_to_every_cell_entity(
    hass: HomeAssistant, family: str
) -> None:
    """The family's advertisement starts our Bluetooth battery flow (not the JBD one); confirm
    reads the battery; the entry's entities show the frames' values: every cell its own entity,
    the temperatures, min/max/average/delta, FETs, SOC, cycles, and the two kWh counters."""
    expected = EXPECTED[family]
    with ble_bms.registered(ble_bms.address_of(family), ble_bms.FamilyBms(family)) as bms:
        address = advertise(hass, family)
        await hass.async_block_till_done(wait_background_tasks=True)  # discovery is a bg task
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [(f["step_id"], f["context"]["source"]) for f in flows] == [
            ("ble_battery_confirm", SOURCE_BLUETOOTH)
        ]
        assert flows[0]["context"]["title_placeholders"] == {"name": expected["title"]}
        result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        assert entry.title == expected["title"]
        assert entry.unique_id == address
        assert entry.data["entry_type"] == "ble_battery"
        assert entry.data["family"] == family
        assert entry.data["cells"] == len(expected["cells"])
        assert entry.data["model"] == expected["model"]
        assert entry.data["sw_version"] == expected["sw_version"]
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        source: BLEBatterySource = entry.runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        await hass.async_block_till_done()

        for key in ("voltage", "current", "soc", "cycles", "remaining_capacity"):
            assert _number(hass, f"{address}_{key}") == expected[key], key
        if expected["nominal_capacity"] is not None:
            assert _number(hass, f"{address}_nominal_capacity") == expected["nominal_capacity"]
        cells = expected["cells"]
        for index, voltage in enumerate(cells, start=1):
            assert _number(hass, f"{address}_cell_voltage_{index}") == voltage
        assert state(hass, f"{address}_cell_voltage_{len(cells) + 1}") is None
        assert _number(hass, f"{address}_cell_min") == min(cells)
        assert _number(hass, f"{address}_cell_max") == max(cells)
        assert _number(hass, f"{address}_cell_delta") == round(max(cells) - min(cells), 4)
        assert _number(hass, f"{address}_cell_average") == round(sum(cells) / len(cells), 4)
        for index, celsius in enumerate(expected["temperatures"], start=1):
            assert _number(hass, f"{address}_temperature_{index}") == celsius
        assert state(hass, f"{address}_temperature_{len(expected['temperatures']) + 1}") is None
        for key in ("charge_fet", "discharge_fet"):
            on = "on" if expected[key] else "off"
            assert state(hass, f"{address}_{key}", "binary_sensor") == on, key
        assert state(hass, f"{address}_problem", "binary_sensor") == "off"
        assert state(hass, f"{address}_charged_energy") == "0.0"
        assert state(hass, f"{address}_discharged_energy") == "0.0"
        registry = er.async_get(hass)
        energy = registry.async_get(entity_id(hass, f"{address}_charged_energy"))
        assert energy is not None and energy.unit_of_measurement == "kWh"
        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, address), entry.entry_id
        )
        assert device is not None
        assert device.model == expected["model"]
        assert (dr.CONNECTION_BLUETOOTH, address) in device.connections
        # the confirm step's probe, then the first poll (the next is poll_interval, 10 s, away)
        assert (bms.connects, source.polls) == (2, 1)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_energy_is_integrated_at_every_poll_and_kept_in_the_store(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Daly's frames: +42 W (14 V x 3 A, charging). Three polls 1800 s apart on the source's
    clock integrate 2 x 21 Wh = 0.042 kWh charged, nothing discharged; the unload writes the
    Store, a new source starts from it, and removing the entry deletes it."""
    family = "daly_bms"
    address = advertise(hass, family)
    with ble_bms.registered(address, ble_bms.FamilyBms(family)):
        entry = await setup_battery(hass, family, options={"poll_interval": 3600})
        source: BLEBatterySource = entry.runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        clock = iter([0.0, 1800.0, 3600.0])
        source.energy = type(source.energy)(max_gap=4000.0)
        source.clock = lambda: next(clock)
        for _ in range(3):
            assert await source.async_poll()
        await hass.async_block_till_done()
        assert source.energy.charged_wh == pytest.approx(42.0)
        assert source.energy.discharged_wh == 0.0
        assert state(hass, f"{address}_charged_energy") == "0.042"
        assert state(hass, f"{address}_discharged_energy") == "0.0"
        assert await hass.config_entries.async_unload(entry.entry_id)
        stored = hass_storage[f"{DOMAIN}.ble_battery_energy.{entry.entry_id}"]["data"]
        assert stored == {"charged_wh": pytest.approx(42.0), "discharged_wh": 0.0}
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.energy.charged_wh == pytest.approx(42.0)
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)
    assert f"{DOMAIN}.ble_battery_energy.{entry.entry_id}" not in hass_storage


async def test_a_bms_that_disconnects_mid_poll(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JK BMS drops the link after the first notification of its answer: that poll fails
    (counted, the entities keep their last values), the next poll reconnects and reads again."""
    no_answer_soon(monkeypatch)
    family = "jikong_bms"
    address = advertise(hass, family)
    with ble_bms.registered(address, ble_bms.FamilyBms(family)) as bms:
        entry = await setup_battery(hass, family, options={"poll_interval": 3600})
        source: BLEBatterySource = entry.runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        connects = bms.connects
        bms.disconnect_after = 1
        assert not await source.async_poll()
        assert sum(source.errors.values()) == 1
        assert set(source.errors) <= {"no_response", "link"}
        assert state(hass, f"{address}_voltage") == "26.509"
        assert await source.async_poll()
        assert bms.connects == connects + 1
        assert source.good_polls == 2
        assert _number(hass, f"{address}_cell_voltage_8") == 3.313
        diagnostics = source.diagnostics()
        assert diagnostics["family"] == family
        assert diagnostics["polls"] == 3
        assert diagnostics["good_polls"] == 2
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_bms_goes_unavailable_and_comes_back(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BMS that stops answering: polls fail (no answer), freshness makes the entities
    unavailable; when it answers again, they come back."""
    no_answer_soon(monkeypatch)
    family = "ant_bms"
    address = advertise(hass, family)
    with ble_bms.registered(address, ble_bms.FamilyBms(family)) as bms:
        entry = await setup_battery(hass, family, options={"poll_interval": 3600})
        source: BLEBatterySource = entry.runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        source.coordinator.freshness_timeout = 0.2
        bms.silent = True
        assert not await source.async_poll()
        assert source.errors["no_response"] == 1
        await wait_for(lambda: state(hass, f"{address}_voltage") == STATE_UNAVAILABLE)
        bms.silent = False
        assert await source.async_poll()
        await hass.async_block_till_done()
        assert state(hass, f"{address}_voltage") == "50.88"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_wrong_password(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ANT BMS with a password ignores every request until its login: the confirm step
    shows that the BMS did not answer (check the password), the right password creates the
    entry and every later poll logs in again."""
    no_answer_soon(monkeypatch)
    family = "ant_bms"
    login = bytes.fromhex(ANT_LOGIN)
    with ble_bms.registered(ble_bms.address_of(family), ble_bms.FamilyBms(family, login=login)):
        address = advertise(hass, family)
        await hass.async_block_till_done(wait_background_tasks=True)
        flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
        result = await hass.config_entries.flow.async_configure(flow["flow_id"])
        assert result["type"] is FlowResultType.FORM
        assert [str(k) for k in result["data_schema"].schema] == ["password"]  # type: ignore[union-attr]
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"password": "87654321"}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "ble_no_response"}
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"password": ANT_PASSWORD}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["options"]["password"] == ANT_PASSWORD
        await hass.async_block_till_done()
        source: BLEBatterySource = result["result"].runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        assert _number(hass, f"{address}_voltage") == 50.88
        assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_a_rejected_password_starts_reauth(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BMS that rejects the login outright (the library raises PermissionError, as its JBD
    and 123SmartBMS classes do) is counted as an auth failure and starts reauth once."""
    family = "daly_bms"
    address = advertise(hass, family)
    with ble_bms.registered(address, ble_bms.FamilyBms(family)):
        entry = await setup_battery(hass, family, options={"poll_interval": 3600})
        source: BLEBatterySource = entry.runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        assert source.bms is not None

        async def rejected(*_args: Any, **_kwargs: Any) -> Any:
            raise PermissionError("Incorrect secret.")

        monkeypatch.setattr(source.bms, "async_update", rejected)
        assert not await source.async_poll()
        assert not await source.async_poll()
        await hass.async_block_till_done()
        assert source.errors["auth"] == 2
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        reauth = [f["step_id"] for f in flows if f["context"]["source"] == "reauth"]
        assert reauth == ["reauth_ble_battery_confirm"]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_waits_for_the_battery_to_be_heard(hass: HomeAssistant) -> None:
    """Nobody hears the battery: the entry retries later (not ready), no entity is made."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="C0:FF:EE:00:00:01",
        data={"entry_type": "ble_battery", "address": "C0:FF:EE:00:00:01", "family": "daly_bms"},
        options={"write_interval": 0},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    gone = MockConfigEntry(
        domain=DOMAIN,
        unique_id="C0:FF:EE:00:00:02",
        data={"entry_type": "ble_battery", "address": "C0:FF:EE:00:00:02", "family": "gone_bms"},
    )
    gone.add_to_hass(hass)
    await hass.config_entries.async_setup(gone.entry_id)
    assert gone.state is ConfigEntryState.SETUP_RETRY


def test_sample_values_drop_what_is_not_a_number() -> None:
    """NaN, text and missing fields are left out; the balancer bit mask is a flag."""
    values = source_module.sample_values(
        {"voltage": float("nan"), "current": "12", "balancer": 0b100, "problem_code": 3}
    )
    assert values == {"balancing": True, "problem_code": 3}


@pytest.mark.parametrize(
    ("err", "reason"),
    [
        (PermissionError("Incorrect secret."), "invalid_auth"),
        (ConnectionRefusedError("command rejected (ERR)"), "invalid_auth"),
        (TimeoutError(), "no_response"),
        (ValueError("BMS data incomplete."), "bad_data"),
        (EOFError(), "cannot_connect"),
    ],
)
def test_probe_failures_map_to_form_errors(err: Exception, reason: str) -> None:
    """What the library raises becomes the form error the user reads."""
    assert source_module.probe_failure(err).reason == reason


async def test_through_home_assistants_bluetooth_stack_and_a_proxy(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fake client in the library: a remote scanner (as an ESPHome proxy, the one
    scripts/develop uses) hears the JK battery and connects through its connector; the library
    follows Home Assistant's BleakClient wrapper, which routes the connection there."""
    from aiobmsble import basebms

    from tests.fakes import ble_sim_component

    monkeypatch.setattr(basebms, "BleakClient", source_module._IMPORTED_CLIENT)
    assert await ble_sim_component.async_setup(hass, {})
    await hass.async_block_till_done()
    address = ble_bms.address_of("jikong_bms")
    try:
        entry = await setup_battery(hass, "jikong_bms", options={"poll_interval": 3600})
        source: BLEBatterySource = entry.runtime_data
        await wait_for(lambda: source.good_polls >= 1)
        assert basebms.BleakClient is not source_module._IMPORTED_CLIENT  # HA's wrapper
        assert _number(hass, f"{address}_cell_voltage_8") == 3.313
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        ble_bms.FakeFamilyBackend.peripherals.pop(address, None)
