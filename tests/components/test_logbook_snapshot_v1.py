"""A Logbook whose saved state holds a version 1 detector snapshot (written before the detector's
state became dataclasses) resumes from it: the paused trip, its stop at anchor, the rest point and
the sample counts come back, and nothing is reported unreadable. (The detector going on from such a
snapshot exactly as an uninterrupted one: tests/trips/test_detector_state.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.victron_venus.sources.logbook import LogbookSource
from custom_components.victron_venus.trips.store import store_key
from tests.components.logbook_helpers import logbook_entry, setup_logbook, state
from tests.trips.test_detector_state import SNAPSHOT_V1


async def test_a_version_1_snapshot_on_disk_resumes_the_paused_trip(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = json.loads(SNAPSHOT_V1.read_text())
    assert old["version"] == 1 and old["stop"]["anchored"] is True
    entry = logbook_entry()
    hass_storage[store_key(entry.entry_id, "state")] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(entry.entry_id, "state"),
        "data": {"detector": old, "totals": {"distance_nm": 3.25}},
    }
    last_fix = datetime.fromtimestamp(old["state"]["_t"], UTC)
    freezer.move_to(last_fix + timedelta(seconds=30))

    await setup_logbook(hass, entry)

    assert "unreadable" not in caplog.text
    source = entry.runtime_data
    assert isinstance(source, LogbookSource)
    detector = source.detector
    assert detector.state == "stopped"
    trip = detector.trip
    assert trip is not None and trip.id == old["trip"]["id"] == "20240701T064140Z"
    assert trip.distance_m == old["trip"]["distance_m"]
    assert detector.rest_position == (old["state"]["_rlat"], old["state"]["_rlon"])
    assert detector.stats == {"accepted": 697, "bad_fix": 1, "bad_time": 1, "jump": 1}
    assert state(hass, entry, "navigation_state") == "anchored"
    assert float(state(hass, entry, "total_distance")) == 3.25
