"""Serials are redacted wherever they appear in a diagnostics download (issue 8 §3).

Before the fix a VE.Direct or JBD entry on a `/dev/serial/by-id/usb-…_<SERIAL>-if00-port0` path
kept the cable's USB serial in `serial_port` / `port.path` / `link.path` (for a BMV that serial
is its identity, redacted everywhere else), and a Venus GX's download kept the NMEA 2000 GPS's
unique number inside `system/0/GpsService` (`…gps.socketcan_vecan0_vi93_uc390008`). Each entry
type's real download is checked: real ptys with real captures, a real mosquitto and the GX
simulator replaying the boat recording.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DOMAIN,
)
from custom_components.victron_venus.diagnostics import REDACTED, Redactor
from custom_components.victron_venus.sources.vedirect import VEDirectSource
from tests.components.conftest import capture
from tests.components.jbd_helpers import (
    fast,
    serving,
    setup_entry as setup_entry_of,
    setup_serial,
    uart_bms,
    wait_for,
)
from tests.components.venus_support import (  # fixtures are imported by name
    PASSWORD,
    PORTAL,
    broker,
    fast as venus_fast,
    gx,
    setup_entry,
)
from tests.fakes import jbd_bms as fake
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker
from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay

__all__ = ["broker", "gx", "venus_fast"]

CABLE = "VE1SUT80"
BY_ID = f"usb-VictronEnergy_BV_VE_Direct_cable_{CABLE}-if00-port0"
BY_ID_REDACTED = f"usb-VictronEnergy_BV_VE_Direct_cable_{REDACTED}-if00-port0"
GPS_UNIQUE_NUMBER = "390008"  # gps/93/N2kUniqueNumber; gps/93/Serial is "0390008"


def _by_id(tmp_path: Path, name: str) -> Path:
    """A link path that ends like a real /dev/serial/by-id/ name (under tmp_path)."""
    folder = tmp_path / "dev" / "serial" / "by-id"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture
async def replays() -> AsyncIterator[list[tuple[PtyDevice, asyncio.Task[None]]]]:
    """Replays started by a test, stopped and unplugged after it whatever happened."""
    started: list[tuple[PtyDevice, asyncio.Task[None]]] = []
    yield started
    for device, task in started:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        device.unplug()


async def _vedirect(
    hass: HomeAssistant,
    replays: list[tuple[PtyDevice, asyncio.Task[None]]],
    link: Path,
    name: str,
    *,
    unique_id: str,
    pid: str,
) -> tuple[MockConfigEntry, VEDirectReplay]:
    device = PtyDevice(link)
    replay = VEDirectReplay(device, capture(name), interval=0.02)
    replays.append((device, asyncio.get_running_loop().create_task(replay.run())))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="House battery",
        unique_id=unique_id,
        data={
            CONF_ENTRY_TYPE: "vedirect",
            CONF_SERIAL_PORT: str(link),
            "pid": pid,
            "model": None,
            "labels": [],
        },
        options={CONF_WRITE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    source = entry.runtime_data
    assert isinstance(source, VEDirectSource)
    await wait_for(lambda: source.coordinator.updates > 3)
    return entry, replay


async def test_vedirect_by_id_path_keeps_its_shape_without_the_cable_serial(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    replays: list[tuple[PtyDevice, asyncio.Task[None]]],
) -> None:
    """A BMV-702 (no SER#: its unique id is PID + the cable's USB serial) on a by-id path: the
    cable's serial is cut out of serial_port and port.path, the rest of the path stays."""
    link = _by_id(tmp_path, BY_ID)
    entry, _ = await _vedirect(
        hass, replays, link, "bmv702", unique_id=f"0x203_{CABLE}", pid="0x203"
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    expected = str(link.parent / BY_ID_REDACTED)
    assert diagnostics["entry"]["data"]["serial_port"] == expected
    assert diagnostics["source"]["port"]["path"] == expected
    assert diagnostics["entry"]["unique_id"] == REDACTED
    assert diagnostics["source"]["identity"]["cable_serial"] == REDACTED
    assert diagnostics["source"]["identity"]["PID"] == "0x203"
    assert diagnostics["source"]["last_raw_record"]["PID"] == "0x203"
    assert CABLE.lower() not in json.dumps(diagnostics).lower()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_vedirect_serial_and_foreign_serial_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    replays: list[tuple[PtyDevice, asyncio.Task[None]]],
) -> None:
    """A SmartSolar (SER# HQ18486U2B4) on a by-id path; another device's record (BlueSolar
    HQ1411MYIKN) seen on the port: neither serial nor the cable's is in the download."""
    link = _by_id(tmp_path, BY_ID)
    entry, replay = await _vedirect(
        hass, replays, link, "smartsolar", unique_id="HQ18486U2B4", pid="0xA05F"
    )
    source = entry.runtime_data
    replay.swap(capture("bluesolar"))  # the BlueSolar on the port
    await wait_for(lambda: source.foreign_records >= 1)
    replay.paused = True
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for serial in ("HQ18486U2B4", "HQ1411MYIKN", CABLE):
        assert serial not in text
    identity = diagnostics["source"]["identity"]
    assert identity["SER#"] == REDACTED
    assert identity["last_other_record"] == {"PID": "0xA042", "SER#": REDACTED, "FW": "123"}
    assert diagnostics["source"]["last_raw_record"]["SER#"] == REDACTED
    assert diagnostics["entry"]["data"]["serial_port"] == str(link.parent / BY_ID_REDACTED)
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("enable_bluetooth")
async def test_jbd_serial_by_id_path_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A JBD battery on an RS485 adapter's by-id path: serial_port, unique_id (jbd_<port>) and
    link.path keep no adapter serial."""
    fast(monkeypatch)
    adapter = "A10KZ9X1"
    name = f"usb-FTDI_FT232R_USB_UART_{adapter}-if00-port0"
    _by_id(tmp_path, name)
    async with serving(tmp_path, uart_bms(fake.AIOBMSBLE_NOTE), f"dev/serial/by-id/{name}") as dev:
        entry = await setup_serial(hass, dev.link, options={"poll_interval": 600})
        await wait_for(lambda: entry.runtime_data.good_polls >= 1)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        expected = str(dev.link.parent / f"usb-FTDI_FT232R_USB_UART_{REDACTED}-if00-port0")
        assert diagnostics["entry"]["data"]["serial_port"] == expected
        assert diagnostics["source"]["link"]["path"] == expected
        assert diagnostics["entry"]["unique_id"] == REDACTED
        assert adapter not in json.dumps(diagnostics)
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("enable_bluetooth")
async def test_bank_download_names_no_member_serial(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bank of two JBD batteries on RS485 adapters (by-id paths with the adapters' serials):
    its unique id is built from the members' (bank_jbd_<port>_jbd_<port>); no adapter serial is
    in the bank's download."""
    fast(monkeypatch)
    adapters = ("A10KZ9X1", "B20LQ8Y2")
    async with contextlib.AsyncExitStack() as stack:
        members = []
        for adapter in adapters:
            name = f"usb-FTDI_FT232R_USB_UART_{adapter}-if00-port0"
            _by_id(tmp_path, name)
            bms = uart_bms(fake.AIOBMSBLE_NOTE)
            dev = await stack.enter_async_context(
                serving(tmp_path, bms, f"dev/serial/by-id/{name}")
            )
            member = await setup_serial(
                hass, dev.link, title=f"Battery {adapter[0]}", options={"poll_interval": 600}
            )

            def polled(m: MockConfigEntry = member) -> bool:
                return bool(m.runtime_data.good_polls >= 1)

            await wait_for(polled)
            members.append(member)
        bank = await setup_entry_of(
            hass,
            unique_id="bank_" + "_".join(sorted(str(m.unique_id) for m in members)),
            title="House bank",
            data={
                "entry_type": "bank",
                "members": [m.entry_id for m in members],
                "wiring": "parallel",
            },
        )
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, bank)
        text = json.dumps(diagnostics)
        assert diagnostics["entry"]["unique_id"] == REDACTED
        assert diagnostics["entry"]["data"]["wiring"] == "parallel"
        for adapter in adapters:
            assert adapter not in text
        for member in [bank, *members]:
            await hass.config_entries.async_unload(member.entry_id)


