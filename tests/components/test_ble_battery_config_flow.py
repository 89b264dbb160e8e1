"""The Bluetooth battery (other BMS brands) config flow: every step, error and abort; discovery
routed between this type and the JBD type so that no battery is offered twice; options,
reconfigure and reauth. Batteries answer with aiobmsble's own frames on a fake radio."""

from __future__ import annotations

from homeassistant.config_entries import (
    SOURCE_BLUETOOTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources import ble_battery as source_module
from custom_components.victron_venus.sources.errors import NotInRange
from custom_components.victron_venus.sources.jbd import (
    REQUEST_BASIC,
    REQUEST_CELLS,
    REQUEST_HARDWARE,
)
from tests.components import jbd_helpers
from tests.components.ble_battery_helpers import advertise, fast, no_answer_soon, setup_battery
from tests.components.jbd_helpers import state, wait_for
from tests.fakes import ble_bms, jbd_bms
from tests.fakes.aiobmsble_frames import ANT_LOGIN, ANT_PASSWORD, JBD_FRAMES

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

JK, DALY, ANT = "jikong_bms", "daly_bms", "ant_bms"
JBD_ADDRESS = "A4:C1:37:00:00:09"
FLOW = "custom_components.victron_venus.flows.ble_battery"  # monkeypatched by path


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)
    jbd_helpers.fast(monkeypatch)


