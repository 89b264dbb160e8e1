"""The shared write path (entity.py and the platforms), with a real Home Assistant.

Every source (VE.Direct, Venus GX, JBD, bank, logbook) writes its entities through the same
`DeviceCoordinator` → `VictronEntity` road, so these guarantees are tested once, here, with a
minimal source whose coordinator pushes chosen values into real sensor, binary sensor and
device_tracker entities (issue 8 §2):

- a total_increasing counter is never written lower than what it last wrote, nor after a restart
  lower than what the restore cache or the recorder already has;
- no value of any type raises in an entity's write: it is counted and shown as unknown;
- a new key always gets its entity, even when the source edits its dict in place and the number of
  keys stays the same;
- `homeassistant.update_entity` is a harmless refresh of the latest pushed data.

The last test walks every source's description tables to check that each of their
total_increasing rows gets the guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
)

import custom_components.victron_venus as integration
from custom_components.victron_venus.const import DOMAIN, EntryType
from custom_components.victron_venus.descriptions import venus as venus_rows
from custom_components.victron_venus.entity import (
    DeviceCoordinator,
    VictronBinarySensorEntityDescription,
    VictronEntityDescription,
    VictronImageEntityDescription,
    VictronSensorEntityDescription,
    VictronTrackerEntityDescription,
    is_monotonic,
)
from custom_components.victron_venus.sensor import VictronCounterSensor, VictronSensor
from custom_components.victron_venus.sources import source_class
from custom_components.victron_venus.sources.base import Source

IDENTIFIER = "TEST1"

VOLTAGE = "sensor.test_device_voltage"
YIELD_TOTAL = "sensor.test_device_yield_total"
YIELD_TODAY = "sensor.test_device_yield_today"
MODE = "sensor.test_device_mode"
TEXT = "sensor.test_device_text"
STAMP = "sensor.test_device_stamp"
WITH_ATTRS = "sensor.test_device_with_attributes"
FRAGILE = "sensor.test_device_fragile"
LATE = "sensor.test_device_late"
ALARM = "binary_sensor.test_device_alarm"
POSITION = "device_tracker.test_device_position"
CURVE = "image.test_device_curve"


def _fragile(data: Mapping[str, Any]) -> Any:
    """A row whose value_fn does arithmetic on what it gets (raises on some bad input)."""
    return data["fragile"] * 2


SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    VictronSensorEntityDescription(
        key="voltage",
        name="Voltage",
        native_unit_of_measurement="V",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
    ),
    VictronSensorEntityDescription(
        key="yield_total",
        name="Yield total",
        native_unit_of_measurement="kWh",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
    ),
    VictronSensorEntityDescription(
        key="yield_today",
        name="Yield today",
        native_unit_of_measurement="kWh",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        monotonic=False,  # a daily counter: its reset is a new meter cycle
    ),
    VictronSensorEntityDescription(
        key="mode", name="Mode", device_class=SensorDeviceClass.ENUM, options=["on", "off"]
    ),
    VictronSensorEntityDescription(key="text", name="Text"),
    VictronSensorEntityDescription(
        key="stamp", name="Stamp", device_class=SensorDeviceClass.TIMESTAMP
    ),
    VictronSensorEntityDescription(
        key="with_attrs",
        name="With attributes",
        attributes_fn=lambda data: data.get("attrs"),
    ),
    VictronSensorEntityDescription(
        key="fragile",
        name="Fragile",
        native_unit_of_measurement="A",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_fragile,
    ),
    VictronSensorEntityDescription(key="late", name="Late", native_unit_of_measurement="V"),
)
BINARY_SENSORS = (VictronBinarySensorEntityDescription(key="alarm", name="Alarm", discrete=True),)
TRACKERS = (VictronTrackerEntityDescription(key="position", name="Position"),)
IMAGES = (
    VictronImageEntityDescription(
        key="curve", name="Curve", image_fn=lambda data: data["svg"].encode()
    ),
)

GOOD: dict[str, Any] = {
    "voltage": 12.8,
    "yield_total": 82.72,
    "yield_today": 1.5,
    "mode": "on",
    "text": "hello",
    "stamp": dt_util.parse_datetime("2024-06-15T12:00:00+00:00"),
    "with_attrs": 1,
    "attrs": {"trip": 3},
    "fragile": 4,
    "alarm": False,
    "position": (-33.9, 18.4, 10.0),
    "curve": 1,
    "svg": "<svg/>",
}


class _Source(Source):
    """One device whose coordinator the test pushes values into by hand."""

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR, Platform.DEVICE_TRACKER, Platform.IMAGE)
    tables: Mapping[Platform, Sequence[VictronEntityDescription]] = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
        Platform.DEVICE_TRACKER: TRACKERS,
        Platform.IMAGE: IMAGES,
    }
    initial: dict[str, Any] = GOOD

    async def async_start(self) -> None:
        """Create the device with the class's initial data; nothing to read."""
        coordinator = DeviceCoordinator(
            self.hass,
            self.entry,
            identifier=IDENTIFIER,
            device_info=DeviceInfo(identifiers={(DOMAIN, IDENTIFIER)}, name="Test device"),
            write_interval=float(self.entry.options.get("write_interval", 0)),
        )
        self.devices[IDENTIFIER] = coordinator
        coordinator.async_push(dict(self.initial))


