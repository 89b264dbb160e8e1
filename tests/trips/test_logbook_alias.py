"""The rename logbook/ -> trips/: the old detector path stays importable for one release, and
logbook.py at the integration root is only Home Assistant's logbook platform."""

from __future__ import annotations

import importlib
import sys

from custom_components.victron_venus import logbook
from custom_components.victron_venus.trips import EVENT_TRIP_ENDED, EVENT_TRIP_STARTED, detector


def test_old_detector_path_is_the_trips_detector() -> None:
    """`from custom_components.victron_venus.logbook.detector import TripDetector` still works and
    gives the very same class (an alias of the module, not a copy)."""
    # an alias that logbook.py puts in sys.modules at run time: no file for mypy to find
    from custom_components.victron_venus.logbook.detector import (  # type: ignore[import-not-found]
        Sample,
        TripDetector,
    )

    assert TripDetector is detector.TripDetector
    assert Sample is detector.Sample
    assert sys.modules["custom_components.victron_venus.logbook.detector"] is detector
    assert importlib.import_module("custom_components.victron_venus.logbook.detector") is detector
    assert logbook.detector is detector


def test_logbook_platform_names_the_trip_events() -> None:
    """The platform describes exactly the two events the trips feature fires."""
    assert (logbook.EVENT_TRIP_STARTED, logbook.EVENT_TRIP_ENDED) == (
        "victron_venus_trip_started",
        "victron_venus_trip_ended",
    )
    assert (EVENT_TRIP_STARTED, EVENT_TRIP_ENDED) == (
        logbook.EVENT_TRIP_STARTED,
        logbook.EVENT_TRIP_ENDED,
    )
    assert not hasattr(logbook, "feed") and not hasattr(logbook, "store")