async def _user_form(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["vedirect", "venus", "jbd", "ble_battery", "bank", "logbook"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ble_battery"}
    )


def _options(result: ConfigFlowResult) -> list[tuple[str, str]]:
    config = result["data_schema"].schema["address"].config  # type: ignore[union-attr]
    return [(o["value"], o["label"]) for o in config["options"]]


def _ant() -> ble_bms.FamilyBms:
    return ble_bms.FamilyBms(ANT, login=bytes.fromhex(ANT_LOGIN))


async def test_no_battery_heard(hass: HomeAssistant) -> None:
    """Nothing of a supported family is heard (a JBD battery does not count): abort."""
    jbd_helpers.advertise(hass, JBD_ADDRESS, "JBD-SP04S034-A1")
    result = await _user_form(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "ble_no_devices_found"


async def test_user_step_lists_other_brands_only_and_reads_the_chosen_one(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JK, Daly and ANT batteries are listed with their family; a JBD battery, a JBD-protocol
    rebrand and a thermometer are not. Daly (no password): a silent BMS first shows no answer,
    then the entry is created."""
    no_answer_soon(monkeypatch)
    for family in (JK, DALY, ANT, "jbd_bms"):
        advertise(hass, family)
    jbd_helpers.advertise(hass, JBD_ADDRESS, "JBD-SP04S034-A1")
    jbd_helpers.advertise(hass, "11:22:33:44:55:66", "Thermometer", [])
    result = await _user_form(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ble_battery"
    assert _options(result) == [
        ("AA:BB:CC:90:00:01", "ANT-BLE24C-001 - ANT smart BMS (AA:BB:CC:90:00:01)"),
        ("40:16:09:01:53:4C", "DL-40160901534C - Daly smart BMS (40:16:09:01:53:4C)"),
        ("C8:47:80:14:88:B7", "JK_B2A8S20P - Jikong smart BMS (C8:47:80:14:88:B7)"),
    ]
    daly = ble_bms.FamilyBms(DALY)
    daly.silent = True
    with ble_bms.registered(ble_bms.address_of(DALY), daly):
        flow_id = result["flow_id"]
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"address": "40:16:09:01:53:4C"}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "ble_no_response"}
        daly.silent = False
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"address": "40:16:09:01:53:4C"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == "DL-40160901534C"
        assert result["data"] == {
            "entry_type": "ble_battery",
            "address": "40:16:09:01:53:4C",
            "family": DALY,
            "manufacturer": "Daly",
            "model": "smart BMS",
            "sw_version": "T00K_321042_11",
            "hw_version": "H2.0_103R_309F9F",
            "serial_number": None,
            "cells": 4,
            "temperature_sensors": 5,
        }
        assert result["options"] == {
            "write_interval": 5,
            "poll_interval": 10,
            "keep_connection": True,
        }
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)
    result = await _user_form(hass)  # the Daly battery is set up now: not listed again
    assert [address for address, _label in _options(result)] == [
        "AA:BB:CC:90:00:01",
        "C8:47:80:14:88:B7",
    ]


async def test_user_step_asks_the_password_of_a_family_that_takes_one(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ANT takes a password: a second step asks it; a wrong one gets no answer from the BMS."""
    no_answer_soon(monkeypatch)
    advertise(hass, ANT)
    with ble_bms.registered(ble_bms.address_of(ANT), _ant()):
        result = await _user_form(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"address": "AA:BB:CC:90:00:01"}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "ble_battery_password"
        assert result["description_placeholders"] == {
            "name": "ANT-BLE24C-001",
            "family": "ANT smart BMS",
        }
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": "0000"}
        )
        assert result["errors"] == {"base": "ble_no_response"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": ANT_PASSWORD}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["options"]["password"] == ANT_PASSWORD
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_user_step_battery_gone_or_set_up_meanwhile(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the form and the answer the battery went quiet (not in range), or was set up
    by another flow (already configured)."""
    advertise(hass, JK)
    advertise(hass, DALY)
    result = await _user_form(hass)
    flow_id = result["flow_id"]
    monkeypatch.setattr(f"{FLOW}.bluetooth.async_discovered_service_info", lambda *a, **k: [])
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"address": "C8:47:80:14:88:B7"}
    )
    assert result["type"] is FlowResultType.ABORT  # nothing is heard at all any more
    assert result["reason"] == "ble_no_devices_found"
    monkeypatch.undo()
    fast(monkeypatch)
    result = await _user_form(hass)
    flow_id = result["flow_id"]
    only_daly = [ble_bms.advertisement(DALY)]
    monkeypatch.setattr(
        f"{FLOW}.bluetooth.async_discovered_service_info", lambda *a, **k: only_daly
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"address": "C8:47:80:14:88:B7"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "not_in_range"}
    MockConfigEntry(domain=DOMAIN, unique_id="40:16:09:01:53:4C", data={}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"address": "40:16:09:01:53:4C"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovery_offers_each_battery_once_in_its_own_type(hass: HomeAssistant) -> None:
    """One flow per heard battery: JK as a Bluetooth battery (no password field), our JBD
    battery as a JBD battery, a thermometer not at all; a battery already set up is not offered
    again."""
    advertise(hass, JK)
    jbd_helpers.advertise(hass, JBD_ADDRESS, "JBD-SP04S034-A1")
    jbd_helpers.advertise(hass, "11:22:33:44:55:66", "LED strip")  # service 0xFF00, no JBD
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert sorted((f["context"]["unique_id"], f["step_id"]) for f in flows) == [
        (JBD_ADDRESS, "bluetooth_confirm"),
        ("C8:47:80:14:88:B7", "ble_battery_confirm"),
    ]
    jk_flow = next(f for f in flows if f["step_id"] == "ble_battery_confirm")
    result = await hass.config_entries.flow.async_configure(jk_flow["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert list(result["data_schema"].schema) == []  # type: ignore[union-attr]
    assert result["description_placeholders"] == {
        "name": "JK_B2A8S20P",
        "address": "C8:47:80:14:88:B7",
        "family": "Jikong smart BMS",
    }
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_BLUETOOTH},
        data=jbd_bms.service_info("11:22:33:44:55:66", "LED strip"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"
    MockConfigEntry(domain=DOMAIN, unique_id="C0:D6:3C:00:00:01", data={}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=ble_bms.advertisement("seplos_bms")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_a_jbd_protocol_rebrand_becomes_a_jbd_battery(hass: HomeAssistant) -> None:
    """A Supervolt Jumbo ("SJ-480-…", an address our JBD OUIs do not know) is a JBD battery by
    the library's JBD matchers: offered once, as a JBD battery, and read by our own JBD protocol
    from aiobmsble's JBD test frames (4S, 15.6 V, -2.87 A)."""
    address = advertise(hass, "jbd_bms")
    frames = {key: bytes.fromhex(value) for key, value in JBD_FRAMES.items()}
    bms = jbd_bms.FakeBms(
        {
            REQUEST_BASIC: [jbd_bms.ble_chunks(frames["basic"])],
            REQUEST_CELLS: [jbd_bms.ble_chunks(frames["cells"])],
            REQUEST_HARDWARE: [jbd_bms.ble_chunks(frames["hardware"])],
        }
    )
    with jbd_bms.registered(address, bms):
        await hass.async_block_till_done(wait_background_tasks=True)
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [(f["context"]["unique_id"], f["step_id"]) for f in flows] == [
            (address, "bluetooth_confirm")
        ]
        result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["entry_type"] == "jbd"
        assert result["data"]["cells"] == 4
        entry = result["result"]
        await hass.async_block_till_done()
        await wait_for(lambda: state(hass, f"{address}_voltage") == "15.6")
        assert state(hass, f"{address}_current") == "-2.87"
        assert [state(hass, f"{address}_cell_voltage_{n}") for n in range(1, 5)] == [
            "3.43",
            "3.425",
            "3.432",
            "3.417",
        ]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_have_no_control_and_a_password_only_where_it_fits(
    hass: HomeAssistant,
) -> None:
    """ANT: poll interval, keep connection, password; Daly: no password. No family has a control
    option: the library writes to none of them."""
    assert not any(source_module.supports_control(f) for f in source_module.FAMILIES)
    ant = MockConfigEntry(
        domain=DOMAIN,
        unique_id="ant",
        data={"entry_type": "ble_battery", "address": "AA:BB:CC:90:00:01", "family": ANT},
        options={"write_interval": 5, "poll_interval": 10, "password": ANT_PASSWORD},
    )
    daly = MockConfigEntry(
        domain=DOMAIN,
        unique_id="daly",
        data={"entry_type": "ble_battery", "address": "40:16:09:01:53:4C", "family": DALY},
        options={"write_interval": 5},
    )
    ant.add_to_hass(hass)
    daly.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(ant.entry_id)
    fields = {str(k): k for k in result["data_schema"].schema}  # type: ignore[union-attr]
    assert set(fields) == {
        "recording",
        "write_interval",
        "poll_interval",
        "keep_connection",
        "password",
    }
    assert fields["password"].description == {"suggested_value": ANT_PASSWORD}
    result = await hass.config_entries.options.async_init(daly.entry_id)
    fields = {str(k): k for k in result["data_schema"].schema}  # type: ignore[union-attr]
    assert set(fields) == {"recording", "write_interval", "poll_interval", "keep_connection"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"write_interval": 0, "poll_interval": 30, "keep_connection": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert daly.options == {
        "recording": "balanced",
        "write_interval": 0,
        "poll_interval": 30,
        "keep_connection": False,
    }


async def _reconfigure(hass: HomeAssistant, entry_id: str) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry_id}
    )


async def test_reconfigure_and_reauth(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """ANT: reconfigure and reauth take a new password, read the battery with it first (a wrong
    one is refused), then save and reload. Daly: reconfigure reads it again, no field."""
    no_answer_soon(monkeypatch)
    address = advertise(hass, ANT)
    daly_address = advertise(hass, DALY)
    with (
        ble_bms.registered(address, _ant()),
        ble_bms.registered(daly_address, ble_bms.FamilyBms(DALY)),
    ):
        entry = await setup_battery(hass, ANT, options={"password": ANT_PASSWORD})
        result = await _reconfigure(hass, entry.entry_id)
        assert result["step_id"] == "reconfigure_ble_battery"
        assert result["description_placeholders"] == {"name": "Boat", "family": "ANT smart BMS"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": "wrong"}
        )
        assert result.get("errors") == {"base": "ble_no_response"}, result
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": ANT_PASSWORD}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.options["password"] == ANT_PASSWORD
        assert entry.data["sw_version"] == "24BHUB00-211026A"
        await hass.async_block_till_done()

        result = await entry.start_reauth_flow(hass)
        assert result["step_id"] == "reauth_ble_battery_confirm"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": "wrong"}
        )
        assert result["errors"] == {"base": "ble_no_response"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": ANT_PASSWORD}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()

        daly = await setup_battery(hass, DALY, title="Van", options={"password": "stale"})
        result = await _reconfigure(hass, daly.entry_id)
        assert list(result["data_schema"].schema) == []  # type: ignore[union-attr]
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert "password" not in daly.options
        await hass.async_block_till_done()
        for battery in (entry, daly):
            assert await hass.config_entries.async_unload(battery.entry_id)


def test_probe_of_a_battery_nobody_hears() -> None:
    """The probe's own first check (no adapter hears the address) is `not_in_range`."""
    assert source_module.probe_failure(NotInRange("x")).reason == "not_in_range"


async def test_probe_not_in_range(hass: HomeAssistant) -> None:
    """Probing an address nobody hears raises NotInRange without touching the radio."""
    with pytest.raises(NotInRange):
        await source_module.async_probe(hass, "C0:FF:EE:00:00:09", DALY, None)