@pytest.fixture
def use_test_source(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], None]:
    """Set up entries with `_Source` (with the given initial data) instead of a real source."""

    def use(initial: dict[str, Any]) -> None:
        source = type("_TestSource", (_Source,), {"initial": initial})
        monkeypatch.setattr(integration, "source_class", lambda _entry_type: source)

    use(GOOD)
    return use


def _entry(write_interval: float = 0) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Test device",
        unique_id=IDENTIFIER,
        data={"entry_type": EntryType.VEDIRECT, "serial_port": "/dev/null"},
        # the guarantees under the write interval alone (every change): the "detailed" policy;
        # the other policies: test_write_policy.py
        options={"write_interval": write_interval, "recording": "detailed"},
    )


async def _setup(
    hass: HomeAssistant, write_interval: float = 0, entry: MockConfigEntry | None = None
) -> DeviceCoordinator:
    """Set up an entry of the test source (`entry` when given: already added to hass)."""
    if entry is None:
        entry = _entry(write_interval)
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator: DeviceCoordinator = entry.runtime_data.devices[IDENTIFIER]
    return coordinator


async def _push(hass: HomeAssistant, coordinator: DeviceCoordinator, **changes: Any) -> None:
    coordinator.async_push({**coordinator.data, **changes})
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _warnings_about(caplog: pytest.LogCaptureFixture, entity_id: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and entity_id in r.getMessage()
    ]


# --- item 1: a total_increasing counter never goes down -------------------------------------------


async def test_counter_refuses_a_lower_value_counts_and_logs_once_per_episode(
    hass: HomeAssistant, use_test_source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """82.72 → 11.58 kWh (another MPPT's yield on the port) keeps 82.72; logged once per episode
    at WARNING with the entity id; every refused value counted; rising again ends the episode."""
    coordinator = await _setup(hass)
    assert _state(hass, YIELD_TOTAL) == "82.72"

    await _push(hass, coordinator, yield_total=11.58)
    assert _state(hass, YIELD_TOTAL) == "82.72"
    await _push(hass, coordinator, yield_total=11.59)
    assert _state(hass, YIELD_TOTAL) == "82.72"
    assert coordinator.decreases_refused == 2
    assert len(_warnings_about(caplog, YIELD_TOTAL)) == 1

    await _push(hass, coordinator, yield_total=82.72)  # equal is not lower
    await _push(hass, coordinator, yield_total=82.75)
    assert _state(hass, YIELD_TOTAL) == "82.75"
    await _push(hass, coordinator, yield_total=80.0)  # a new episode
    assert _state(hass, YIELD_TOTAL) == "82.75"
    assert coordinator.decreases_refused == 3
    assert len(_warnings_about(caplog, YIELD_TOTAL)) == 2
    assert _errors(caplog) == []
    assert coordinator.config_entry is not None
    device = coordinator.config_entry.runtime_data.diagnostics()["devices"][IDENTIFIER]
    assert (device["decreases_refused"], device["bad_values"]) == (3, 0)


async def test_counter_floor_survives_unavailable_and_unknown(
    hass: HomeAssistant, use_test_source: Any
) -> None:
    """Unavailable → available and unknown (None) do not reset the floor."""
    coordinator = await _setup(hass)
    coordinator.async_mark_unavailable("test: connection lost")
    await hass.async_block_till_done()
    assert _state(hass, YIELD_TOTAL) == "unavailable"

    await _push(hass, coordinator, yield_total=11.58)  # back, with another device's total
    assert _state(hass, YIELD_TOTAL) == "82.72"
    await _push(hass, coordinator, yield_total=None)
    assert _state(hass, YIELD_TOTAL) == "unknown"
    await _push(hass, coordinator, yield_total=50.0)
    assert _state(hass, YIELD_TOTAL) == "82.72"
    assert coordinator.decreases_refused == 2


async def test_counter_floor_holds_with_a_rate_limited_write(
    hass: HomeAssistant, use_test_source: Any
) -> None:
    """With the default 5 s write interval a lower value pushed in between is refused too, and the
    deferred write shows the latest value that is not lower."""
    coordinator = await _setup(hass, write_interval=5)
    await _push(hass, coordinator, yield_total=83.0)
    await _push(hass, coordinator, yield_total=11.58)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6), fire_all=True)
    await hass.async_block_till_done()
    assert _state(hass, YIELD_TOTAL) == "82.72"  # 83.0 was never written: the floor is 82.72
    await _push(hass, coordinator, yield_total=83.0)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6), fire_all=True)
    await hass.async_block_till_done()
    assert _state(hass, YIELD_TOTAL) == "83.0"


