"""The automatic boat logbook ("trips"): trip detection, efficiency curve and GPX/CSV export.

`detector` and `efficiency` are pure (standard library only, no I/O, no Home Assistant); `export`
builds GPX and CSV text; `settings`, `records` and `svg` are pure too. The Home Assistant glue lives
in `feed`, `replay` and `store` here, and in sources/logbook.py.

Home Assistant's logbook platform, which describes the events below, is logbook.py at the
integration root; it is not part of this package. Importing this package has no side effects.
"""

from __future__ import annotations

from typing import Final

EVENT_TRIP_STARTED: Final = "victron_venus_trip_started"
"""Fired on Home Assistant's bus when a trip is announced (`TripStarted`)."""
EVENT_TRIP_ENDED: Final = "victron_venus_trip_ended"
"""Fired on Home Assistant's bus when a trip ends (`TripEnded`)."""
