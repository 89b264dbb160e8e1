"""The JBD battery and battery bank config flows: every step and error, Bluetooth discovery from an
injected advertisement, serial ports on real ptys, reconfigure and options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components import bluetooth
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
import voluptuous as vol

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.flows.jbd import is_jbd_name, probe_error
from custom_components.victron_venus.sources.jbd import REQUEST_BASIC
from tests.components.jbd_helpers import (
    ADDRESS,
    advertise,
    fast,
    plain_bms,
    serving,
    uart_bms,
    v13_bms,
)
from tests.components.test_vedirect_config_flow import PERMISSION_DENIED_PATH
from tests.fakes import jbd_bms as fake

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

MODEL = "JBD-SP04S034-L4S-200A-B-U"
#: the shape of a JBD error answer (§2.2: status 0x80, empty payload, checksum 0x10000 - 0x80)
ERROR_ANSWER = bytes.fromhex("dd038000ff8077")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


async def _menu(hass: HomeAssistant, step: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    # one menu for every entry type, in the order of config_flow.MENU
    assert result["menu_options"] == ["vedirect", "venus", "jbd", "ble_battery", "bank", "logbook"]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})


async def _jbd_form(hass: HomeAssistant, step: str) -> ConfigFlowResult:
    result = await _menu(hass, "jbd")
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["jbd_bluetooth", "jbd_serial"]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})


async def test_bluetooth_user_step_errors_then_success(hass: HomeAssistant) -> None:
    """Pick a heard battery: each failure has its own error; the V1.3 module with its password
    creates the entry, named after the advertisement, keyed by its address, password in the
    options."""
    advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
    advertise(hass, ADDRESS, "xiaoxiang BMS")  # a renamed battery: listed (service 0xFF00)
    advertise(hass, "11:22:33:44:55:66", "Some thermometer", [])  # not listed
    with fake.registered(fake.V13_MAC, v13_bms()) as bms:
        result = await _jbd_form(hass, "jbd_bluetooth")
        assert result["type"] is FlowResultType.FORM
        options = result["data_schema"].schema["address"].config["options"]  # type: ignore[union-attr]
        assert sorted(o["value"] for o in options) == [fake.V13_MAC, ADDRESS]
        flow_id = result["flow_id"]

        async def submit(**answer: Any) -> ConfigFlowResult:
            return await hass.config_entries.flow.async_configure(
                flow_id, {"address": fake.V13_MAC, **answer}
            )

        result = await submit()
        assert result["errors"] == {"base": "no_response"}  # reads ignored without the login
        result = await submit(password="654321")
        assert result["errors"] == {"base": "invalid_auth"}
        fake.FakeJBDBackend.refuse.add(fake.V13_MAC)
        result = await submit(password=fake.V13_PASSWORD)
        assert result["errors"] == {"base": "cannot_connect"}
        fake.FakeJBDBackend.refuse.discard(fake.V13_MAC)
        fake.FakeJBDBackend.variants[fake.V13_MAC] = "none"
        result = await submit(password=fake.V13_PASSWORD)
        assert result["errors"] == {"base": "not_jbd"}
        fake.FakeJBDBackend.variants[fake.V13_MAC] = "ff01"
        assert bms.connects == 3  # the refused attempt never connected

    with fake.registered(ADDRESS, fake.FakeBms({REQUEST_BASIC: [[ERROR_ANSWER]]})):
        result = await hass.config_entries.flow.async_configure(flow_id, {"address": ADDRESS})
        assert result["errors"] == {"base": "bad_data"}  # the BMS refuses 0x03 (status 0x80)

    with fake.registered(fake.V13_MAC, v13_bms()):
        bluetooth.async_clear_advertisement_history(hass, fake.V13_MAC)
        result = await submit(password=fake.V13_PASSWORD)
        assert result["errors"] == {"base": "not_in_range"}
        options = result["data_schema"].schema["address"].config["options"]  # type: ignore[union-attr]
        assert fake.V13_MAC not in [o["value"] for o in options]  # no longer offered
        advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
        flow_id = (await _jbd_form(hass, "jbd_bluetooth"))["flow_id"]
        result = await submit(password=fake.V13_PASSWORD)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == "JBD-SP04S034-V13"
        assert result["result"].unique_id == fake.V13_MAC
        assert result["data"] == {
            "entry_type": "jbd",
            "transport": "bluetooth",
            "address": fake.V13_MAC,
            "model": MODEL,
            "software_version": "4.4",
            "cells": 4,
            "temperature_sensors": 3,
        }
        assert result["options"] == {
            "write_interval": 5,
            "poll_interval": 10,
            "password": fake.V13_PASSWORD,
        }
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_renamed_battery_is_named_after_its_model(hass: HomeAssistant) -> None:
    """A battery whose advertised name is no JBD name gets the model string as its title."""
    advertise(hass, ADDRESS, "xiaoxiang BMS")
    with fake.registered(ADDRESS, plain_bms()):
        result = await _jbd_form(hass, "jbd_bluetooth")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"address": ADDRESS}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == MODEL
        assert "password" not in result["options"]
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_bluetooth_user_step_aborts(hass: HomeAssistant) -> None:
    """Nothing heard: abort. A battery set up meanwhile by another flow: already configured."""
    result = await _jbd_form(hass, "jbd_bluetooth")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_devices_found"

    advertise(hass)
    result = await _jbd_form(hass, "jbd_bluetooth")
    MockConfigEntry(domain=DOMAIN, unique_id=ADDRESS, data={"entry_type": "jbd"}).add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"address": ADDRESS})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovery_from_an_injected_advertisement(hass: HomeAssistant) -> None:
    """The manifest matcher starts the flow from a real advertisement; confirm with a wrong and
    then the right password; the entry is created. The same battery again: already configured."""
    with fake.registered(fake.V13_MAC, v13_bms()):
        advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
        await hass.async_block_till_done(wait_background_tasks=True)  # discovery is a bg task
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert len(flows) == 1
        flow = flows[0]
        assert flow["step_id"] == "bluetooth_confirm"
        assert flow["context"]["source"] == SOURCE_BLUETOOTH
        assert flow["context"]["unique_id"] == fake.V13_MAC
        assert flow["context"]["title_placeholders"] == {"name": "JBD-SP04S034-V13"}
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"password": "000000"}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"password": fake.V13_PASSWORD}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == fake.V13_MAC
        await hass.async_block_till_done()

        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_BLUETOOTH},
            data=fake.service_info(fake.V13_MAC, "JBD-SP04S034-V13"),
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
        await hass.config_entries.async_unload(
            hass.config_entries.async_entries(DOMAIN)[0].entry_id
        )


async def test_discovery_keeps_only_jbd_batteries(hass: HomeAssistant) -> None:
    """Service 0xFF00 alone is not enough: a JBD name or a JBD module's OUI is."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_BLUETOOTH},
        data=fake.service_info("11:22:33:44:55:66", "LED strip"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_BLUETOOTH},
        data=fake.service_info("A4:C1:38:12:34:56", "My battery"),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth_confirm"
    assert is_jbd_name("SX100-12")
    assert not is_jbd_name(None)


