"""coordinator.py (issue 9 item 1): the push coordinator, its one availability owner, the write
interval option and its migration, and the old import paths kept for one release.

- A push goes through Home Assistant's `async_set_updated_data`; availability is lost only through
  `async_mark_unavailable` (also what the freshness check calls), logged once when lost and once
  when back, or not at all when the source logs one line for many devices itself.
- The option called "update interval" is the write interval: an entry of config entry version
  1.1 (every entry type) is migrated to 1.2 with `options.update_interval` moved to
  `options.write_interval`, value unchanged, before its source reads it.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.victron_venus as integration
from custom_components.victron_venus import config_flow
from custom_components.victron_venus.const import (
    CONF_ENTRY_TYPE,
    CONF_RECORDING,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    EntryType,
)
from custom_components.victron_venus.coordinator import (
    DataReads,
    DeviceCoordinator,
    write_interval_of,
)
from custom_components.victron_venus.sources.base import Source
from custom_components.victron_venus.trips.settings import default_options

from .logbook_helpers import SPEED, TRACKER, setup_logbook

IDENTIFIER = "TEST1"

#: The data of an entry of each type, as the config flow writes it (enough for `entry_type`).
ENTRY_DATA: dict[EntryType, dict[str, Any]] = {
    EntryType.VEDIRECT: {CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: "/dev/null"},
    EntryType.VENUS: {CONF_ENTRY_TYPE: "venus", "host": "gx.local", "portal_id": "c0619ab1cafe"},
    EntryType.JBD: {CONF_ENTRY_TYPE: "jbd", "address": "A4:C1:38:00:00:01"},
    EntryType.BLE_BATTERY: {CONF_ENTRY_TYPE: "ble_battery", "address": "C0:D6:3C:00:00:01"},
    EntryType.BANK: {CONF_ENTRY_TYPE: "bank", "batteries": ["a", "b"]},
    EntryType.LOGBOOK: {CONF_ENTRY_TYPE: "logbook", "position": TRACKER, "speed": SPEED},
}

#: Options an entry type keeps beside the interval (they must survive the migration untouched).
OTHER_OPTIONS: dict[EntryType, dict[str, Any]] = {
    EntryType.VEDIRECT: {},
    EntryType.VENUS: {"service_types": ["battery", "gps"]},
    EntryType.JBD: {"poll_interval": 30, "keep_connection": False},
    EntryType.BLE_BATTERY: {"poll_interval": 30, "keep_connection": False},
    EntryType.BANK: {"soc_warning": 20, "soc_alarm": 10},
    EntryType.LOGBOOK: default_options(),
}


class _Source(Source):
    """A source without a transport: one device whose coordinator reads the entry's option."""

    async def async_start(self) -> None:
        """Create the device (its write interval from the entry: `write_interval_of`)."""
        coordinator = DeviceCoordinator(
            self.hass,
            self.entry,
            identifier=IDENTIFIER,
            device_info=DeviceInfo(identifiers={(DOMAIN, IDENTIFIER)}, name="Test device"),
            write_interval=write_interval_of(self.entry),
        )
        self.devices[IDENTIFIER] = coordinator
        coordinator.async_push({"V": 12.5})


@pytest.fixture
def test_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries of every type set up with `_Source` (the migration does not depend on it)."""
    monkeypatch.setattr(integration, "source_class", lambda _entry_type: _Source)


def _old_entry(kind: EntryType, options: dict[str, Any]) -> MockConfigEntry:
    """An entry as version 1.1 of the integration stored it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Old {kind.value}",
        unique_id=f"old_{kind.value}",
        data=ENTRY_DATA[kind],
        options=options,
        version=1,
        minor_version=1,
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> DeviceCoordinator:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    coordinator: DeviceCoordinator = entry.runtime_data.devices[IDENTIFIER]
    return coordinator


# --- the write interval option and its migration ------------------------------------------------


def test_the_flow_writes_version_1_3() -> None:
    """New entries are created at 1.3 (test_write_policy.py tests the 1.2 -> 1.3 step)."""
    flow = config_flow.VictronVenusConfigFlow
    assert (flow.VERSION, flow.MINOR_VERSION) == (1, 3)