async def test_daily_counter_may_reset(hass: HomeAssistant, use_test_source: Any) -> None:
    """A row marked monotonic=False (a daily yield) resets to 0 at the start of a day."""
    coordinator = await _setup(hass)
    await _push(hass, coordinator, yield_today=0.0)
    assert _state(hass, YIELD_TODAY) == "0.0"
    assert coordinator.decreases_refused == 0


def _restored(entity_id: str, value: float) -> tuple[State, dict[str, Any]]:
    return (
        State(entity_id, str(value), {"unit_of_measurement": "kWh"}),
        {"native_value": value, "native_unit_of_measurement": "kWh"},
    )


async def test_restart_never_writes_below_the_restored_state(
    hass: HomeAssistant, use_test_source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """After a restart the source reports less than the entity showed (JBD counters saved before a
    power cut): the restored state is the floor, and the entity shows it."""
    mock_restore_cache_with_extra_data(hass, [_restored(YIELD_TOTAL, 90.0)])
    coordinator = await _setup(hass)
    assert _state(hass, YIELD_TOTAL) == "90.0"
    assert coordinator.decreases_refused == 1
    assert len(_warnings_about(caplog, YIELD_TOTAL)) == 1
    await _push(hass, coordinator, yield_total=90.5)
    assert _state(hass, YIELD_TOTAL) == "90.5"


async def test_restart_takes_a_higher_value_from_the_source(
    hass: HomeAssistant, use_test_source: Any
) -> None:
    """A restored value lower than the source's is only a floor, not a value to show."""
    mock_restore_cache_with_extra_data(hass, [_restored(YIELD_TOTAL, 80.0)])
    coordinator = await _setup(hass)
    assert _state(hass, YIELD_TOTAL) == "82.72"
    assert coordinator.decreases_refused == 0


# --- item 2: no value of any type raises in an entity's write -------------------------------------


class _Opaque:
    """An object of no JSON type, whose repr says nothing."""


BAD_VALUES = {
    "inf": float("inf"),
    "-inf": float("-inf"),
    "nan": float("nan"),
    "huge int": 10**400,
    "int beyond str()": 10**5000,
    "text": "abc",
    "text of an overflowing number": "1e999",
    "list": [1],
    "dict": {"a": 1},
    "bytes": b"\x00\xff",
    "object": _Opaque(),
}

#: Rows that expect a number (or a position, or a bool): a bad value there is shown as unknown.
NUMBER_ROWS = {
    "voltage": VOLTAGE,
    "yield_total": YIELD_TOTAL,
    "fragile": FRAGILE,
    "alarm": ALARM,
    "position": POSITION,
}


@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
async def test_bad_value_is_unknown_and_never_raises(
    hass: HomeAssistant, use_test_source: Any, caplog: pytest.LogCaptureFixture, value: Any
) -> None:
    """Pushed after good values (the write at once) and present from the start (the first write
    when the entity is added): unknown, counted, nothing raised or logged as an error."""
    coordinator = await _setup(hass)
    await _push(hass, coordinator, **dict.fromkeys(NUMBER_ROWS, value))
    for entity_id in NUMBER_ROWS.values():
        assert _state(hass, entity_id) == "unknown", entity_id
    assert coordinator.bad_values == len(NUMBER_ROWS)
    assert _errors(caplog) == []

    assert coordinator.config_entry is not None
    await hass.config_entries.async_remove(coordinator.config_entry.entry_id)
    use_test_source({**GOOD, **dict.fromkeys(NUMBER_ROWS, value)})
    await _setup(hass)
    for entity_id in NUMBER_ROWS.values():
        assert _state(hass, entity_id) == "unknown", entity_id
    assert _errors(caplog) == []


async def test_overflowing_venus_number_in_a_deferred_write(
    hass: HomeAssistant, use_test_source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """`{"value":1e999}` from a GX arrived as inf inside the write interval: the deferred write
    ("Exception in callback VictronEntity._deferred_write()") shows unknown instead."""
    coordinator = await _setup(hass, write_interval=5)
    await _push(hass, coordinator, voltage=12.9)
    await _push(hass, coordinator, voltage=float("inf"))
    assert _state(hass, VOLTAGE) == "12.8"  # not yet: the write interval
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6), fire_all=True)
    await hass.async_block_till_done()
    assert _state(hass, VOLTAGE) == "unknown"
    assert coordinator.bad_values == 1
    assert _errors(caplog) == []