@pytest.mark.parametrize(
    ("make_port", "error"),
    [
        ("missing", "port_not_found"),
        ("permission", "permission_denied"),
        ("directory", "cannot_open"),
        ("silent", "no_response"),
        ("garbage", "bad_data"),
    ],
)
async def test_serial_step_errors_then_success(
    hass: HomeAssistant, tmp_path: Path, make_port: str, error: str
) -> None:
    """Each failure has its own error; a pty with the UART capture behind it creates the entry."""
    silent = fake.FakeBms({})
    silent.silent = True
    garbage = fake.FakeBms({REQUEST_BASIC: [[b"\xdd\x03\x00\x1d" + b"\x55" * 40]]})
    async with (
        serving(tmp_path, silent, "silent") as quiet,
        serving(tmp_path, garbage, "garbage") as noisy,
        serving(tmp_path, uart_bms(), "good") as good,
    ):
        path = {
            "missing": str(tmp_path / "ttyUSB9"),
            "permission": PERMISSION_DENIED_PATH,
            "directory": str(tmp_path),
            "silent": str(quiet.link),
            "garbage": str(noisy.link),
        }[make_port]
        result = await _jbd_form(hass, "jbd_serial")
        assert result["step_id"] == "jbd_serial"
        flow_id = result["flow_id"]
        result = await hass.config_entries.flow.async_configure(flow_id, {"serial_port": path})
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"serial_port": f" {good.link} "}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == f"{MODEL} good"
        assert result["result"].unique_id == f"jbd_{good.link}"
        assert result["data"]["transport"] == "serial"
        assert result["data"]["serial_port"] == str(good.link)
        assert result["data"]["cells"] == 4
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)

        result = await _jbd_form(hass, "jbd_serial")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"serial_port": str(good.link)}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"


