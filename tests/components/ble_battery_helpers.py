"""Helpers shared by the Bluetooth battery (aiobmsble families) tests (plain functions)."""

from __future__ import annotations

from typing import Any

from aiobmsble import basebms
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources import ble_battery as source_module
from tests.fakes import ble_bms
from tests.fakes.jbd_bms import inject_advertisement


def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake radio in place of bleak's for the library, and short library timeouts."""
    monkeypatch.setattr(basebms, "BleakClient", ble_bms.FakeFamilyClient)
    # the library retries a request 3 times per write mode with growing waits (0.4 + 0.8 + 1.6 s
    # here, 0.71 s for the first on a real BMS): long enough for a busy test loop (coverage, two
    # cores shared) to deliver every notification in time; tests of a BMS that does not answer
    # shorten it (`no_answer_soon`)
    monkeypatch.setattr(basebms.BaseBMS, "_RETRY_TIMEOUT", 0.4)
    monkeypatch.setattr(source_module, "POLL_TIMEOUT", 5.0)
    monkeypatch.setattr(source_module, "PROBE_TIMEOUT", 5.0)


def no_answer_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short library waits, for tests where the BMS does not answer on purpose."""
    monkeypatch.setattr(basebms.BaseBMS, "_RETRY_TIMEOUT", 0.02)


def advertise(hass: HomeAssistant, family: str, address: str | None = None) -> str:
    """Make the family's battery heard by Home Assistant's bluetooth integration; its address."""
    info = ble_bms.advertisement(family, address=address)
    inject_advertisement(hass, info)
    return str(info.address)


async def setup_battery(
    hass: HomeAssistant,
    family: str,
    *,
    address: str | None = None,
    title: str = "Boat",
    options: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A BLE battery entry of `family` (advertise it first), set up."""
    address = address or ble_bms.address_of(family)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=address,
        version=1,
        minor_version=2,
        data={"entry_type": "ble_battery", "address": address, "family": family, **(data or {})},
        options={"write_interval": 0, "poll_interval": 0.05, **(options or {})},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
