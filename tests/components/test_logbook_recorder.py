"""The logbook with Home Assistant's real recorder (in-memory SQLite): rebuilding a day from
recorded history gives the trips live detection found (idempotently), the CSV export reads the
recorded samples, and Home Assistant's logbook shows the trip events on the logbook's device."""

from __future__ import annotations

from collections.abc import Iterator
import csv
from datetime import datetime, timedelta
import io
from itertools import pairwise
import logging
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import gpxpy
from homeassistant.components.logbook.helpers import async_determine_event_types
from homeassistant.components.logbook.processor import EventProcessor
from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.trips.detector import KNOT, Sample
from custom_components.victron_venus.trips.export import CSV_COLUMNS
from tests.components.logbook_helpers import (
    SOC,
    SPEED,
    TITLE,
    WIND,
    drive,
    let_time_pass,
    logbook_entry,
    setup_logbook,
)
from tests.components.test_logbook import _call, reference

DAY = {"start": "2024-06-15T00:00:00+00:00", "end": "2024-06-16T00:00:00+00:00"}


@pytest.fixture
def recorder_config() -> Iterator[dict[str, Any]]:
    """Record the inputs, not the logbook's own entities (they change with every sample and
    would only slow the test down). phcc logs every SQL statement at INFO; SQLAlchemy decides
    that when the recorder's connection opens, so it is quietened here, before the recorder
    starts (three times faster)."""
    engine_logger = logging.getLogger("sqlalchemy.engine")
    level = engine_logger.level
    engine_logger.setLevel(logging.WARNING)
    # not the navigation state: the trip events name it (the recorder drops events naming an
    # excluded entity)
    yield {
        "exclude": {
            "entity_globs": [
                "sensor.aurora_trip_*", "sensor.aurora_total_*", "sensor.aurora_last_trip",
                "sensor.aurora_log", "sensor.aurora_time_under_way", "sensor.aurora_engine_hours",
                "sensor.aurora_propulsion_energy", "binary_sensor.aurora_*",
            ]
        }
    }  # fmt: skip
    engine_logger.setLevel(level)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder is resolved before `hass` (ha_testing.md §3.2), then the integration."""


def _same_trip(a: dict[str, Any], b: dict[str, Any]) -> None:
    """The rebuild replays the recorded states through the same feed and detector as the live
    run: the same trip, to the second and the metre (its summary whole, conditions included)."""
    assert a == b


async def test_rebuild_from_the_recorder_gives_the_live_trips(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
) -> None:
    samples, ref = reference()
    hass.config.media_dirs = {"local": str(tmp_path)}
    freezer.move_to(samples[0].time - timedelta(minutes=1))
    hass.states.async_set(WIND, "12.5", {"unit_of_measurement": "kn"})
    hass.states.async_set(SOC, "87.5", {"unit_of_measurement": "%"})
    entry = await setup_logbook(hass, logbook_entry(data={"soc": SOC}))
    last = await drive(hass, freezer, samples)
    assert last is not None
    freezer.tick(timedelta(seconds=2))
    hass.states.async_set(SPEED, "0.00", {"unit_of_measurement": "kn"})
    await hass.async_block_till_done()
    done = await let_time_pass(hass, freezer, last, 35)
    await async_wait_recording_done(hass)

    live = (await _call(hass, "get_trips"))["trips"]
    assert len(live) == 1 and live[0]["id"] == ref.id
    rebuilt = await _call(hass, "rebuild_trips", **DAY)
    assert (rebuilt["removed"], rebuilt["added"]) == (1, 1)
    # a sample per change of position (6,598 in the recording), and at rest, where the position
    # goes stale, one per value change and 30 s tick (the stop, and the 35 min after arrival)
    moved = 1 + sum(
        (a.latitude, a.longitude) != (b.latitude, b.longitude) for a, b in pairwise(samples)
    )
    assert (moved, rebuilt["samples"]) == (6598, 6680)
    (trip,) = rebuilt["trips"]
    _same_trip(trip, live[0])
    assert trip["conditions"]["start"] == {WIND: {"state": "12.5", "unit": "kn"}}
    # idempotent: again, the same trips and still one in the index
    again = await _call(hass, "rebuild_trips", **DAY)
    assert again["trips"] == rebuilt["trips"]
    listed = await _call(hass, "get_trips")
    assert listed["count"] == 1
    _same_trip(listed["trips"][0], live[0])
    # a range with no trips removes nothing
    empty = await _call(
        hass, "rebuild_trips", start="2024-06-14T00:00:00+00:00", end="2024-06-15T00:00:00+00:00"
    )
    assert (empty["removed"], empty["added"]) == (0, 0)
    # the rebuilt trip's track file is whole: its GPX parses back
    gpx = await _call(hass, "export_trips", trip_id=ref.id)
    parsed = gpxpy.parse(Path(gpx["path"]).read_text())
    assert parsed.tracks[0].length_2d() / 1852 == pytest.approx(trip["distance_nm"], rel=0.02)

    # CSV of the trip, from the recorded samples
    exported = await _call(hass, "export_trips", trip_id=ref.id, format="csv", include_content=True)
    assert Path(exported["path"]).read_bytes().decode() == exported["content"]
    rows = list(csv.reader(io.StringIO(exported["content"])))
    assert tuple(rows[0]) == CSV_COLUMNS  # no power sensor: no power columns
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    # a row per moment a recorded input changed: the position, or the speed as its state shows
    # it (knots, 2 decimals)
    def recorded(s: Sample) -> tuple[Any, ...]:
        return (s.latitude, s.longitude, f"{(s.speed or 0.0) / KNOT:.2f}")

    changed = 1 + sum(recorded(a) != recorded(b) for a, b in pairwise(samples))
    assert len(body) == exported["items"] == changed
    start = dt_util.parse_datetime(trip["start"])
    end = dt_util.parse_datetime(trip["end"])
    assert start is not None and end is not None
    times = [datetime.fromisoformat(r["timestamp"]) for r in body]
    assert times == sorted(times) and times[0] >= start and times[-1] <= end
    assert {r["soc"] for r in body} == {"87.5"}
    assert {r["current"] for r in body} == {""} and {r["voltage"] for r in body} == {""}
    assert float(body[0]["gps_lat"]) == pytest.approx(ref.start_latitude, abs=1e-9)
    by_time = {s.time: s for s in samples}
    checked = 0
    for row, when in zip(body, times, strict=True):
        sample = by_time.get(when)
        if sample is not None and sample.speed is not None:
            assert float(row["gps_speed"]) == pytest.approx(sample.speed, abs=0.006 * KNOT)
            assert float(row["gps_lon"]) == pytest.approx(sample.longitude, abs=1e-9)
            checked += 1
    assert checked == len(body)  # every row is one of the recording's samples
    # a day as CSV, with an extra power column
    hass.states.async_set("sensor.fridge_power", "45", {"unit_of_measurement": "W"})
    await async_wait_recording_done(hass)
    day = await _call(
        hass, "export_trips", format="csv", power_entities=["sensor.fridge_power"], **DAY
    )
    header = Path(day["path"]).read_text().splitlines()[0]
    assert header == ",".join((*CSV_COLUMNS, "sensor.fridge_power"))

    # Home Assistant's logbook lists both events on the logbook's device, in plain English
    assert await async_setup_component(hass, "logbook", {})
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"logbook_{entry.entry_id}"), entry.entry_id
    )
    assert device is not None
    processor = EventProcessor(
        hass, async_determine_event_types(hass, None, [device.id]), device_ids=[device.id]
    )
    entries = await get_instance(hass).async_add_executor_job(
        processor.get_events, samples[0].time - timedelta(hours=1), done + timedelta(hours=1)
    )
    messages = [(e["name"], e["message"]) for e in entries if e.get("domain") == DOMAIN]
    assert messages[0] == (TITLE, "started a trip")
    assert messages[1][0] == TITLE
    assert messages[1][1].startswith(f"ended a trip: {trip['distance_nm']:.2f} nm in 4.")
    assert "1 stop" in messages[1][1]
    # ... and in the Activity panel filtered to the device, which asks for the device's entities
    # (issue 12): the events carry the logbook's navigation state entity
    navigation = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"logbook_{entry.entry_id}_navigation_state"
    )
    assert navigation is not None
    processor = EventProcessor(
        hass, async_determine_event_types(hass, [navigation], None), entity_ids=[navigation]
    )
    entries = await get_instance(hass).async_add_executor_job(
        processor.get_events, samples[0].time - timedelta(hours=1), done + timedelta(hours=1)
    )
    by_entity = [(e["name"], e["message"]) for e in entries if e.get("domain") == DOMAIN]
    assert by_entity == messages[:2]
    assert {e.get("entity_id") for e in entries if e.get("domain") == DOMAIN} == {navigation}
