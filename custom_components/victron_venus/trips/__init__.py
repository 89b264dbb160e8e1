"""The automatic boat logbook ("trips"): trip detection, efficiency curve and GPX/CSV export.

Pure (standard library only, no I/O, no Home Assistant): `detector` (the state machine, on top of
`sampling`, which turns samples into buckets), `trip` (the records: samples, trips, stops, track
points, events, and their JSON form) and `efficiency`; `settings`, `records` and `svg` are pure
too, and `export` builds GPX and CSV text. The Home Assistant glue lives in `feed`, `replay` and
`store` here, and in sources/logbook.py.

Home Assistant's logbook platform, which describes the events below, is logbook.py at the
integration root; it is not part of this package. Importing this package has no side effects.
"""

from __future__ import annotations

from typing import Final

EVENT_TRIP_STARTED: Final = "victron_venus_trip_started"
"""Fired on Home Assistant's bus when a trip is announced (`TripStarted`)."""
EVENT_TRIP_ENDED: Final = "victron_venus_trip_ended"
"""Fired on Home Assistant's bus when a trip ends (`TripEnded`)."""
