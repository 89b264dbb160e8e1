"""The write policy (entity.py, issue 14 §1), with a real Home Assistant and its real recorder.

One test source has two devices fed the same values: "Truth" writes every change (detailed, write
interval 0), "Ours" follows the entry's recording option. Time is Home Assistant's test clock
(freezer), moved second by second, so every timer of the policy runs when it is due:

- a number is written when it has moved by its threshold (after the write interval), a large
  step, a discrete state, an alarm and availability at once;
- noise below the threshold is not written, until the maximum silence;
- a value that sits just under the threshold is written when its difference has lasted long
  enough (threshold x 60 s of area), so hourly means stay true;
- an energy counter is written before each 5-minute statistics period ends: its long-term
  statistics (state and sum of every period, compiled by the recorder) equal every-change's;
- a daily counter's reset keeps its last value;
- a position (a device_tracker) is written when it leaves its dead-reckoned course, every 30 s
  while it moves and at the maximum silence at anchor: the real plaka track stays within
  10 m of its written track with a fifth of the rows;
- the thresholds of the real description rows (the table in entity.py), lean's and detailed's;
- config entry 1.2 -> 1.3 stores the policy the write interval implied, and the options flow
  changes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
import itertools
import random
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import location
import homeassistant.util.dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)

import custom_components.victron_venus as integration
from custom_components.victron_venus.const import DOMAIN, EntryType, Recording
from custom_components.victron_venus.descriptions import (
    jbd as jbd_rows,
    vedirect as ve_rows,
    venus as venus_rows,
)
from custom_components.victron_venus.entity import (
    MOVING_SILENCE,
    DeviceCoordinator,
    VictronBinarySensorEntityDescription,
    VictronEntityDescription,
    VictronSensorEntityDescription,
    VictronTrackerEntityDescription,
    WritePolicy,
    write_policy,
)
from custom_components.victron_venus.sources import source_class
from custom_components.victron_venus.sources.base import Source
from custom_components.victron_venus.trips.settings import default_options
from custom_components.victron_venus.trips.trip import Sample

from .logbook_helpers import plaka

START = datetime.fromisoformat("2026-05-01T12:00:30+00:00")
"""The test clock's start: 30 s into a 5-minute statistics period."""

SENSORS: tuple[VictronSensorEntityDescription, ...] = (
    VictronSensorEntityDescription(
        key="voltage",
        name="Voltage",
        native_unit_of_measurement="V",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
    ),
    VictronSensorEntityDescription(
        key="mode", name="Mode", device_class=SensorDeviceClass.ENUM, options=["on", "off"],
        discrete=True,
    ),
    VictronSensorEntityDescription(
        key="yield_total",
        name="Yield total",
        native_unit_of_measurement="kWh",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=3,
    ),
    VictronSensorEntityDescription(
        key="lowest_cell", name="Lowest cell", write_settle=60  # as in descriptions/jbd.py
    ),
    VictronSensorEntityDescription(
        key="yield_today",
        name="Yield today",
        native_unit_of_measurement="kWh",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        monotonic=False,
    ),
)  # fmt: skip
BINARY_SENSORS: tuple[VictronBinarySensorEntityDescription, ...] = (
    VictronBinarySensorEntityDescription(key="alarm", name="Alarm", discrete=True),
)
TRACKERS: tuple[VictronTrackerEntityDescription, ...] = (
    VictronTrackerEntityDescription(key="position", name="Position"),
)
INITIAL: dict[str, Any] = {
    "voltage": 12.8,
    "mode": "on",
    "yield_total": 100.0,
    "yield_today": 4.1,
    "alarm": False,
    "lowest_cell": 4,
    "position": None,
}