async def test_venus_gps_unique_number_redacted_inside_the_gps_service_name(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    venus_fast: None,
    broker: MosquittoBroker,
    gx: GxSimulator,
) -> None:
    """The boat recording's NMEA 2000 GPS (gps/93: Serial "0390008", N2kUniqueNumber 390008):
    system/0/GpsService names it ...socketcan_vecan0_vi93_uc390008. No form of the number, no
    serial, no portal id, no password is in the download."""
    entry = await setup_entry(hass, broker)
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1)
    await wait_for(lambda: "gps/93" in json.dumps(source.diagnostics()["topics"]))
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    topics = diagnostics["source"]["topics"]
    assert (
        topics["system/0/GpsService"] == f"com.victronenergy.gps.socketcan_vecan0_vi93_uc{REDACTED}"
    )
    assert topics["gps/93/N2kUniqueNumber"] == REDACTED
    assert topics["gps/93/ProductName"] == "NMEA 2000 GPS"
    assert GPS_UNIQUE_NUMBER not in text
    for secret in (PORTAL, PASSWORD, "HQ2019JHULS", "HQ1838IYMCI", "HQ2318Z73J2"):
        assert secret not in text.lower() and secret not in text
    await hass.config_entries.async_unload(entry.entry_id)


def test_redactor_on_strings_keys_and_numbers() -> None:
    """Secrets case-insensitively inside strings and keys; serial-like keys by name, also as
    the last segment of a D-Bus path; None and "" kept; other numbers untouched."""
    redact = Redactor({"hq18486u2b4", "390008"})
    data = {
        "name": "GPS uc390008",
        "paths": {"settings/HQ18486U2B4/CustomName": "Roof"},
        "vecan/vecan0/Devices/0/Serial": "0290821",
        "N2kUniqueNumber": 390008,
        "usb_serial": None,
        "serial_number": "",
        "counters": [390008, 7],
        "error": f"could not open port /dev/serial/by-id/{BY_ID}: [Errno 2]",
    }
    assert redact(data) == {
        "name": f"GPS uc{REDACTED}",
        "paths": {f"settings/{REDACTED}/CustomName": "Roof"},
        "vecan/vecan0/Devices/0/Serial": REDACTED,
        "N2kUniqueNumber": REDACTED,
        "usb_serial": None,
        "serial_number": "",
        "counters": [390008, 7],
        "error": f"could not open port /dev/serial/by-id/{BY_ID_REDACTED}: [Errno 2]",
    }