@pytest.mark.parametrize("kind", list(EntryType))
async def test_migration_moves_update_interval_to_write_interval(
    hass: HomeAssistant, test_source: None, kind: EntryType
) -> None:
    """1.1 → 1.2 for every entry type: `update_interval` becomes `write_interval` (value kept),
    the other options and the data stay as they were, and the source writes at that interval."""
    entry = _old_entry(kind, {"update_interval": 7, **OTHER_OPTIONS[kind]})
    coordinator = await _setup(hass, entry)
    assert (entry.version, entry.minor_version) == (1, 3)  # then 1.2 -> 1.3: the policy
    assert dict(entry.options) == {
        CONF_WRITE_INTERVAL: 7,
        CONF_RECORDING: "balanced",
        **OTHER_OPTIONS[kind],
    }
    assert dict(entry.data) == ENTRY_DATA[kind]
    assert coordinator.write_interval == 7.0


@pytest.mark.parametrize("kind", list(EntryType))
async def test_migration_of_an_entry_without_the_option(
    hass: HomeAssistant, test_source: None, kind: EntryType
) -> None:
    """An old entry that never had the option keeps its options and gets the default."""
    entry = _old_entry(kind, dict(OTHER_OPTIONS[kind]))
    coordinator = await _setup(hass, entry)
    assert (entry.version, entry.minor_version) == (1, 3)
    assert dict(entry.options) == {CONF_RECORDING: "balanced", **OTHER_OPTIONS[kind]}
    assert coordinator.write_interval == float(DEFAULT_WRITE_INTERVAL)


