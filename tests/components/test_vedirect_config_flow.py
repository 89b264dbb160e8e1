"""The VE.Direct config flow on real ptys: every step and error, discovery, reconfigure, options."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USB,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DOMAIN,
)
from custom_components.victron_venus.sources import vedirect as source_module
from tests.components.conftest import ServeCapture, capture
from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay

#: a real EACCES even for root: sysctl files refuse writers their mode does not allow
PERMISSION_DENIED_PATH = "/proc/sys/kernel/ostype"


@pytest.fixture(autouse=True)
def short_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give up on silent ports after 0.5 s instead of 5 s."""
    monkeypatch.setattr(source_module, "PROBE_TIMEOUT", 0.5)


async def _start_vedirect_form(hass: HomeAssistant) -> str:
    return str((await _vedirect_form(hass))["flow_id"])


async def _vedirect_form(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    menu = result["menu_options"]
    assert isinstance(menu, list)
    assert menu[0] == "vedirect"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "vedirect"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "vedirect"
    return result


async def test_user_flow_creates_entry_keyed_by_serial(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """A SmartSolar on a pty: the entry is named after the model and keyed by SER#."""
    device, _ = serve_capture("smartsolar")
    flow_id = await _start_vedirect_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SERIAL_PORT: str(device.link)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SmartSolar MPPT 100|20 HQ18486U2B4"
    assert result["result"].unique_id == "HQ18486U2B4"
    assert result["data"][CONF_ENTRY_TYPE] == "vedirect"
    assert result["data"][CONF_SERIAL_PORT] == str(device.link)
    assert result["data"]["pid"] == "0xA05F"
    assert "PPV" in result["data"]["labels"]
    assert result["options"] == {CONF_WRITE_INTERVAL: 5}
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_bmv_without_serial_is_keyed_by_pid_and_port(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """A BMV sends no SER#: the identifier is its PID and the port (no USB serial here)."""
    device, _ = serve_capture("bmv702")
    flow_id = await _start_vedirect_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SERIAL_PORT: str(device.link)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # the karioja "bvm702" capture names itself a BMV-700: PID 0x203 and "BMV 700"
    assert result["title"] == "BMV-700"
    assert result["result"].unique_id == f"0x203_{device.link}"


@pytest.mark.parametrize(
    ("make_port", "error"),
    [
        ("missing", "port_not_found"),
        ("permission", "permission_denied"),
        ("directory", "cannot_open"),
        ("silent", "no_data"),
        ("corrupt", "checksum_failed"),
    ],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant,
    tmp_path: Path,
    serve_capture: ServeCapture,
    make_port: str,
    error: str,
) -> None:
    """Each failure shows its own error; a good port afterwards creates the entry."""
    silent: PtyDevice | None = None
    if make_port == "missing":
        path = str(tmp_path / "ttyUSB9")
    elif make_port == "permission":
        path = PERMISSION_DENIED_PATH
    elif make_port == "directory":
        path = str(tmp_path)
    elif make_port == "silent":
        silent = PtyDevice(tmp_path / "silent")
        path = str(silent.link)
    else:
        path = str(_serve_corrupted(hass, tmp_path))

    flow_id = await _start_vedirect_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_SERIAL_PORT: path})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    device, _ = serve_capture("phoenix")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SERIAL_PORT: f" {device.link} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "HQ2152UFKWY"
    if silent is not None:
        silent.unplug()


def _serve_corrupted(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A pty sending a real capture with one byte of every block changed (checksums fail)."""
    raw = bytearray(capture("bluesolar"))
    for index in range(len(raw)):
        if raw[index : index + 3] == b"\tHQ":  # SER#\tHQ... in every block
            raw[index + 1] = ord("X")
    device = PtyDevice(tmp_path / "corrupt")
    replay = VEDirectReplay(device, bytes(raw), interval=0.02)
    task = hass.loop.create_task(replay.run())
    hass.data.setdefault("_test_tasks", []).append((task, device))
    return device.link


@pytest.fixture(autouse=True)
async def _cleanup_tasks(hass: HomeAssistant) -> AsyncIterator[None]:
    yield
    for task, device in hass.data.pop("_test_tasks", []):
        task.cancel()
        device.unplug()


async def test_already_configured_updates_port(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """The same device on a new port aborts and moves the existing entry to that port."""
    device, _ = serve_capture("phoenix")
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="HQ2152UFKWY",
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: "/dev/old"},
    )
    entry.add_to_hass(hass)
    flow_id = await _start_vedirect_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SERIAL_PORT: str(device.link)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_SERIAL_PORT] == str(device.link)


def _usb_info(path: Path, serial: str | None = "VE1234ABC") -> UsbServiceInfo:
    return UsbServiceInfo(
        device=str(path),
        vid="0403",
        pid="6015",
        serial_number=serial,
        manufacturer="VictronEnergy BV",
        description="VE Direct cable",
    )


async def test_usb_discovery_confirm_creates_entry(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """A plugged-in cable is read, then confirmed; a BMV is keyed by the cable's USB serial."""
    device, _ = serve_capture("bmv702")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=_usb_info(device.link)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    assert result["description_placeholders"] == {"name": "BMV-700", "port": str(device.link)}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "0x203_VE1234ABC"


async def test_usb_discovery_without_data_aborts(hass: HomeAssistant, tmp_path: Path) -> None:
    """A discovered cable with nothing behind it aborts quietly."""
    silent = PtyDevice(tmp_path / "silent")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=_usb_info(silent.link)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_data"
    silent.unplug()


async def test_usb_discovery_of_configured_device_aborts(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """Discovery of a configured device aborts and keeps one entry."""
    device, _ = serve_capture("phoenix")
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="HQ2152UFKWY",
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: str(device.link)},
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=_usb_info(device.link)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _create_entry(hass: HomeAssistant, path: Path) -> ConfigEntry:
    flow_id = await _start_vedirect_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_SERIAL_PORT: str(path)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return result["result"]


async def _start_reconfigure(hass: HomeAssistant, entry: ConfigEntry) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )


async def test_reconfigure_moves_port_and_rejects_other_device(
    hass: HomeAssistant, serve_capture: ServeCapture, tmp_path: Path
) -> None:
    """Reconfigure: an error re-shows the form, another device aborts, the same device moves."""
    first, _ = serve_capture("phoenix")
    entry = await _create_entry(hass, first.link)

    result = await _start_reconfigure(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_vedirect"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: str(tmp_path / "gone")}
    )
    assert result["errors"] == {"base": "port_not_found"}

    other, _ = serve_capture("smartsolar")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: str(other.link)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"

    moved, _ = serve_capture("phoenix")
    result = await _start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: str(moved.link)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_SERIAL_PORT] == str(moved.link)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_options_flow_sets_write_interval_and_reloads(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """The write interval option is stored and applied by a reload."""
    device, _ = serve_capture("phoenix")
    entry = await _create_entry(hass, device.link)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "vedirect"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recording": "detailed", CONF_WRITE_INTERVAL: 0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Control (issue 11) keeps its default: off
    assert entry.options == {"recording": "detailed", CONF_WRITE_INTERVAL: 0, "control": False}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.write_interval == 0


async def test_port_list_offers_scanned_cables_and_keys_bmv_by_cable_serial(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """Ports from Home Assistant's USB scan are offered; picking a BMV's cable keys the entry by
    the cable's USB serial number, so it survives a move to another USB socket."""
    from homeassistant.components import usb
    from homeassistant.components.usb.models import USBDevice
    from homeassistant.setup import async_setup_component

    device, _ = serve_capture("bmv702")
    cable = USBDevice(
        device=str(device.link),
        vid="0403",
        pid="6015",
        serial_number="VE7777XYZ",
        manufacturer="VictronEnergy BV",
        description="VE Direct cable",
    )
    assert await async_setup_component(hass, "usb", {})
    usb.async_register_serial_port_scanner(hass, lambda _hass: [cable])
    result = await _vedirect_form(hass)
    flow_id = result["flow_id"]
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    selector = next(iter(schema.values()))
    offered = [option["value"] for option in selector.config["options"]]
    assert str(device.link) in offered
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SERIAL_PORT: str(device.link)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "0x203_VE7777XYZ"
