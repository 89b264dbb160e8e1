"""VenusSession's side of control (issue 10), sans-I/O on the boat recording.

Values that confirm a write (its own, a float32 echo, the select's other states), a GX that
answers another value, and the min/max a settings item is published with (dbus-flashmq README:
``{"max":1,"min":0,"value":1}``).
"""

from __future__ import annotations

from custom_components.victron_venus.protocol.venus import (
    DATA_CHANGED,
    WriteConfirmed,
    WriteTimedOut,
)
from tests.protocol.test_venus_session import HEARTBEAT, PORTAL, _connected_and_published

ESS = "settings/0/Settings/CGwacs/BatteryLife/State"
SOC = "Settings/CGwacs/BatteryLife/MinimumSocLimit"


def test_one_of_the_accepted_values_confirms_a_write() -> None:
    """ESS mode 'optimized with BatteryLife' is written as state 1; the GX goes on to state 2 (or
    any of 1-8) at once: each of them confirms the write."""
    session, _ = _connected_and_published()
    session.take_changed()
    session.write(ESS, 1, now=10.0, accept=frozenset(range(1, 9)))
    events = session.receive(f"N/{PORTAL}/{ESS}", b'{"value":2}', 10.3)
    assert [type(e) for e in events] == [WriteConfirmed, type(DATA_CHANGED)]
    (confirmed,) = [e for e in events if isinstance(e, WriteConfirmed)]
    assert confirmed.write.accept == frozenset(range(1, 9))
    assert session.pending_writes == []


def test_a_value_outside_the_accepted_ones_does_not_confirm() -> None:
    session, _ = _connected_and_published()
    session.take_changed()
    session.write(ESS, 9, now=10.0, accept=frozenset({9}))
    assert list(session.receive(f"N/{PORTAL}/{ESS}", b'{"value":10}', 10.3)) == [DATA_CHANGED]
    assert len(session.pending_writes) == 1


def test_an_integer_write_is_confirmed_by_the_same_number_as_a_float() -> None:
    session, _ = _connected_and_published()
    session.take_changed()
    session.write(f"settings/0/{SOC}", 80, now=10.0)
    events = session.receive(f"N/{PORTAL}/settings/0/{SOC}", b'{"value":80.0}', 10.1)
    assert [type(e) for e in events] == [WriteConfirmed, type(DATA_CHANGED)]


def test_a_gx_that_answers_another_value_times_out_as_answered() -> None:
    """The GX publishes the path after the write with its own value: at the deadline the write
    times out with answered=True (refused); a write the GX never mentions has answered=False."""
    session, _ = _connected_and_published()
    session.take_changed()
    session.write("vebus/274/Mode", 1, now=10.0)
    session.write("solarcharger/288/Mode", 4, now=10.0)
    session.receive(f"N/{PORTAL}/vebus/274/Mode", b'{"value":3}', 10.5)
    session.receive(HEARTBEAT, b'{"value":1}', 14.0)
    session.tick(15.0)
    timed_out = {e.write.key[0]: e for e in session.events() if isinstance(e, WriteTimedOut)}
    assert (timed_out["vebus"].answered, timed_out["vebus"].reported) == (True, 3)
    assert (timed_out["solarcharger"].answered, timed_out["solarcharger"].reported) == (False, 1)
    assert session.pending_writes == []


def test_settings_items_keep_the_min_and_max_they_are_published_with() -> None:
    """A settings item's payload carries its limits; they are kept per path, replaced by the
    next report, and forgotten with the path."""
    session, _ = _connected_and_published()
    topic = f"N/{PORTAL}/settings/0/{SOC}"
    session.receive(topic, b'{"max":100,"min":0,"value":10}', 20.0)
    settings = session.services[("settings", 0)]
    assert settings.limits[SOC] == (0, 100)
    assert settings.data[SOC] == 10
    session.receive(topic, b'{"max":95,"min":5,"value":10}', 21.0)
    assert settings.limits[SOC] == (5, 95)
    session.receive(topic, b"", 22.0)
    assert SOC not in settings.limits
    # items published without limits have none
    assert "Settings/CGwacs/Hub4Mode" not in settings.limits