async def test_reconfigure_serial_port(hass: HomeAssistant, tmp_path: Path) -> None:
    """Move a serial battery to another port (read first); a silent port is refused."""
    silent = fake.FakeBms({})
    silent.silent = True
    async with (
        serving(tmp_path, uart_bms(), "old") as old,
        serving(tmp_path, uart_bms(), "new") as new,
        serving(tmp_path, silent, "silent") as quiet,
    ):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="House",
            unique_id=f"jbd_{old.link}",
            data={"entry_type": "jbd", "transport": "serial", "serial_port": str(old.link)},
            options={"write_interval": 0, "poll_interval": 60},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure_jbd"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"serial_port": str(quiet.link)}
        )
        assert result["errors"] == {"base": "no_response"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"serial_port": str(new.link)}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.data["serial_port"] == str(new.link)
        assert entry.data["model"] == MODEL
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_bluetooth_password(hass: HomeAssistant) -> None:
    """A Bluetooth battery gets a new password, tried before it is saved."""
    advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
    with fake.registered(fake.V13_MAC, v13_bms()):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="House",
            unique_id=fake.V13_MAC,
            data={"entry_type": "jbd", "transport": "bluetooth", "address": fake.V13_MAC},
            options={"write_interval": 0, "poll_interval": 60, "password": "111111"},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": "222222"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": fake.V13_PASSWORD}
        )
        assert result["reason"] == "reconfigure_successful"
        assert entry.options["password"] == fake.V13_PASSWORD
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)

    with fake.registered(ADDRESS, plain_bms()):
        advertise(hass)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Plain",
            unique_id=ADDRESS,
            data={"entry_type": "jbd", "transport": "bluetooth", "address": ADDRESS},
            options={"write_interval": 0, "poll_interval": 60, "password": "123456"},
        )
        entry.add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["reason"] == "reconfigure_successful"
        assert "password" not in entry.options  # an empty password removes it
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_options(hass: HomeAssistant) -> None:
    """Bluetooth: poll interval, keep connection, password; serial: poll interval only."""
    ble = MockConfigEntry(
        domain=DOMAIN,
        unique_id="ble",
        data={"entry_type": "jbd", "transport": "bluetooth", "address": ADDRESS},
        options={"write_interval": 5, "poll_interval": 10, "password": "123456"},
    )
    serial = MockConfigEntry(
        domain=DOMAIN,
        unique_id="serial",
        data={"entry_type": "jbd", "transport": "serial", "serial_port": "/dev/null"},
        options={"write_interval": 5},
    )
    for entry in (ble, serial):
        entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(ble.entry_id)
    fields = {str(k): k for k in result["data_schema"].schema}  # type: ignore[union-attr]
    assert set(fields) == {
        "recording",
        "write_interval",
        "poll_interval",
        "keep_connection",
        "password",
        "control",
    }
    assert fields["password"].description == {"suggested_value": "123456"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"write_interval": 0, "poll_interval": 30, "keep_connection": False},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert ble.options == {
        "recording": "balanced",
        "write_interval": 0,
        "poll_interval": 30,
        "keep_connection": False,
        "control": False,
    }
    result = await hass.config_entries.options.async_init(serial.entry_id)
    fields = {str(k): k for k in result["data_schema"].schema}  # type: ignore[union-attr]
    assert set(fields) == {"recording", "write_interval", "poll_interval", "control"}


async def _reconfigure(hass: HomeAssistant, entry_id: str) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry_id}
    )


def _battery(hass: HomeAssistant, uid: str, title: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=uid,
        data={"entry_type": "jbd", "transport": "serial", "serial_port": f"/dev/{uid}"},
    )
    entry.add_to_hass(hass)
    return entry


async def test_bank_needs_two_batteries(hass: HomeAssistant) -> None:
    """One JBD battery alone is no bank (a second may be any battery, issue 13: the form
    shows, and one member is refused)."""
    front = _battery(hass, "b1", "Front")
    result = await _menu(hass, "bank")
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Bank", "members": [front.entry_id], "wiring": "series"}
    )
    assert result["errors"] == {"base": "member_count"}


