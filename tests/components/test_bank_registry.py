"""The bank follows its members through the battery registry (sources/registry.py), not by
reading other entries' runtime_data on a timer: a member's push is one bank update at once, a
member that stops or is replaced by a new source is followed at once, nothing is recomputed while
nothing happens, and the startup grace ends with one recompute. Member values are the real
captures' (tests/battery/captures.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from homeassistant.config_entries import ConfigEntryDisabler
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.victron_venus import battery
from custom_components.victron_venus.battery import (
    alerts,
    bank as bank_maths,
    charge_limits,
    energy,
)
from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.coordinator import DeviceCoordinator
from custom_components.victron_venus.sources import bank as bank_module, jbd as jbd_module
from custom_components.victron_venus.sources.bank import EVENT_ALERT, SERIES, BankSource
from custom_components.victron_venus.sources.registry import BatteryRegistry, battery_registry
from tests.battery.captures import aft, fore
from tests.components.bank_cells import cell_where
from tests.components.jbd_helpers import setup_entry, state

UID = "bank_registry"


def _member(hass: HomeAssistant, title: str) -> MockConfigEntry:
    """A JBD battery entry that exists but is not set up (disabled): only the registry speaks."""
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


async def _bank(hass: HomeAssistant, members: list[MockConfigEntry]) -> BankSource:
    entry = await setup_entry(
        hass,
        unique_id=UID,
        title="Bank",
        data={"entry_type": "bank", "members": [m.entry_id for m in members], "wiring": SERIES},
    )
    source = entry.runtime_data
    assert isinstance(source, BankSource)
    return source


async def test_bank_follows_the_registry(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each member push is exactly one bank update; a replaced member's old coordinator is no
    longer heard; a member that stops is unavailable at once; time alone recomputes nothing."""
    monkeypatch.setattr(bank_module, "STARTUP_GRACE", 0.0)
    fore_entry, aft_entry = _member(hass, "Fore"), _member(hass, "Aft")
    source = await _bank(hass, [fore_entry, aft_entry])
    assert state(hass, f"{UID}_alert_member_unavailable", "binary_sensor") == "on"
    assert state(hass, f"{UID}_members_available") == "0"

    registry = battery_registry(hass)
    fore_coordinator, aft_coordinator = (
        _coordinator(hass, fore_entry),
        _coordinator(hass, aft_entry),
    )
    unregister_fore = registry.async_register(fore_entry.entry_id, fore_coordinator)
    unregister_aft = registry.async_register(aft_entry.entry_id, aft_coordinator)
    assert source._members == {
        fore_entry.entry_id: fore_coordinator,
        aft_entry.entry_id: aft_coordinator,
    }
    updates = source.updates
    fore_coordinator.async_push(fore())
    assert source.updates == updates + 1
    aft_coordinator.async_push(aft())
    assert source.updates == updates + 2
    await hass.async_block_till_done()
    assert state(hass, f"{UID}_voltage") == "27.63"  # 13.70 V + 13.93 V
    assert cell_where(hass, f"{UID}_highest_cell_voltage") == ("Aft", 3)
    assert state(hass, f"{UID}_alert_member_unavailable", "binary_sensor") == "off"

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done()
    assert source.updates == updates + 2  # no timer recomputes the bank

    new_fore = _coordinator(hass, fore_entry)  # the entry reloaded: a new source
    registry.async_register(fore_entry.entry_id, new_fore)
    assert source._members[fore_entry.entry_id] is new_fore
    updates = source.updates
    fore_coordinator.async_push(fore())  # the old one is not listened to any more
    assert source.updates == updates
    new_fore.async_push(fore())
    assert source.updates == updates + 1
    unregister_fore()  # replaced meanwhile: does nothing
    assert registry.get(fore_entry.entry_id) is new_fore

    events = async_capture_events(hass, EVENT_ALERT)
    unregister_aft()
    await hass.async_block_till_done()
    assert state(hass, f"{UID}_alert_member_unavailable", "binary_sensor") == "on"
    assert state(hass, f"{UID}_voltage") == "unknown"
    assert [(e.data["alert"], e.data["battery"]) for e in events] == [("member_unavailable", "Aft")]
    assert source._members[aft_entry.entry_id] is None
    assert await hass.config_entries.async_unload(source.entry.entry_id)
    updates = source.updates
    new_fore.async_push(fore())  # the unloaded bank listens to nobody
    assert source.updates == updates


async def test_startup_grace_ends_with_one_recompute(hass: HomeAssistant) -> None:
    """A member that never reports counts as unavailable only once the 90 s grace is over."""
    fore_entry, aft_entry = _member(hass, "Fore"), _member(hass, "Aft")
    coordinator = _coordinator(hass, fore_entry)
    battery_registry(hass).async_register(fore_entry.entry_id, coordinator)
    coordinator.async_push(fore())
    events = async_capture_events(hass, EVENT_ALERT)
    source = await _bank(hass, [fore_entry, aft_entry])
    assert state(hass, f"{UID}_alert_member_unavailable", "binary_sensor") == "off"
    assert state(hass, f"{UID}_members_available") == "1"
    updates = source.updates
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=89))
    await hass.async_block_till_done()
    assert source.updates == updates
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=91))
    await hass.async_block_till_done()
    assert source.updates == updates + 1
    assert state(hass, f"{UID}_alert_member_unavailable", "binary_sensor") == "on"
    assert [(e.data["alert"], e.data["battery"]) for e in events] == [("member_unavailable", "Aft")]
    assert await hass.config_entries.async_unload(source.entry.entry_id)


def test_registry_trackers() -> None:
    """Trackers hear registering and unregistering of their ids only, until they stop."""
    registry = BatteryRegistry()
    heard: list[str] = []
    untrack = registry.async_track(["a", "b", "a"], heard.append)
    sentinel = cast(DeviceCoordinator, object())
    undo = registry.async_register("a", sentinel)
    registry.async_register("c", sentinel)
    assert heard == ["a"]
    assert registry.get("a") is sentinel
    undo()
    assert heard == ["a", "a"]
    assert registry.get("a") is None
    untrack()
    registry.async_register("b", sentinel)
    assert heard == ["a", "a"]


def test_the_maths_old_names_are_the_battery_package() -> None:
    """sources.bank and sources.jbd re-export the pure maths under the names tests import."""
    assert battery.__doc__
    assert bank_module.aggregate is bank_maths.aggregate
    assert bank_module.cell_monitor is bank_maths.cell_monitor
    assert bank_module.Thresholds is bank_maths.Thresholds
    assert bank_module.Member is bank_maths.Member
    assert bank_module.charge_limits is charge_limits.charge_limits
    assert bank_module.interpolate is charge_limits.interpolate
    assert bank_module.CHARGE_CELL_CURVE is charge_limits.CHARGE_CELL_CURVE
    assert bank_module.AlertTracker is alerts.AlertTracker
    assert bank_module.ALERTS is alerts.ALERTS
    assert jbd_module.EnergyIntegrator is energy.EnergyIntegrator