class _Source(Source):
    """Two devices with the same data: Truth writes every change, Ours follows the entry."""

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR, Platform.DEVICE_TRACKER)
    tables: Mapping[Platform, Sequence[VictronEntityDescription]] = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
        Platform.DEVICE_TRACKER: TRACKERS,
    }

    async def async_start(self) -> None:
        """Create both devices and push the initial data."""
        for name, recording, interval in (
            ("Truth", Recording.DETAILED, 0.0),
            ("Ours", None, None),
        ):
            coordinator = DeviceCoordinator(
                self.hass,
                self.entry,
                identifier=name.upper(),
                device_info=DeviceInfo(identifiers={(DOMAIN, name.upper())}, name=name),
                write_interval=interval,
                recording=recording,
            )
            self.devices[name.upper()] = coordinator
            coordinator.async_push(dict(INITIAL))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder is resolved before `hass` (ha_testing.md §3.2), then the integration."""


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """Commit at once."""
    return {"commit_interval": 0}


@pytest.fixture(autouse=True)
def test_source(monkeypatch: pytest.MonkeyPatch, freezer: FrozenDateTimeFactory) -> None:
    """Entries are set up with `_Source`; the clock starts at START."""
    freezer.move_to(START)
    monkeypatch.setattr(integration, "source_class", lambda _entry_type: _Source)


class Writes:
    """The states written per entity id, in order (state_changed events)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.seen: dict[str, list[str]] = {}
        self.times: dict[str, list[datetime]] = {}
        #: (time, latitude, longitude) of each written position, per entity id.
        self.positions: dict[str, list[tuple[datetime, float, float]]] = {}
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._on)

    @callback
    def _on(self, event: Event[Any]) -> None:
        new = event.data["new_state"]
        if new is not None:
            entity_id = event.data["entity_id"]
            self.seen.setdefault(entity_id, []).append(new.state)
            self.times.setdefault(entity_id, []).append(dt_util.utcnow())
            if "latitude" in new.attributes:
                self.positions.setdefault(entity_id, []).append(
                    (dt_util.utcnow(), new.attributes["latitude"], new.attributes["longitude"])
                )

    def __call__(self, entity_id: str) -> list[str]:
        return self.seen.get(entity_id, [])

    def timed(self, entity_id: str) -> list[tuple[datetime, float]]:
        """(time, value) of each numeric write."""
        return [
            (at, float(value))
            for at, value in zip(self.times.get(entity_id, []), self(entity_id), strict=True)
        ]


def _written_mean(changes: list[tuple[datetime, float]], seconds: float) -> float:
    """The time-weighted mean of the written values over the last `seconds` (to now)."""
    end = dt_util.utcnow()
    begin = end - timedelta(seconds=seconds)
    area = 0.0
    for (at, value), (until, _next) in zip(changes, [*changes[1:], (end, 0.0)], strict=True):
        since = max(at, begin)
        if until > since:
            area += value * (until - since).total_seconds()
    return area / seconds


async def _setup(hass: HomeAssistant, **options: Any) -> tuple[MockConfigEntry, Writes]:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Test",
        unique_id="TEST",
        data={"entry_type": EntryType.VEDIRECT, "serial_port": "/dev/null"},
        options={"write_interval": 5, "recording": "balanced", **options},
        version=1,
        minor_version=3,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry, Writes(hass)  # the writes after the first


def _devices(entry: MockConfigEntry) -> list[DeviceCoordinator]:
    return list(entry.runtime_data.devices.values())


async def _push(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    for coordinator in _devices(entry):
        coordinator.async_push({**coordinator.data, **changes})
    await hass.async_block_till_done()


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 1) -> None:
    """Move the clock; every timer that is due runs."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


# --- numbers ------------------------------------------------------------------------------------


async def test_noise_below_the_threshold_waits_for_the_maximum_silence(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """12.79 / 12.81 V each second around the written 12.80 V (threshold 0.02 V; the difference
    averages out, so its area stays under 0.02 V x 60 s): nothing written for 15 minutes, then
    the current value once. Every change wrote 899 rows meanwhile."""
    entry, writes = await _setup(hass)
    for second in range(1, 900):
        await _tick(hass, freezer)
        await _push(hass, entry, voltage=12.81 if second % 2 else 12.79)
    assert writes("sensor.ours_voltage") == []
    assert len(writes("sensor.truth_voltage")) == 899
    await _tick(hass, freezer)  # 900 s after the last write
    assert writes("sensor.ours_voltage") == ["12.81"]


async def test_a_value_just_under_the_threshold_is_written_by_its_area(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """12.81 V pushed once (a GX publishes only changes) against the written 12.80 V: 0.01 V x
    120 s reaches the area limit (0.02 V x 60 s); written then, not before."""
    entry, writes = await _setup(hass)
    await _push(hass, entry, voltage=12.81)
    await _tick(hass, freezer, 119)
    assert writes("sensor.ours_voltage") == []
    await _tick(hass, freezer)
    assert writes("sensor.ours_voltage") == ["12.81"]


async def test_a_change_of_the_threshold_waits_for_the_write_interval(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """12.83 V (0.03 V from the written 12.80 V) one second after the last write: written when
    the 5 s write interval has passed, as the latest value then (12.84 V)."""
    entry, writes = await _setup(hass)
    await _tick(hass, freezer)
    await _push(hass, entry, voltage=12.83)
    await _tick(hass, freezer, 2)
    await _push(hass, entry, voltage=12.84)
    await _tick(hass, freezer, 1)
    assert writes("sensor.ours_voltage") == []
    await _tick(hass, freezer, 1)  # 5 s after the last write
    assert writes("sensor.ours_voltage") == ["12.84"]
    assert writes("sensor.truth_voltage") == ["12.83", "12.84"]


async def test_large_steps_discrete_states_alarms_and_availability_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Inside the write interval: a step of ten thresholds (12.80 -> 13.10 V), an enum state, an
    alarm and the loss of the device are written at once."""
    entry, writes = await _setup(hass)
    await _tick(hass, freezer)
    await _push(hass, entry, voltage=13.1, mode="off", alarm=True)
    assert writes("sensor.ours_voltage") == ["13.1"]
    assert writes("sensor.ours_mode") == ["off"]
    assert writes("binary_sensor.ours_alarm") == ["on"]
    for coordinator in _devices(entry):
        coordinator.async_mark_unavailable()
    await hass.async_block_till_done()
    assert _state(hass, "sensor.ours_voltage") == "unavailable"
    assert _state(hass, "sensor.ours_yield_total") == "unavailable"


