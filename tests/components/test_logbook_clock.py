"""Home Assistant's clock steps back in the middle of a trip (issue 8).

A boat's Home Assistant often boots without network and sets its clock from NTP later: the wall
clock then steps back (a fake-hwclock or RTC that ran ahead) while the GPS keeps sending fixes.
State changes carry `last_updated` from that wall clock, so after the step every fix is older than
the last sample the logbook fed. The feed used to squeeze them 1 ms apart, the detector rejected
them as jumps of thousands of knots, and the distance of the steps' minutes was lost (plaka: 1, 5
and 30 min cost 0.10, 0.42 and 1.76 nm of the trip). Now the feed keeps its own clock running on:
after a backwards step it adds the step to Home Assistant's times, so the intervals between fixes
are the real ones, and nothing is dropped.

The simulation is Home Assistant's: each fix of the real plaka.nmea track (a fix every 2 s, the
speed over ground first, then the tracker) is applied with `last_updated` from the wall clock and
flushed; the 30 s tick runs on the event loop's monotonic clock, so it keeps its pace across the
step and reads the (stepped) wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json

from homeassistant.core import State
import pytest

from custom_components.victron_venus.trips.detector import KNOT, Sample, Trip, TripDetector
from custom_components.victron_venus.trips.feed import TICK_S, LogbookFeed
from custom_components.victron_venus.trips.settings import LogbookSettings
from tests.shared import fixture_path
from tests.trips.nmea import load_nmea

TRACKER = "device_tracker.gps"
SOG = "sensor.sog"
STEP_AT = 1500
"""The clock steps at the 1500th fix: 10:45:57, 50 min into the trip, at 5.6 kn."""


@pytest.fixture(scope="module")
def plaka() -> list[Sample]:
    return load_nmea(fixture_path("gps", "plaka.nmea"))


def _state(entity_id: str, value: str, when: datetime, **attributes: object) -> State:
    return State(entity_id, value, attributes, last_changed=when, last_updated=when)


def live(
    samples: list[Sample], step: timedelta, feed: LogbookFeed | None = None
) -> tuple[LogbookFeed, list[Trip]]:
    """Run `samples` through a feed as Home Assistant would, the wall clock stepping back by
    `step` at fix STEP_AT. Returns the feed and the trips (`finish()`)."""
    if feed is None:
        settings = LogbookSettings(position=TRACKER, speed=SOG)
        feed = LogbookFeed(settings, TripDetector(settings.config))
    start = samples[0].time
    ticks = 1
    for i, sample in enumerate(samples):
        real = sample.time
        while start + timedelta(seconds=ticks * TICK_S) <= real:  # monotonic timer
            tick_real = start + timedelta(seconds=ticks * TICK_S)
            feed.tick(tick_real - (step if i >= STEP_AT else timedelta(0)))
            ticks += 1
        wall = real - (step if i >= STEP_AT else timedelta(0))
        assert sample.speed is not None
        feed.apply(SOG, _state(SOG, f"{sample.speed / KNOT:.2f}", wall, unit_of_measurement="kn"))
        position = {"latitude": sample.latitude, "longitude": sample.longitude}
        feed.apply(TRACKER, _state(TRACKER, "not_home", wall, **position))
        feed.flush(wall)
    return feed, feed.detector.finish()


@pytest.fixture(scope="module")
def reference(plaka: list[Sample]) -> tuple[LogbookFeed, Trip]:
    """No step: 6613 samples (fixes that repeat the last position make none), one trip."""
    feed, (trip,) = live(plaka, timedelta(0))
    assert feed.detector.stats == {"accepted": 6613, "bad_fix": 0, "bad_time": 0, "jump": 0}
    assert trip.distance_nm == pytest.approx(18.74, abs=0.01)
    assert len(trip.stops) == 1
    return feed, trip


@pytest.mark.parametrize("minutes", [1, 5, 30])
def test_a_backwards_clock_step_mid_trip_loses_no_distance(
    plaka: list[Sample], reference: tuple[LogbookFeed, Trip], minutes: int
) -> None:
    """The same trip with the clock stepping back 1, 5 or 30 min at 10:45:57.

    Tolerance 0.005 nm (9 m): the feed cannot know how long the GPS was silent across the step,
    so it assumes the spacing of the last samples (2 s here, which happens to be exact: the
    result is then the reference's to the last bit); with another real spacing, the fixes after
    the step shift by the difference, which can move one 10 s bucket boundary and with it a leg
    of at most 7 kn x 2 s = 7 m at the trip's edges. Every fix is accepted: no jumps, no
    repeated times."""
    ref_feed, ref = reference
    feed, (trip,) = live(plaka, timedelta(minutes=minutes))
    assert feed.detector.stats == ref_feed.detector.stats  # every fix accepted, no jump
    assert feed.clock_steps == 1
    assert trip.distance_nm == pytest.approx(ref.distance_nm, abs=0.005)
    assert trip.log_nm == pytest.approx(ref.log_nm, abs=0.005)
    assert trip.start == ref.start  # before the step: untouched
    # after the step, the trip's times run on from before it (the step is not a gap)
    (stop,) = trip.stops
    (ref_stop,) = ref.stops
    assert stop.start == ref_stop.start and stop.end == ref_stop.end
    assert trip.underway_s == pytest.approx(ref.underway_s, abs=2)
    assert feed.clock_offset == timedelta(minutes=minutes)


def test_the_clock_offset_survives_a_restart(plaka: list[Sample]) -> None:
    """Home Assistant restarts 500 fixes after the step and is down for 2 minutes. The feed's
    clock is saved with the detector state (`to_dict`/`restore`), so the fixes after the restart
    are neither taken for another backwards step nor squeezed: the 2 minutes (300 m at 5 kn)
    count, and the distance is the one without step and restart (tolerance as above)."""
    step = timedelta(minutes=5)
    split = STEP_AT + 500
    down = 60  # fixes (2 min) while Home Assistant restarts
    _, (reference,) = live(plaka[:split] + plaka[split + down :], timedelta(0))
    settings = LogbookSettings(position=TRACKER, speed=SOG)
    first, _ = live(plaka[:split], step)
    assert first.clock_offset == step
    saved = json.loads(json.dumps(first.to_dict()))
    detector = TripDetector.restore(json.loads(json.dumps(first.detector.snapshot())))
    second = LogbookFeed(settings, detector)
    second.restore(saved)
    assert second.clock_offset == step
    for sample in plaka[split + down :]:  # every fix is past the step already
        wall = sample.time - step
        assert sample.speed is not None
        second.apply(SOG, _state(SOG, f"{sample.speed / KNOT:.2f}", wall, unit_of_measurement="kn"))
        position = {"latitude": sample.latitude, "longitude": sample.longitude}
        second.apply(TRACKER, _state(TRACKER, "not_home", wall, **position))
        second.flush(wall)
    (trip,) = second.detector.finish()
    assert second.detector.stats["jump"] == 0
    assert trip.distance_nm == pytest.approx(reference.distance_nm, abs=0.005)


def test_small_reorders_do_not_shift_the_clock() -> None:
    """Two changes stamped the same instant, or a few ms apart in the wrong order, are spaced by
    1 ms as before: no offset."""
    settings = LogbookSettings(position=TRACKER, speed=SOG)
    feed = LogbookFeed(settings, TripDetector(settings.config))
    t0 = datetime.fromisoformat("2024-06-15T08:00:00+00:00")
    for k, when in enumerate((t0, t0, t0 - timedelta(milliseconds=300), t0 + timedelta(seconds=2))):
        gps = _state(TRACKER, "x", when, latitude=60.0 + k * 1e-5, longitude=24.0)
        feed.apply(TRACKER, gps)
        feed.flush(when)
    assert feed.clock_offset == timedelta(0)
    assert feed.last_fed == t0 + timedelta(seconds=2)