@pytest.mark.parametrize(
    ("entity_id", "changes"),
    [
        (MODE, {"mode": "sideways"}),  # not one of the enum's options
        (MODE, {"mode": ["on"]}),
        (TEXT, {"text": "x" * 300}),  # longer than a state may be
        (TEXT, {"text": {"nested": [1, 2]}}),
        (TEXT, {"text": float("nan")}),
        (STAMP, {"stamp": "2024-06-15T12:00:00"}),  # text, not a datetime
        (STAMP, {"stamp": dt_util.parse_datetime("2024-06-15T12:00:00")}),  # naive
        (FRAGILE, {"fragile": None}),  # value_fn raises TypeError
        (WITH_ATTRS, {"attrs": {"when": _Opaque()}}),  # attributes that are not JSON
        (WITH_ATTRS, {"attrs": [1, 2]}),  # attributes that are not a mapping
    ],
    ids=[
        "enum-unknown-option",
        "enum-list",
        "text-too-long",
        "text-dict",
        "text-nan",
        "timestamp-text",
        "timestamp-naive",
        "value_fn-raises",
        "attributes-not-json",
        "attributes-not-mapping",
    ],
)
async def test_bad_value_of_other_kinds(
    hass: HomeAssistant,
    use_test_source: Any,
    caplog: pytest.LogCaptureFixture,
    entity_id: str,
    changes: dict[str, Any],
) -> None:
    """Enum, text, timestamp rows and attributes: a value the row cannot show is unknown (or the
    attributes dropped), counted, and nothing is logged as an error."""
    coordinator = await _setup(hass)
    await _push(hass, coordinator, **changes)
    state = hass.states.get(entity_id)
    assert state is not None
    if entity_id == WITH_ATTRS:
        assert state.state == "1"
        assert "trip" not in state.attributes
        assert "when" not in state.attributes
    else:
        assert state.state == "unknown"
    assert coordinator.bad_values == 1
    assert _errors(caplog) == []


async def test_good_values_still_written(hass: HomeAssistant, use_test_source: Any) -> None:
    """The guard changes nothing for good values (numbers as text are numbers, as in HA)."""
    coordinator = await _setup(hass)
    assert _state(hass, VOLTAGE) == "12.8"
    assert _state(hass, MODE) == "on"
    assert _state(hass, TEXT) == "hello"
    assert _state(hass, STAMP) == "2024-06-15T12:00:00+00:00"
    assert _state(hass, FRAGILE) == "8"
    assert _state(hass, ALARM) == "off"
    assert hass.states.get(WITH_ATTRS).attributes["trip"] == 3  # type: ignore[union-attr]
    await _push(hass, coordinator, voltage="13.1", alarm=1, position=(-33.91, 18.41, 5.0))
    assert _state(hass, VOLTAGE) == "13.1"
    assert _state(hass, ALARM) == "on"
    tracker = hass.states.get(POSITION)
    assert tracker is not None
    assert tracker.attributes["latitude"] == -33.91
    assert coordinator.bad_values == 0