async def test_bank_flow_create_and_reconfigure(hass: HomeAssistant) -> None:
    """Choose 2-4 batteries (errors otherwise), the wiring and capacity overrides; the same
    batteries cannot form a second bank; reconfigure changes members, wiring and capacities."""
    b1 = _battery(hass, "b1", "Front")
    b2 = _battery(hass, "b2", "Rear")
    b3 = _battery(hass, "b3", "Spare")
    MockConfigEntry(domain=DOMAIN, unique_id="ve", data={"entry_type": "vedirect"}).add_to_hass(
        hass
    )
    result = await _menu(hass, "bank")
    assert result["step_id"] == "bank"
    options = result["data_schema"].schema["members"].config["options"]  # type: ignore[union-attr]
    assert [o["label"] for o in options] == ["Front", "Rear", "Spare"]  # JBD batteries only
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"name": "House bank", "members": [b1.entry_id], "wiring": "series"}
    )
    assert result["errors"] == {"base": "member_count"}
    await hass.config_entries.async_remove(b3.entry_id)  # deleted while the form is open
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {"name": "House bank", "members": [b1.entry_id, b3.entry_id], "wiring": "series"},
    )
    assert result["errors"] == {"base": "unknown_member"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"name": " ", "members": [b2.entry_id, b1.entry_id], "wiring": "series"}
    )
    assert result["step_id"] == "bank_capacity"
    assert result["description_placeholders"] == {"batteries": "1. Rear\n2. Front"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"capacity_2": 95})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Battery bank"
    bank = result["result"]
    assert bank.unique_id == "bank_b1_b2"
    assert bank.data == {
        "entry_type": "bank",
        "members": [b2.entry_id, b1.entry_id],
        "wiring": "series",
        "capacities": {b1.entry_id: 95.0},
    }
    await hass.async_block_till_done()

    result = await _menu(hass, "bank")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Again", "members": [b1.entry_id, b2.entry_id], "wiring": "parallel"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    result = await _reconfigure(hass, bank.entry_id)  # same batteries, now in parallel
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Battery bank", "members": [b2.entry_id, b1.entry_id], "wiring": "parallel"},
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"capacity_2": 95})
    assert result["reason"] == "reconfigure_successful"
    assert bank.unique_id == "bank_b1_b2"
    assert bank.data["wiring"] == "parallel"
    await hass.async_block_till_done()

    b4 = _battery(hass, "b4", "Bow")
    result = await _reconfigure(hass, bank.entry_id)
    assert result["step_id"] == "reconfigure_bank"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "House", "members": [b1.entry_id], "wiring": "parallel"}
    )
    assert result["errors"] == {"base": "member_count"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "House", "members": [b1.entry_id, b2.entry_id, b4.entry_id], "wiring": "parallel"},
    )
    assert result["step_id"] == "bank_capacity"
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    suggested = {str(k): k.description for k in schema}
    assert suggested["capacity_1"] == {"suggested_value": 95.0}  # the old override is offered
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"capacity_1": 100, "capacity_3": 50}
    )
    assert result["reason"] == "reconfigure_successful"
    assert bank.title == "House"
    assert bank.unique_id == "bank_b1_b2_b4"
    assert bank.data["wiring"] == "parallel"
    assert bank.data["capacities"] == {b1.entry_id: 100.0, b4.entry_id: 50.0}
    await hass.async_block_till_done()

    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id="bank_b1_b4",
        data={"entry_type": "bank", "members": [b1.entry_id, b4.entry_id], "wiring": "series"},
    )
    other.add_to_hass(hass)
    result = await _reconfigure(hass, bank.entry_id)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "House", "members": [b1.entry_id, b4.entry_id], "wiring": "series"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_bank_options_are_the_thresholds(hass: HomeAssistant) -> None:
    """Bank options: alert thresholds and current maxima, defaults from the GX drivers."""
    bank = MockConfigEntry(
        domain=DOMAIN,
        unique_id="bank_x",
        data={"entry_type": "bank", "members": [], "wiring": "series"},
        options={"write_interval": 5},
    )
    bank.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(bank.entry_id)
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    # "Send charge limits to a GX" is off (no default) until the user picks a GX entry
    assert [str(k) for k in schema if k.default is vol.UNDEFINED] == ["gx_limits"]
    defaults = {str(k): k.default() for k in schema if k.default is not vol.UNDEFINED}
    assert defaults == {
        "recording": "balanced",
        "write_interval": 5,
        "soc_warning": 20.0,
        "soc_alarm": 10.0,
        "cell_low": 2.9,
        "cell_high": 3.45,
        "imbalance": 0.1,
        "max_charge_current": 50.0,
        "max_discharge_current": 60.0,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**defaults, "soc_warning": 30, "cell_high": 3.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert bank.options["soc_warning"] == 30
    assert bank.options["cell_high"] == 3.5


def test_probe_errors_map_to_form_errors() -> None:
    """A connect that times out or fails inside bleak is "cannot connect"."""
    from bleak.exc import BleakError

    assert probe_error(TimeoutError()) == "cannot_connect"
    assert probe_error(BleakError("le-connection-abort-by-local")) == "cannot_connect"