async def test_an_entry_at_1_2_is_left_alone(hass: HomeAssistant, test_source: None) -> None:
    """An entry at 1.2 is not migrated to 1.2 again: an option that merely has the old name stays
    unread (1.2 -> 1.3 adds only the policy)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="new",
        data=ENTRY_DATA[EntryType.VEDIRECT],
        options={CONF_WRITE_INTERVAL: 0, "update_interval": 60},
        version=1,
        minor_version=2,
    )
    coordinator = await _setup(hass, entry)
    assert dict(entry.options) == {
        CONF_WRITE_INTERVAL: 0,
        "update_interval": 60,
        CONF_RECORDING: "detailed",
    }
    assert coordinator.write_interval == 0.0


async def test_an_entry_of_a_later_major_version_is_refused(
    hass: HomeAssistant, test_source: None
) -> None:
    """A downgrade below a major version is not loaded (Home Assistant's rule; ours is 1)."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="future", data=ENTRY_DATA[EntryType.VEDIRECT], version=2
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


async def test_migration_with_the_real_logbook_source(hass: HomeAssistant) -> None:
    """End to end with a real source: an old Logbook entry writes at its old interval."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Logbook",
        unique_id=f"logbook_{TRACKER}",
        data=ENTRY_DATA[EntryType.LOGBOOK],
        options={"update_interval": 9, **default_options()},
        version=1,
        minor_version=1,
    )
    await setup_logbook(hass, entry)
    assert entry.options[CONF_WRITE_INTERVAL] == 9
    assert "update_interval" not in entry.options
    assert entry.runtime_data.coordinator.write_interval == 9.0


async def test_migration_with_the_real_vedirect_source(
    hass: HomeAssistant, serve_capture: Callable[..., Any]
) -> None:
    """End to end with a real source on a pty: an old VE.Direct entry writes every change."""
    device, _replay = serve_capture("bmv702", interval=0.05)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="BMV",
        unique_id="HQ1234ABCDE",
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: str(Path(device.link))},
        options={"update_interval": 0},
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert dict(entry.options) == {CONF_WRITE_INTERVAL: 0, CONF_RECORDING: "detailed"}
    assert entry.runtime_data.coordinator.write_interval == 0.0


# --- the coordinator ----------------------------------------------------------------------------


def _coordinator(hass: HomeAssistant, **kwargs: Any) -> DeviceCoordinator:
    entry = MockConfigEntry(domain=DOMAIN, data=ENTRY_DATA[EntryType.VEDIRECT], **kwargs)
    entry.add_to_hass(hass)
    return DeviceCoordinator(
        hass,
        entry,
        identifier=IDENTIFIER,
        device_info=DeviceInfo(identifiers={(DOMAIN, IDENTIFIER)}, name="Test device"),
    )


async def test_write_interval_comes_from_the_entry(hass: HomeAssistant) -> None:
    """Without an explicit interval the coordinator reads the entry's option (default 5 s); the
    old keyword `update_interval` still works for one release."""
    assert _coordinator(hass).write_interval == 5.0
    assert _coordinator(hass, options={CONF_WRITE_INTERVAL: 12}).write_interval == 12.0
    old_keyword = DeviceCoordinator(
        hass,
        MockConfigEntry(domain=DOMAIN),
        identifier="X",
        device_info=DeviceInfo(name="X"),
        update_interval=3,
    )
    assert old_keyword.write_interval == 3.0


async def test_a_push_goes_through_async_set_updated_data(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`async_push` hands the data to Home Assistant's `async_set_updated_data`, which notifies
    the listeners once per push."""
    coordinator = _coordinator(hass)
    handed: list[Any] = []
    original = DataUpdateCoordinator.async_set_updated_data

    def spy(self: DeviceCoordinator, data: Any) -> None:
        handed.append(data)
        original(self, data)

    monkeypatch.setattr(DeviceCoordinator, "async_set_updated_data", spy)
    calls: list[bool] = []
    coordinator.async_add_listener(lambda: calls.append(coordinator.last_update_success))
    data = {"V": 12.5}
    coordinator.async_push(data)
    assert handed == [data]
    assert coordinator.data is data
    assert calls == [True]
    assert (coordinator.updates, coordinator.keys_version) == (1, 1)


def _listener(
    coordinator: DeviceCoordinator, value_fn: Callable[[Any], Any]
) -> tuple[DataReads, list[Any]]:
    """A listener as an entity registers it: it evaluates `value_fn` through its DataReads (the
    context), and records each value it saw."""
    reads = DataReads()
    seen: list[Any] = []
    coordinator.async_add_listener(
        lambda: seen.append(value_fn(reads.track(coordinator.data))), reads
    )
    return reads, seen


async def test_a_push_that_names_its_keys_notifies_who_read_them(hass: HomeAssistant) -> None:
    """A push that names the keys received notifies a listener whose last evaluation read one of
    them, and every listener without a DataReads context; every listener when it names none,
    when the key set changed, and when the device was unavailable."""
    coordinator = _coordinator(hass)
    data = {"V": 12.5, "I": 1.0, "Fix": 0, "Lat": 60.1}
    volts, seen_v = _listener(coordinator, lambda d: d.get("V"))
    # a position: its latitude read only with a fix (the condition's key is read first)
    position, seen_p = _listener(coordinator, lambda d: d["Lat"] if d.get("Fix") else None)
    plain: list[bool] = []
    coordinator.async_add_listener(lambda: plain.append(True))
    coordinator.async_push(data)  # the first push: everyone
    assert (seen_v, seen_p, len(plain)) == ([12.5], [None], 1)
    assert volts.read == {"V"} and position.read == {"Fix"}

    data["I"] = 2.0
    coordinator.async_push(data, {"I"})  # nobody read I
    assert (seen_v, seen_p, len(plain)) == ([12.5], [None], 2)
    data["V"] = 12.6
    coordinator.async_push(data, {"V", "I"})
    assert (seen_v, seen_p, len(plain)) == ([12.5, 12.6], [None], 3)
    data["Lat"] = 60.2
    coordinator.async_push(data, {"Lat"})  # without a fix the position did not read it
    assert seen_p == [None]
    data["Fix"] = 1
    coordinator.async_push(data, {"Fix"})
    assert seen_p == [None, 60.2] and position.read == {"Fix", "Lat"}
    data["Lat"] = 60.3
    coordinator.async_push(data, {"Lat"})
    assert seen_p == [None, 60.2, 60.3]

    coordinator.async_push(data)  # no keys named: everyone
    assert (len(seen_v), len(seen_p), len(plain)) == (3, 4, 7)
    coordinator.async_push({**data, "New": 1}, {"New"})  # the key set changed: everyone
    assert (len(seen_v), len(seen_p), len(plain)) == (4, 5, 8)
    coordinator.async_mark_unavailable()  # everyone, unavailable
    assert (len(seen_v), len(seen_p), len(plain)) == (5, 6, 9)
    coordinator.async_push({**data, "New": 1}, {"I"})  # back: everyone, though only I came
    assert (len(seen_v), len(seen_p), len(plain)) == (6, 7, 10)


async def test_a_function_that_looks_at_all_the_data_is_always_notified(
    hass: HomeAssistant,
) -> None:
    """Iterating the data or asking its length reads all of it: such a listener is notified of
    every push."""
    coordinator = _coordinator(hass)
    data = {"V": 12.5, "I": 1.0}
    counted, seen_n = _listener(coordinator, len)
    listed, seen_k = _listener(coordinator, lambda d: sorted(d.items()))
    coordinator.async_push(data)
    assert counted.read is None and listed.read is None
    coordinator.async_push(data, {"I"})
    assert len(seen_n) == len(seen_k) == 2


def _lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def test_lost_once_back_once(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """A loss with a reason is logged once however often it is marked, its return once; the
    listeners hear each transition once."""
    caplog.set_level(logging.INFO)
    coordinator = _coordinator(hass)
    calls: list[bool] = []
    coordinator.async_add_listener(lambda: calls.append(coordinator.last_update_success))
    coordinator.async_mark_unavailable("never had data")  # unavailable from the start: nothing
    coordinator.async_push({"V": 12.5})  # the first data is no "return"
    for _ in range(3):
        coordinator.async_mark_unavailable("serial port lost")
    coordinator.async_push({"V": 12.6})
    coordinator.async_push({"V": 12.7})
    assert calls == [True, False, True, True]
    assert _lines(caplog, "Test device:") == [
        "Test device: serial port lost; entities unavailable until data returns",
        "Test device: data is back, entities available again",
    ]


async def test_freshness_marks_unavailable_through_the_one_method(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`async_check_fresh` goes through `async_mark_unavailable` (the only method that makes a
    device unavailable), with the freshness timeout as its reason."""
    caplog.set_level(logging.INFO)
    coordinator = _coordinator(hass)
    coordinator.async_push({"V": 12.5})
    assert coordinator.last_seen is not None
    reasons: list[str | None] = []
    original = DeviceCoordinator.async_mark_unavailable

    def spy(self: DeviceCoordinator, reason: str | None = None) -> None:
        reasons.append(reason)
        original(self, reason)

    monkeypatch.setattr(DeviceCoordinator, "async_mark_unavailable", spy)
    coordinator.async_check_fresh(coordinator.last_seen + 10.0)  # not older than 10 s: fresh
    assert coordinator.last_update_success
    coordinator.async_check_fresh(coordinator.last_seen + 10.5)
    coordinator.async_check_fresh(coordinator.last_seen + 60.0)  # already lost: nothing more
    assert reasons == ["no verified data for 10 s"]
    assert not coordinator.last_update_success
    coordinator.async_push({"V": 12.5})
    assert _lines(caplog, "Test device:") == [
        "Test device: no verified data for 10 s; entities unavailable until data returns",
        "Test device: data is back, entities available again",
    ]


async def test_a_loss_the_source_logs_itself_is_quiet_both_ways(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a reason (a GX lost: the source logs one line for all its devices) neither the
    loss nor the return is logged by the coordinator; the entities still follow."""
    caplog.set_level(logging.INFO)
    coordinator = _coordinator(hass)
    calls: list[bool] = []
    coordinator.async_add_listener(lambda: calls.append(coordinator.last_update_success))
    coordinator.async_push({"V": 12.5})
    coordinator.async_mark_unavailable()
    coordinator.async_push({"V": 12.5})
    assert calls == [True, False, True]
    assert _lines(caplog, "Test device:") == []


async def test_update_entity_fetches_nothing(hass: HomeAssistant) -> None:
    """A push coordinator never fetches: a refresh keeps the data and the availability."""
    coordinator = _coordinator(hass)
    coordinator.async_push({"V": 12.5})
    await coordinator.async_refresh()
    await coordinator.async_request_refresh()
    assert (coordinator.data, coordinator.last_update_success) == ({"V": 12.5}, True)


# --- the old import paths, for one release --------------------------------------------------------


def test_old_names_are_importable_for_one_release() -> None:
    """What moved to coordinator.py and const.py is still importable where it was."""
    from custom_components.victron_venus import (  # type: ignore[attr-defined]  # the old path
        VictronConfigEntry,
        const,
        coordinator,
        entity,
        entry_type,
    )
    from custom_components.victron_venus.entity import (
        DeviceCoordinator as OldCoordinator,
        async_track_freshness,
        update_interval_of,
    )
    from custom_components.victron_venus.sources.base import signal_new_device

    assert OldCoordinator is coordinator.DeviceCoordinator
    assert entity.DeviceData is coordinator.DeviceData
    assert async_track_freshness is coordinator.async_track_freshness
    assert update_interval_of is coordinator.write_interval_of
    assert signal_new_device is coordinator.signal_new_device
    assert VictronConfigEntry is coordinator.VictronConfigEntry
    assert entry_type is const.entry_type
    assert const.CONF_UPDATE_INTERVAL == const.CONF_WRITE_INTERVAL == "write_interval"
    assert const.DEFAULT_UPDATE_INTERVAL == const.DEFAULT_WRITE_INTERVAL == 5
