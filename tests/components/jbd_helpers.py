"""Helpers shared by the JBD battery and battery bank tests (no fixtures: plain functions).

Expected values are read straight from the captured bytes with struct (protocols.md §2.4-2.5),
not through the integration's parser, so the tests check the whole path against the captures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from pathlib import Path
import struct
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources import jbd as source_module
from custom_components.victron_venus.transport import ble, serial as serial_transport
from tests.fakes import jbd_bms as fake
from tests.fakes.vedirect_device import PtyDevice

ADDRESS = "A4:C1:37:00:00:01"


def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake radio in place of bleak's, and short timeouts."""
    monkeypatch.setattr(ble, "BleakClient", fake.FakeBleakClient)
    monkeypatch.setattr(ble, "CONNECT_ATTEMPTS", 1)
    monkeypatch.setattr(ble, "LOGIN_TIMEOUT", 0.3)
    monkeypatch.setattr(source_module, "REQUEST_TIMEOUT", 0.25)
    monkeypatch.setattr(source_module, "PROBE_TIMEOUT", 0.4)
    monkeypatch.setattr(serial_transport, "BACKOFF_START", 0.05)


def plain_bms(**kwargs: Any) -> fake.FakeBms:
    """The 280 Ah 4S BMS of the first btsnoop capture (no login), model string answered."""
    return fake.FakeBms(
        fake.transcript(), extra={source_module.REQUEST_HARDWARE: [fake.model_answer()]}, **kwargs
    )


def v13_bms() -> fake.FakeBms:
    """The newer V1.3 module of the FF AA capture: reads only after the login."""
    return fake.FakeBms(
        fake.transcript(fake.TRANSCRIPT_V13),
        password=fake.V13_PASSWORD,
        extra={source_module.REQUEST_HARDWARE: [fake.model_answer()]},
    )


def uart_bms(note: str = fake.UART_NOTE) -> fake.FakeBms:
    """A BMS answering with the frames of a UART capture in jbd_frames.json."""
    return fake.FakeBms(fake.uart_answers(note))


def expected_basic(frame: bytes) -> dict[str, Any]:
    """Values of a 0x03 frame by plain struct arithmetic (§2.4)."""
    voltage, current, remaining, nominal, cycles = struct.unpack_from(">HhHHH", frame, 4)
    soc, fet, cells, ntc = frame[23], frame[24], frame[25], frame[26]
    temps = [(v - 2731) / 10 for v in struct.unpack_from(f">{ntc}H", frame, 27)]
    return {
        "voltage": voltage / 100,
        "current": current / 100,
        "remaining": remaining / 100,
        "nominal": nominal / 100,
        "cycles": cycles,
        "soc": soc,
        "charge_fet": bool(fet & 1),
        "discharge_fet": bool(fet & 2),
        "cells": cells,
        "temperatures": temps,
    }


def expected_cells(frame: bytes) -> list[float]:
    """Cell voltages of a 0x04 frame (§2.5)."""
    return [v / 1000 for v in struct.unpack_from(f">{frame[3] // 2}H", frame, 4)]


async def setup_entry(
    hass: HomeAssistant,
    *,
    unique_id: str,
    data: dict[str, Any],
    options: dict[str, Any] | None = None,
    title: str = "House",
    expect_loaded: bool = True,
) -> MockConfigEntry:
    """Add and set up an entry of this integration."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data=data,
        options={"write_interval": 0, **(options or {})},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    if expect_loaded:
        assert result
    return entry


async def setup_ble(
    hass: HomeAssistant,
    address: str = ADDRESS,
    *,
    title: str = "House",
    options: dict[str, Any] | None = None,
    expect_loaded: bool = True,
) -> MockConfigEntry:
    """A JBD battery entry over Bluetooth at `address` (advertise it first)."""
    return await setup_entry(
        hass,
        unique_id=address,
        data={"entry_type": "jbd", "transport": "bluetooth", "address": address},
        options={"poll_interval": 0.05, **(options or {})},
        title=title,
        expect_loaded=expect_loaded,
    )


async def setup_serial(
    hass: HomeAssistant,
    path: Path | str,
    *,
    title: str = "House",
    options: dict[str, Any] | None = None,
    expect_loaded: bool = True,
) -> MockConfigEntry:
    """A JBD battery entry on a serial port."""
    return await setup_entry(
        hass,
        unique_id=f"jbd_{path}",
        data={"entry_type": "jbd", "transport": "serial", "serial_port": str(path)},
        options={"poll_interval": 0.05, **(options or {})},
        title=title,
        expect_loaded=expect_loaded,
    )


def advertise(
    hass: HomeAssistant,
    address: str = ADDRESS,
    name: str = "JBD-SP04S034-A1",
    service_uuids: list[str] | None = None,
) -> None:
    """Make the battery heard by Home Assistant's bluetooth integration (service 0xFF00)."""
    fake.inject_advertisement(hass, fake.service_info(address, name, service_uuids))


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, bms: fake.FakeBms, name: str = "ttyJBD0"
) -> AsyncIterator[PtyDevice]:
    """A real pty at tmp_path/name with `bms` answering behind it."""
    device, server = fake.serve_on_pty(tmp_path / name, bms)
    task = asyncio.get_running_loop().create_task(server.run())
    try:
        yield device
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        device.unplug()


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    """Poll `predicate` every 10 ms until true; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def state(hass: HomeAssistant, unique_id: str, domain: str = "sensor") -> str | None:
    """The state of the entity with this unique id, or None when it does not exist."""
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    current = hass.states.get(entity_id) if entity_id else None
    return current.state if current else None


def entity_id(hass: HomeAssistant, unique_id: str, domain: str = "sensor") -> str:
    """The entity id of the entity with this unique id."""
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found
