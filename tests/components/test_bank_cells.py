"""The bank's lowest / highest cell (issue 12 §1): which battery and cell is an attribute of the
cell voltage sensor that rides along with the voltage's own writes, so a lowest cell that moves
between batteries at the same voltage writes nothing (it made 57 Activity entries and recorder
rows in 30 minutes as a text sensor); the former text sensors' registry entries are removed.
Member values are the real captures' (tests/battery/captures.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryDisabler
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.coordinator import DeviceCoordinator
from custom_components.victron_venus.sources import bank as bank_module
from custom_components.victron_venus.sources.bank import SERIES, BankSource
from custom_components.victron_venus.sources.registry import battery_registry
from tests.battery.captures import aft, fore
from tests.components.bank_cells import cell_where
from tests.components.jbd_helpers import entity_id, setup_entry, state

UID = "bank_cells"


def _member(hass: HomeAssistant, title: str) -> MockConfigEntry:
    """A JBD battery entry that is not set up (disabled): its coordinator is the test's."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=f"jbd_{title}",
        data={"entry_type": "jbd", "transport": "serial", "serial_port": f"/dev/{title}"},
        disabled_by=ConfigEntryDisabler.USER,
    )
    entry.add_to_hass(hass)
    return entry


def _coordinator(hass: HomeAssistant, entry: MockConfigEntry) -> DeviceCoordinator:
    return DeviceCoordinator(
        hass,
        entry,
        identifier=str(entry.unique_id),
        device_info=DeviceInfo(identifiers={(DOMAIN, str(entry.unique_id))}, name=entry.title),
        write_interval=0,
    )


def _with_cell(data: dict[str, Any], index: int, volts: float) -> dict[str, Any]:
    cells = list(data["cells"])
    cells[index] = volts
    return {**data, "cells": cells}


async def test_cell_identity_rides_along_and_the_text_sensors_are_gone(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lowest cell moving between Fore and Aft at one voltage writes no state; the next
    voltage write carries the identity; the old text sensors' registry entries are removed."""
    monkeypatch.setattr(bank_module, "STARTUP_GRACE", 0.0)
    registry = er.async_get(hass)
    for key in ("lowest_cell", "highest_cell"):  # left by an earlier version
        registry.async_get_or_create("sensor", DOMAIN, f"{UID}_{key}")
    fore_entry, aft_entry = _member(hass, "Fore"), _member(hass, "Aft")
    entry = await setup_entry(
        hass,
        unique_id=UID,
        title="Bank",
        data={"entry_type": "bank", "members": [fore_entry.entry_id, aft_entry.entry_id],
              "wiring": SERIES},
    )  # fmt: skip
    bank = entry.runtime_data
    assert isinstance(bank, BankSource)
    for key in ("lowest_cell", "highest_cell"):
        assert registry.async_get_entity_id("sensor", DOMAIN, f"{UID}_{key}") is None, key

    members = battery_registry(hass)
    fore_coordinator, aft_coordinator = (
        _coordinator(hass, fore_entry),
        _coordinator(hass, aft_entry),
    )
    members.async_register(fore_entry.entry_id, fore_coordinator)
    members.async_register(aft_entry.entry_id, aft_coordinator)
    fore_coordinator.async_push(_with_cell(fore(), 3, 3.416))  # Fore's cell 4 is the lowest
    aft_coordinator.async_push(aft())
    await hass.async_block_till_done()
    lowest = entity_id(hass, f"{UID}_lowest_cell_voltage")
    assert state(hass, f"{UID}_lowest_cell_voltage") == "3.416"
    assert cell_where(hass, f"{UID}_lowest_cell_voltage") == ("Fore", 4)
    assert cell_where(hass, f"{UID}_highest_cell_voltage") == ("Aft", 3)
    assert state(hass, f"{UID}_lowest_cell") is None

    writes: list[Event[Any]] = []
    hass.bus.async_listen(
        EVENT_STATE_CHANGED,
        lambda event: writes.append(event) if event.data["entity_id"] == lowest else None,
    )
    for _flip in range(10):  # the lowest cell moves between the batteries, always 3.416 V
        aft_coordinator.async_push(_with_cell(aft(), 3, 3.416))
        fore_coordinator.async_push(fore())  # Aft's cell 4 alone is the lowest
        assert bank.coordinator.data["lowest_cell_location"] == {"battery": "Aft", "cell": 4}
        fore_coordinator.async_push(_with_cell(fore(), 3, 3.416))
        aft_coordinator.async_push(aft())  # Fore's cell 4 again
    await hass.async_block_till_done()
    assert writes == []  # no Activity entry, no recorder row
    assert cell_where(hass, f"{UID}_lowest_cell_voltage") == ("Fore", 4)  # until the next write

    aft_coordinator.async_push(_with_cell(aft(), 3, 3.2))  # a real change: Aft's cell 4 sags
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10))
    await hass.async_block_till_done()
    assert state(hass, f"{UID}_lowest_cell_voltage") == "3.2"
    assert cell_where(hass, f"{UID}_lowest_cell_voltage") == ("Aft", 4)
    assert len(writes) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