async def test_image_that_cannot_render_is_no_image(
    hass: HomeAssistant, use_test_source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An image row whose image_fn raises gives no image (None), logged once, never raised."""
    coordinator = await _setup(hass)
    image = hass.data["image"].get_entity(CURVE)
    assert await image.async_image() == b"<svg/>"
    await _push(hass, coordinator, svg=None, curve=float("nan"))
    assert await image.async_image() is None
    assert await image.async_image() is None
    assert len(_errors(caplog)) == 1  # the traceback of our own bug, once
    assert coordinator.bad_values == 1  # the NaN version


# --- item 3: a new key always gets its entity -----------------------------------------------------


async def test_new_key_gets_its_entity_when_the_dict_is_edited_in_place(
    hass: HomeAssistant, use_test_source: Any
) -> None:
    """Venus edits its service's dict in place: one path removed and one added leave the length
    equal; the new path's entity must still appear."""
    coordinator = await _setup(hass)
    assert hass.states.get(LATE) is None
    data = dict(coordinator.data)
    coordinator.async_push(data)
    del data["text"]
    data["late"] = 13.2
    coordinator.async_push(data)  # the same dict, the same length, a new key
    await hass.async_block_till_done()
    assert _state(hass, LATE) == "13.2"


# --- item 4: homeassistant.update_entity ----------------------------------------------------------


async def test_update_entity_service_is_harmless(
    hass: HomeAssistant, use_test_source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A push coordinator has nothing to fetch: the service leaves the state and availability
    as they are and raises nothing."""
    await async_setup_component(hass, "homeassistant", {})
    coordinator = await _setup(hass)
    before = hass.states.get(VOLTAGE)
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": [VOLTAGE, ALARM]}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(VOLTAGE) == before
    assert _state(hass, ALARM) == "off"
    assert coordinator.last_update_success is True
    assert _errors(caplog) == []


async def test_update_entity_shows_the_latest_pushed_value(
    hass: HomeAssistant, use_test_source: Any
) -> None:
    """Within the write interval the service writes the latest pushed value at once."""
    await async_setup_component(hass, "homeassistant", {})
    coordinator = await _setup(hass, write_interval=300)
    await _push(hass, coordinator, voltage=12.9)
    assert _state(hass, VOLTAGE) == "12.8"
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": VOLTAGE}, blocking=True
    )
    assert _state(hass, VOLTAGE) == "12.9"


# --- every source's rows get the guarantee --------------------------------------------------------

#: Counters that reset by design (a day's yield): every other total_increasing row never goes down.
RESETTING = {("vedirect", "H20"), ("venus", "History/Daily/0/Yield")}


def _all_sensor_rows() -> list[tuple[str, VictronSensorEntityDescription]]:
    rows: list[tuple[str, VictronSensorEntityDescription]] = []
    for entry_type in (EntryType.VEDIRECT, EntryType.JBD, EntryType.BANK, EntryType.LOGBOOK):
        rows += [
            (entry_type.value, row)  # type: ignore[misc]
            for row in source_class(entry_type).tables.get(Platform.SENSOR, ())
        ]
    for table in venus_rows.SENSORS.values():
        rows += [("venus", row) for row in table]
    return rows


def test_every_sources_total_increasing_rows_never_go_down() -> None:
    """Each total_increasing row of every source is a counter entity (floor, restore), except the
    daily counters, which reset."""
    rows = _all_sensor_rows()
    counters = [
        (source, row.key)
        for source, row in rows
        if row.state_class == SensorStateClass.TOTAL_INCREASING
    ]
    assert {source for source, _ in counters} == {"vedirect", "jbd", "bank", "logbook", "venus"}
    for source, row in rows:
        expected = (
            row.state_class == SensorStateClass.TOTAL_INCREASING
            and (source, row.key) not in RESETTING
        )
        assert is_monotonic(row) is expected, (source, row.key)
        cls = VictronCounterSensor if expected else VictronSensor
        assert issubclass(VictronSensor.class_for(row), cls), (source, row.key)
        assert issubclass(VictronSensor.class_for(row), VictronCounterSensor) is expected
    assert {(s, k) for s, k in counters} >= RESETTING