async def test_a_value_that_flips_between_two_levels_keeps_its_mean(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """12.6 / 13.0 V each second (noise of 0.4 V, twenty times the 0.02 V threshold): the first
    swings are large steps, written; then the threshold follows the noise (2.5 x its running mean
    difference), so no swing is written for itself. Its area is carried over its writes, and
    its limit is at most 9 s of the 0.4 V range (3.6 V s): each write, a reading beyond the
    mean on the side the area needs, turns the area from one limit to the other (7.2 V s at
    0.2 V per s: 36 s), so the levels are written in turn and the written mean stays the true
    12.8 V (before, 12.6 V stayed written and the hour's mean was off by half the range). When
    the value holds still, its last value is written once it is on the side the area needs."""
    entry, writes = await _setup(hass)
    seconds = 900
    for second in range(seconds):
        await _tick(hass, freezer)
        await _push(hass, entry, voltage=12.6 if second % 2 else 13.0)
        if second == 59:
            early = len(writes("sensor.ours_voltage"))
    changes = writes.timed("sensor.ours_voltage")
    assert len(writes("sensor.truth_voltage")) == seconds
    assert 4 <= early <= 6  # the swings while the noise is learnt, then the first area writes
    later = [value for _at, value in changes[early:]]
    # each write turns the area from one limit to the other: 7.2 V s at 0.2 V per s, 36 s
    assert 840 / 72 <= len(later) <= 840 / 36 + 1
    assert all(a != b for a, b in itertools.pairwise(later))  # the levels in turn
    assert set(later) == {12.6, 13.0}
    # the written values' time-weighted mean over the last 840 s: the area at each end of the
    # window is within its limit (3.6 V s) and the reading it waited for (0.4 V s)
    assert _written_mean(changes, 840) == pytest.approx(12.8, abs=2 * (3.6 + 0.4) / 840)
    # the noise stops: 12.9 V once (a GX publishes only changes). Once the value has held still
    # for three reading intervals (about 3 s), the plain threshold applies again, but 13.0 V is
    # written and the area needs a value below the mean (about 12.8 V): 12.9 V waits until the
    # area, growing by 0.1 V s per second, reaches twice its limit (7.2 V s), then is written
    ours = writes("sensor.ours_voltage")
    assert ours[-1] == "13.0"
    count = len(ours)
    await _tick(hass, freezer)
    await _push(hass, entry, voltage=12.9)
    await _tick(hass, freezer, 3)
    assert len(ours) == count
    for _ in range(72):
        await _tick(hass, freezer)
    assert ours[count:] == ["12.9"]


async def test_a_level_that_flips_after_pauses_is_no_large_step(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A full battery's current (the GX recording's day model at 100 % SOC): 13.0 V for one
    second, then 12.6 V for one to five seconds, over and over. While 12.6 V holds, its noise
    part pauses (the plain 0.02 V threshold applies), but the next 13.0 V is no large step: a
    large step is large against the running noise. So the levels are written in turn by the
    carried area (its limit 9 s of the 0.4 V range), not at every flip, and the written mean
    over 15 minutes stays within the area's bounds of the true mean (before: 13.0 V written at
    each flip after a pause and 12.6 V three seconds later, the mean off by 0.07 V)."""
    entry, writes = await _setup(hass)
    readings: list[float] = []
    pause = 0
    while len(readings) < 960:
        readings += [13.0] + [12.6] * (pause % 5 + 1)
        pause += 1
    readings = readings[:960]
    for value in readings:
        await _tick(hass, freezer)
        await _push(hass, entry, voltage=value)
    window = readings[120:]  # the last 840 s, the noise learnt
    truth = sum(window) / len(window)
    changes = writes.timed("sensor.ours_voltage")
    begin = dt_util.utcnow() - timedelta(seconds=840)
    later = [at for at, _value in changes if at >= begin]
    assert len(later) <= 840 / 20  # not at every flip (240 flips in the window)
    # the area at each end of the window: within its limit (3.6 V s) and one reading (0.4 V s)
    assert _written_mean(changes, 840) == pytest.approx(truth, abs=2 * (3.6 + 0.4) / 840)
    assert len(writes("sensor.truth_voltage")) > 400


async def test_a_ramp_is_not_noise(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """+0.05 V every 10 s (a poll of a charging battery) for 30 minutes: the mean difference of
    successive readings becomes 0.05 V (learnt over the first 60 readings), but all of it is the
    ramp's, so the value is not noisy and carries no area over its writes. Once learnt, the
    ramp's steps raise the threshold to 2.5 x 0.05 V, but to at most 2 % of the range so far
    (RAMP_SPAN: a ramp's mean lags by half its step): a write every second reading until the
    range reaches 5 V, then every third, not one per reading (a ramp's area never turns, so
    carried over writes it would write every reading)."""
    entry, writes = await _setup(hass)
    voltage = 12.8
    for poll in range(180):
        await _tick(hass, freezer, 10)
        voltage = round(voltage + 0.05, 2)
        await _push(hass, entry, voltage=voltage)
        if poll == 59:
            learnt = len(writes("sensor.ours_voltage"))
    assert len(writes("sensor.truth_voltage")) == 180
    written = [float(v) for v in writes("sensor.ours_voltage")[learnt:]]
    steps = [round(b - a, 2) for a, b in itertools.pairwise(written)]
    # two readings a write while 2 % of the range (from 12.8 V) is under 0.1 V, then three
    switch = next(i for i, step in enumerate(steps) if step != 0.1)
    assert written[switch] == pytest.approx(12.8 + 0.1 / 0.02, abs=0.06)
    assert steps == [0.1] * switch + [0.15] * (len(steps) - switch)
    assert 120 / 3 < len(written) < 120 / 2


async def test_a_count_that_climbs_a_step_per_change_keeps_its_hourly_mean(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A value published on change only (a GX path), one displayed step (0.01 V) every 36 s, two
    hours: every reading is a step, so its noise is its step. Counted as noise, that step made
    the threshold 2.5 steps and the mean lag by a step and more (the GX day's consumed Ah, 1.09
    of the target); the ramp part is capped at 2 % of the range: the mean lags by half a step."""
    entry, writes = await _setup(hass)
    await _tick(hass, freezer, 3600 - time.time() % 3600)  # a statistics hour begins
    volts = 12.0
    for _ in range(200):
        await _tick(hass, freezer, 36)
        volts = round(volts + 0.01, 2)
        await _push(hass, entry, voltage=volts)
    ours = _written_mean(writes.timed("sensor.ours_voltage"), 3600)
    truth = _written_mean(writes.timed("sensor.truth_voltage"), 3600)
    # half a step (the target is 0.01 V: 1 % of the hour's 1 V, and one step); 0.0099 before
    assert abs(ours - truth) <= 0.0055


async def test_a_ramp_that_slows_down_keeps_its_hourly_mean(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A value polled every 10 s climbs 3 V in one hour, then 1.5 V in the next. The steps follow
    the range (1.5 % of it): the last hour's range fades out as the next hour passes, so the
    slower hour's steps shrink with it and its mean lags by no more than 1 % of its range
    (with the last hour's 3 V for the whole hour: 0.021 V, 1.4 %)."""
    entry, writes = await _setup(hass)
    await _tick(hass, freezer, 3600 - hass.loop.time() % 3600)  # the policy's hour begins
    for hour, (start, rise) in enumerate(((12.0, 3.0), (15.0, 1.5))):
        for poll in range(1, 361):
            await _tick(hass, freezer, 10)
            await _push(hass, entry, voltage=round(start + rise * poll / 360, 3))
        if hour == 0:
            begin = len(writes("sensor.ours_voltage"))
    ours = _written_mean(writes.timed("sensor.ours_voltage"), 3600)
    truth = _written_mean(writes.timed("sensor.truth_voltage"), 3600)
    assert len(writes("sensor.ours_voltage")) - begin < 360 / 4
    assert abs(ours - truth) <= 0.01 * 1.5


async def test_a_calm_hour_after_a_dawn_ramp_keeps_its_hourly_mean(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A solar charger's PV voltage, read every 2 s: 0 V, at 40 minutes a ramp to 36 V, then
    36 V with 0.05 V of noise, rising 0.4 V an hour. The next hour ranges over 0.63 V: its mean
    must stay within 0.01 V (one displayed step). The policy's hours are the wall clock's, as the
    statistics' are, whatever the loop's clock (it counts from boot; here 40 minutes off), and a
    noisy value's area limit follows this hour's range, not the last hour's 36 V. Before: the
    GX day's PV voltage at 07:00 was 0.011 V off; here 0.028 V, in 5 writes."""
    wall = hass.loop.time
    hass.loop.time = lambda: wall() + 2400.0  # type: ignore[method-assign]
    entry, writes = await _setup(hass)
    await _tick(hass, freezer, 3600 - time.time() % 3600)  # a statistics hour begins
    rng = random.Random(5)
    for t in range(2, 7201, 2):
        if t < 2400:
            volts = 0.0
        elif t < 3000:
            volts = 36 * t / 3000
        else:
            volts = 35.8 + 0.8 * t / 7200 + rng.gauss(0, 0.05)
        await _tick(hass, freezer, 2)
        await _push(hass, entry, voltage=round(volts, 2))
        if t == 3600:
            begin = len(writes("sensor.ours_voltage"))
    ours = _written_mean(writes.timed("sensor.ours_voltage"), 3600)
    truth = _written_mean(writes.timed("sensor.truth_voltage"), 3600)
    assert abs(ours - truth) <= 0.01
    assert len(writes("sensor.ours_voltage")) - begin < 100  # of 1,800 readings


async def test_a_value_that_flips_within_the_noise_is_written_once_it_holds(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Which cell is the lowest, polled every 10 s, flips between cell 4 and cell 2 for ten
    minutes: every change writes each flip, balanced none (its row settles for 60 s). Then cell 2
    holds: written 60 s after it became the lowest, not before."""
    entry, writes = await _setup(hass)
    for poll in range(60):
        await _tick(hass, freezer, 10)
        await _push(hass, entry, lowest_cell=2 if poll % 3 == 0 else 4)
    assert len(writes("sensor.truth_lowest_cell")) == 40
    assert writes("sensor.ours_lowest_cell") == []
    await _tick(hass, freezer, 10)
    await _push(hass, entry, lowest_cell=2)
    await _tick(hass, freezer, 59)
    assert writes("sensor.ours_lowest_cell") == []
    await _tick(hass, freezer, 1)
    assert writes("sensor.ours_lowest_cell") == ["2"]


# --- positions ----------------------------------------------------------------------------------

OURS_POSITION = "device_tracker.ours_position"
TRUTH_POSITION = "device_tracker.truth_position"


def _off_track(fix: Sample, track: list[tuple[datetime, float, float]]) -> float:
    """Metres from `fix` to the written track: the segment between the written positions
    before and after the fix's time (Home Assistant's own distance, along 100 points of it)."""
    after = next((i for i, (at, *_) in enumerate(track) if at > fix.time), len(track))
    a = track[max(after - 1, 0)]
    b = track[min(after, len(track) - 1)]
    assert fix.latitude is not None and fix.longitude is not None
    return min(
        location.distance(
            fix.latitude,
            fix.longitude,
            a[1] + (b[1] - a[1]) * k / 100,
            a[2] + (b[2] - a[2]) * k / 100,
        )
        or 0.0
        for k in range(101)
    )


async def test_a_sailing_boat_writes_its_turns_and_every_30_s(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The first hour under way of the real plaka track (a fix every 2 s): every change writes
    each fix; balanced writes where the boat leaves the course and speed of its last two written
    positions by 10 m, and every 30 s on a steady course (the Logbook sees it move). Every fix
    is within those 10 m of the written track (6.2 m at worst), with a fifth of the rows (338
    of 1,800)."""
    fixes = [s for s in plaka() if s.speed is not None and s.speed > 1.0][:1800]
    freezer.move_to(fixes[0].time - timedelta(seconds=10))
    entry, writes = await _setup(hass)
    previous = fixes[0].time - timedelta(seconds=10)
    for fix in fixes:
        await _tick(hass, freezer, (fix.time - previous).total_seconds())
        previous = fix.time
        await _push(hass, entry, position=(fix.latitude, fix.longitude, 10.0))
    truth, ours = writes.positions[TRUTH_POSITION], writes.positions[OURS_POSITION]
    assert len(truth) == len({(f.latitude, f.longitude) for f in fixes}) > 1700
    assert len(ours) < len(truth) / 5
    silences = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(ours)]
    assert max(silences) <= MOVING_SILENCE + 5 + 2  # the write interval, a fix's spacing
    assert max(_off_track(fix, ours) for fix in fixes if fix.time <= ours[-1][0]) < 10.0


async def test_a_logbook_on_the_written_track_sees_the_trip_of_every_fix(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Logbooks on plaka's first 20 minutes under way, one on every fix, one on balanced's
    written track (a position every 30 s and at each turn): at every minute from the 4th the
    open trip's average speed agrees within 2 % (5.67-5.72 kn against 5.71-5.76), its distance
    and time lag by at most the 30 s the track may lag. Before a trip's time ran to its latest
    fix, the written track's average was 6.6 kn at the 4th minute."""
    monkeypatch.setattr(
        integration,
        "source_class",
        lambda kind: source_class(kind) if kind == EntryType.LOGBOOK else _Source,
    )
    fixes = [s for s in plaka() if s.speed is not None and s.speed > 1.0][:600]
    freezer.move_to(fixes[0].time - timedelta(seconds=10))
    entry, _writes = await _setup(hass)
    logbooks = {}
    for tracker in (TRUTH_POSITION, OURS_POSITION):
        logbook = MockConfigEntry(
            domain=DOMAIN,
            title=tracker,
            unique_id=f"logbook_{tracker}",
            data={"entry_type": EntryType.LOGBOOK, "position": tracker},
            options={"write_interval": 0, **default_options()},
        )
        logbook.add_to_hass(hass)
        assert await hass.config_entries.async_setup(logbook.entry_id)
        logbooks[tracker] = logbook.runtime_data
    previous = fixes[0].time - timedelta(seconds=10)
    checked = 0
    for fix in fixes:
        await _tick(hass, freezer, (fix.time - previous).total_seconds())
        previous = fix.time
        await _push(hass, entry, position=(fix.latitude, fix.longitude, 10.0))
        minute = (fix.time - fixes[0].time).total_seconds() / 60
        if minute >= 4 and minute >= checked + 1:
            checked = int(minute)
            truth, ours = (logbooks[t].detector.trip for t in (TRUTH_POSITION, OURS_POSITION))
            assert truth is not None and ours is not None
            # the written track is up to 30 s behind the latest fix: so are its figures
            assert abs(ours.distance_m - truth.distance_m) < 100, checked
            assert abs(ours.duration_s - truth.duration_s) <= MOVING_SILENCE + 5, checked
            assert ours.avg_speed_kn == pytest.approx(truth.avg_speed_kn, rel=0.02), checked
    assert checked >= 19


async def test_a_boat_at_anchor_writes_its_position_at_the_maximum_silence(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A fix every 2 s, each up to 4 m from the anchor point (a GPS's jitter), for 31 minutes:
    every change writes each fix; balanced the first, then one at each 15 minutes of silence.
    The boat then leaves: its first fix 10 m from the written one is written at once (after the
    write interval), and the fix that goes missing at the write interval after that."""
    anchor = (60.15, 24.95)
    entry, writes = await _setup(hass)
    jitter = itertools.cycle([(0, 0), (3e-5, 0), (0, 6e-5), (-3e-5, 0), (0, -6e-5), (2e-5, 4e-5)])
    for _ in range(31 * 30):
        dlat, dlon = next(jitter)
        await _push(hass, entry, position=(anchor[0] + dlat, anchor[1] + dlon, 10.0))
        await _tick(hass, freezer, 2)
    assert len(writes.positions[TRUTH_POSITION]) == 31 * 30
    ours = writes.positions[OURS_POSITION]
    assert [round((at - ours[0][0]).total_seconds()) for at, *_ in ours] == [0, 900, 1800]
    await _tick(hass, freezer, 10)
    await _push(hass, entry, position=(anchor[0] + 1e-4, anchor[1], 10.0))  # 11 m north
    assert len(writes.positions[OURS_POSITION]) == 4
    await _tick(hass, freezer, 2)
    await _push(hass, entry, position=None)
    await _tick(hass, freezer, 2)
    assert len(writes(OURS_POSITION)) == 4
    await _tick(hass, freezer, 1)
    assert writes(OURS_POSITION)[-1] == "unknown"


async def test_detailed_writes_every_change(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The detailed policy with write interval 0 writes every change, as before 1.3."""
    entry, writes = await _setup(hass, recording="detailed", write_interval=0)
    for value in (12.81, 12.79, 12.81):
        await _tick(hass, freezer)
        await _push(hass, entry, voltage=value)
    assert writes("sensor.ours_voltage") == ["12.81", "12.79", "12.81"]


# --- counters -----------------------------------------------------------------------------------


async def test_counters_are_exact_at_every_statistics_period(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """1 Wh a second for three periods: Ours writes the counter only around each period's end (2 s
    before it, and every change in those 2 s), and the recorder's 5-minute statistics (state and
    sum of every period) are the same as every change's."""
    entry, writes = await _setup(hass)
    value = 100.0
    for _ in range(14 * 60 + 35):  # until 12:15:05
        await _tick(hass, freezer)
        value = round(value + 0.001, 3)
        await _push(hass, entry, yield_total=value)
    ours, truth = writes("sensor.ours_yield_total"), writes("sensor.truth_yield_total")
    assert len(truth) == 875
    # 2 s before each period ends, the latest value (pushed at 12:04:57), then every change
    # (12:04:58, 12:04:59); likewise before 12:10 and 12:15
    assert ours == [
        f"{100 + n / 1000:.3f}" for end in (270, 570, 870) for n in (end - 3, end - 2, end - 1)
    ]
    await async_wait_recording_done(hass)
    periods = [START.replace(second=0) + timedelta(minutes=5 * n) for n in range(3)]
    for start in periods:
        do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)
    stats = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        periods[0],
        periods[-1] + timedelta(minutes=5),
        {"sensor.ours_yield_total", "sensor.truth_yield_total"},
        "5minute",
        None,
        {"state", "sum"},
    )
    ours_stats = [
        (row["start"], row["state"], row["sum"]) for row in stats["sensor.ours_yield_total"]
    ]
    truth_stats = [
        (row["start"], row["state"], row["sum"]) for row in stats["sensor.truth_yield_total"]
    ]
    assert ours_stats == truth_stats
    assert [state for _, state, _ in truth_stats] == [100.269, 100.569, 100.869]


async def test_a_daily_counter_keeps_its_last_value_before_the_reset(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A day's yield rises (not written between period ends), then resets: its last value is
    written, then the reset, at once."""
    entry, writes = await _setup(hass)
    for value in (4.11, 4.12):
        await _tick(hass, freezer)
        await _push(hass, entry, yield_today=value)
    assert writes("sensor.ours_yield_today") == []
    await _tick(hass, freezer)
    await _push(hass, entry, yield_today=0.0)
    assert writes("sensor.ours_yield_today") == ["4.12", "0.0"]


# --- the thresholds of the real rows ------------------------------------------------------------


def _row(rows: Sequence[VictronEntityDescription], key: str) -> VictronEntityDescription:
    return next(row for row in rows if row.key == key)


@pytest.mark.parametrize(
    ("rows", "key", "value", "threshold"),
    [
        (ve_rows.SENSORS, "V", 12.8, 0.02),  # 2 steps of 0.01 V (0.1 % is less)
        (ve_rows.SENSORS, "I", 2.0, 0.05),  # 5 steps of 0.01 A
        (ve_rows.SENSORS, "I", 50.0, 0.5),  # 1 % of 50 A
        (ve_rows.SENSORS, "P", 100.0, 5.0),  # 5 W
        (ve_rows.SENSORS, "P", 2000.0, 20.0),  # 1 %
        (ve_rows.SENSORS, "SOC", 83.9, 0.1),  # one displayed step
        (ve_rows.SENSORS, "TTG", 1000.0, 10.0),  # 1 % of 1000 min (2 min below 200 min)
        (ve_rows.SENSORS, "T", 25.0, 0.2),  # no precision: a temperature's 0.1 °C, 2 steps
        (ve_rows.SENSORS, "CE", -65.0, 0.2),  # Ah: 2 steps of 0.1 Ah
        (jbd_rows.SENSORS, "cell_voltage_1", 3.3, 0.0033),  # 0.1 % of a cell (2 steps: 2 mV)
        (jbd_rows.SENSORS, "soc", 50.0, 1.0),  # 1 % as displayed
        (ve_rows.SENSORS, "H21", 300.0, 1.0),  # a day's maximum: every displayed step
        (venus_rows.SOLAR_SENSORS, "History/Daily/0/MaxPower", 300.0, 1.0),
    ],
)
def test_balanced_thresholds_of_real_rows(
    rows: Sequence[VictronEntityDescription], key: str, value: float, threshold: float
) -> None:
    """The table in entity.py's docstring, for the rows users have."""
    policy = write_policy(_row(rows, key), Recording.BALANCED)
    assert policy.threshold_at(value) == pytest.approx(threshold)
    assert (policy.heartbeat, policy.area, policy.counter) == (900.0, 60.0, False)
    lean = write_policy(_row(rows, key), Recording.LEAN)
    assert lean.threshold_at(value) == pytest.approx(5 * threshold)
    assert (lean.heartbeat, lean.area) == (3600.0, 300.0)
    assert write_policy(_row(rows, key), Recording.DETAILED) == WritePolicy()


def test_threshold_follows_noise_and_range() -> None:
    """The larger of the row's threshold, 2.5 x the noise and 1.5 % of the last hour's range."""
    policy = write_policy(_row(ve_rows.SENSORS, "V"), Recording.BALANCED)
    assert policy.threshold_at(12.8, noise=0.0, span=0.0) == pytest.approx(0.02)
    assert policy.threshold_at(12.8, noise=0.1, span=0.0) == pytest.approx(0.25)
    assert policy.threshold_at(12.8, noise=0.0, span=10.0) == pytest.approx(0.15)
    lean = write_policy(_row(ve_rows.SENSORS, "V"), Recording.LEAN)
    assert lean.threshold_at(12.8, noise=0.1, span=10.0) == pytest.approx(0.5)


def test_rows_written_on_every_change_and_counters() -> None:
    """Enum, text and count rows (no display step) write every change; energy counters and
    other sums are counters in every policy; a row may name its own threshold."""
    for key in ("CS", "AR", "HSDS"):
        assert write_policy(_row(ve_rows.SENSORS, key), Recording.LEAN).every_change, key
    for recording in Recording:
        policy = write_policy(_row(ve_rows.SENSORS, "H17"), recording)
        assert policy.counter
        assert policy.every_change is (recording is Recording.DETAILED)
    own = VictronSensorEntityDescription(
        key="x", native_unit_of_measurement="V", write_threshold=0.5, write_relative=0.0
    )
    assert write_policy(TRACKERS[0], Recording.DETAILED) == WritePolicy()
    assert write_policy(_row(SENSORS, "lowest_cell"), Recording.DETAILED) == WritePolicy()
    assert write_policy(_row(SENSORS, "lowest_cell"), Recording.BALANCED) == WritePolicy(
        settle=60.0
    )
    assert write_policy(_row(SENSORS, "lowest_cell"), Recording.LEAN) == WritePolicy(settle=300.0)
    for key in ("cell_min_index", "cell_max_index"):
        assert write_policy(_row(jbd_rows.SENSORS, key), Recording.BALANCED).settle == 60.0
    assert write_policy(TRACKERS[0], Recording.BALANCED) == WritePolicy(
        distance=10.0, heartbeat=900.0
    )
    assert write_policy(TRACKERS[0], Recording.LEAN) == WritePolicy(distance=50.0, heartbeat=3600.0)
    assert write_policy(own, Recording.BALANCED).threshold_at(100.0) == 0.5
    assert write_policy(own, Recording.LEAN).threshold_at(100.0) == 2.5


# --- the option: migration and options flow -------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "recording"),
    [
        ({"write_interval": 0}, "detailed"),  # every change was asked for: kept
        ({"write_interval": 5}, "balanced"),  # the old default: the new default
        ({"write_interval": 60}, "balanced"),
        ({}, "balanced"),
        ({"write_interval": 0, "recording": "lean"}, "lean"),  # already set: kept
    ],
)
async def test_migration_1_2_to_1_3_stores_the_policy(
    hass: HomeAssistant, options: dict[str, Any], recording: str
) -> None:
    """An entry of 1.2 gets the policy its write interval implied; the interval stays."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="old",
        data={"entry_type": EntryType.VEDIRECT, "serial_port": "/dev/null"},
        options=options,
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.version, entry.minor_version) == (1, 3)
    assert dict(entry.options) == {**options, "recording": recording}
    assert {c.recording for c in _devices(entry)} == {Recording.DETAILED, Recording(recording)}


async def test_options_flow_sets_the_policy(hass: HomeAssistant) -> None:
    """The options show the entry's policy; lean is saved, the entry reloads, and the entity's
    thresholds are lean's."""
    entry, _writes = await _setup(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    defaults = {str(k): k.default() for k in result["data_schema"].schema}  # type: ignore[union-attr]
    # the VE.Direct entry's own option (Control, off) beside the policy and the interval
    assert defaults == {"recording": "balanced", "write_interval": 5, "control": False}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recording": "lean", "write_interval": 5, "control": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.options == {"recording": "lean", "write_interval": 5, "control": False}
    ours = entry.runtime_data.devices["OURS"]
    assert ours.recording is Recording.LEAN
    entity = hass.data["entity_components"]["sensor"].get_entity("sensor.ours_voltage")
    assert entity.write_policy.threshold_at(12.8) == pytest.approx(0.1)
