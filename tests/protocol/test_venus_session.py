"""protocol.venus.VenusSession, sans-I/O, fed the real boat GX recording (portal c0619ab4e25c).

No broker and no clock: every message and every tick carries its own time. Expectations come
from the raw recording text (topics split by hand, payloads read with json) and from
protocols.md §3.4 (keep-alive every 30 s of a 60 s keep-alive, echoed full_publish_completed)
and §3.5 (``W/<id>/<type>/<inst>/<path>`` ``{"value": X}``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.victron_venus.protocol.venus import (
    DATA_CHANGED,
    FullPublishCompleted,
    GxBack,
    GxLost,
    GxRestarted,
    LimitCleared,
    LimitReached,
    PendingWrite,
    ServiceAppeared,
    ServiceRemoved,
    ServiceSettled,
    VenusSession,
    WriteConfirmed,
    WriteTimedOut,
)
from custom_components.victron_venus.protocol.venus_services import ServiceStore
from tests.shared import fixture_path

PORTAL = "c0619ab4e25c"
TSV = fixture_path("venus_mqtt", "dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv")
INCLUDED = frozenset({"system", "battery", "solarcharger", "tank", "gps", "temperature"})
KEEPALIVE_TOPIC = f"R/{PORTAL}/keepalive"
SUPPRESS = b'{"keepalive-options":["suppress-republish"]}'
COMPLETED = f"N/{PORTAL}/full_publish_completed"
HEARTBEAT = f"N/{PORTAL}/heartbeat"


def _rows() -> list[tuple[str, bytes]]:
    rows = []
    for line in TSV.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            topic, payload = line.split("\t")
            rows.append((topic, payload.encode()))
    return rows


ROWS = _rows()
COMPLETION = next(n for n, (topic, _) in enumerate(ROWS) if topic == COMPLETED)


def _key(topic: str) -> tuple[str, int | str]:
    """(service type, instance) of a value topic, split by hand."""
    _, _, service_type, instance, _ = topic.split("/", 4)
    return service_type, int(instance) if instance.isdigit() else instance


def _value_rows(rows: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(t, p) for t, p in rows if t.count("/") >= 4]


def _request(token: str) -> tuple[str, bytes]:
    options = json.dumps({"keepalive-options": [{"full-publish-completed-echo": token}]})
    return KEEPALIVE_TOPIC, options.replace(" ", "").encode()


def _session(**kwargs: Any) -> VenusSession[str]:
    return VenusSession(PORTAL, included=INCLUDED, token_prefix="ha", **kwargs)


def _feed(
    session: VenusSession[str], rows: list[tuple[str, bytes]], now: float, echo: str | None
) -> list[Any]:
    """Every row at `now`; full_publish_completed answers with `echo` (as a GX >= 3.50 does)."""
    events: list[Any] = []
    for topic, payload in rows:
        if topic == COMPLETED and echo is not None:
            data = {**json.loads(payload), "full-publish-completed-echo": echo}
            events.extend(session.receive(topic, json.dumps(data).encode(), now))
        else:
            events.extend(session.receive(topic, payload, now))
    return events


def _attach_all(session: VenusSession[str]) -> None:
    """The owner made a device of every device service (as Home Assistant's source does)."""
    for service in list(session.services.values()):
        if service.device:
            session.attach(service, f"device {service.key}")


def _connected_and_published(
    attach: bool = True, **kwargs: Any
) -> tuple[VenusSession[str], list[Any]]:
    """A session connected at t=0 that received the whole recording at t=1 with our echo;
    `attach`: the owner then made a device of every device service."""
    session = _session(**kwargs)
    assert session.connected(0.0) == [_request("ha-1")]
    events = _feed(session, ROWS, 1.0, "ha-1")
    if attach:
        _attach_all(session)
    return session, events


# --- the recording -------------------------------------------------------------------------------


def test_connect_asks_for_a_full_publish_with_our_echo_token() -> None:
    session = _session()
    assert session.connected(0.0) == [
        (KEEPALIVE_TOPIC, b'{"keepalive-options":[{"full-publish-completed-echo":"ha-1"}]}')
    ]
    assert session.echo == "ha-1"
    assert session.data_to_send() == []  # returned once


def test_every_service_of_the_recording_is_seen_once_in_arrival_order() -> None:
    session, events = _connected_and_published()
    expected = list(dict.fromkeys(_key(t) for t, _ in _value_rows(ROWS)))
    assert len(expected) == 25
    seen = [e.service.key for e in events if isinstance(e, ServiceAppeared)]
    assert seen == expected
    assert list(session.services) == expected
    assert session.stats.messages == 2611 and session.stats.errors == 0


def test_each_service_reports_its_change_once_until_taken() -> None:
    session = _session()
    session.connected(0.0)
    before = _value_rows(ROWS[:COMPLETION])
    events = _feed(session, before, 1.0, None)
    services = list(dict.fromkeys(_key(t) for t, _ in before))
    assert events.count(DATA_CHANGED) == len(services)
    assert [s.key for s in session.take_changed()] == services
    assert session.take_changed() == []
    topic, payload = before[0]
    assert list(session.receive(topic, payload, 2.0)) == [DATA_CHANGED]  # changed again
    assert list(session.receive(topic, payload, 2.0)) == []  # and not again before taken


def test_full_publish_completed_with_our_echo_reports_the_new_devices() -> None:
    session, events = _connected_and_published(attach=False)
    (completed,) = [e for e in events if isinstance(e, FullPublishCompleted)]
    assert (completed.echo, completed.complete) == ("ha-1", True)
    # device services (an included type) with a value that is not null before the completion
    with_data: dict[tuple[str, int | str], None] = {}
    for topic, payload in _value_rows(ROWS[:COMPLETION]):
        if _key(topic)[0] in INCLUDED and json.loads(payload)["value"] is not None:
            with_data[_key(topic)] = None

    def order(key: tuple[str, int | str]) -> tuple[str, str]:
        return key[0], f"{key[1]:012d}" if isinstance(key[1], int) else str(key[1])

    assert [s.key for s in completed.new_devices] == sorted(with_data, key=order)
    assert [s.key for s in completed.new_devices][:3] == [
        ("battery", 275),
        ("battery", 289),
        ("gps", 93),
    ]
    assert not [e for e in events if isinstance(e, ServiceRemoved)]
    assert session.echo is None
    assert session.full_publishes_completed == 1
    # they wait, one at a time, to become devices
    due = []
    while (service := session.next_device_due()) is not None:
        session.attach(service, f"device {service.key}")
        due.append(service.key)
    assert due == [s.key for s in completed.new_devices]
    assert session.complete_publish and not session.devices_due


def test_a_completion_with_another_clients_echo_is_not_ours() -> None:
    session = _session()
    session.connected(0.0)
    events = _feed(session, ROWS, 1.0, "someone-else-7")
    assert not [e for e in events if isinstance(e, FullPublishCompleted)]
    assert session.echo == "ha-1" and session.full_publishes_completed == 0


def test_a_completion_without_echo_creates_devices_and_removes_nothing() -> None:
    """Venus OS before 3.50 echoes nothing: another client's full publish looks the same."""
    session, _ = _connected_and_published()
    session.tick(2.0)
    session.receive(f"N/{PORTAL}/keepalive", b"1", 3.0)  # the plugin restarted: request ha-2
    events = _feed(
        session, [(t, p) for t, p in ROWS if not t.startswith(f"N/{PORTAL}/tank/21/")], 4.0, None
    )
    (completed,) = [e for e in events if isinstance(e, FullPublishCompleted)]
    assert (completed.echo, completed.complete) == (None, False)
    assert not [e for e in events if isinstance(e, ServiceRemoved)]
    assert ("tank", 21) in session.services


def test_a_full_publish_with_our_echo_removes_what_the_gx_did_not_republish() -> None:
    session, _ = _connected_and_published()
    session.tick(2.0)
    session.receive(f"N/{PORTAL}/keepalive", b"1", 3.0)
    assert session.data_to_send() == [_request("ha-2")]
    gone = f"N/{PORTAL}/tank/21/"
    events = _feed(session, [(t, p) for t, p in ROWS if not t.startswith(gone)], 4.0, "ha-2")
    removed = [(e.service.key, e.reason) for e in events if isinstance(e, ServiceRemoved)]
    assert removed == [(("tank", 21), "not published by the GX any more")]
    assert ("tank", 21) not in session.services
    assert session.store.stored_bytes == session.store.measure_stored_bytes()


# --- keep-alive and liveness ---------------------------------------------------------------------


def test_keepalives_are_due_every_30_s_while_heartbeats_come() -> None:
    session, _ = _connected_and_published()
    sent: list[tuple[float, list[tuple[str, bytes]]]] = []
    for second in range(2, 101):
        now = float(second)
        if second % 3 == 0:
            assert session.receive(HEARTBEAT, b'{"value":1752842500}', now) == []
        if messages := session.tick(now):
            sent.append((now, messages))
        assert session.events() == []
    # the full publish was asked at t=0: keep-alives follow 30 s apart, never a republish
    assert sent == [
        (30.0, [(KEEPALIVE_TOPIC, SUPPRESS)]),
        (60.0, [(KEEPALIVE_TOPIC, SUPPRESS)]),
        (90.0, [(KEEPALIVE_TOPIC, SUPPRESS)]),
    ]
    assert session.heartbeats == 1 + 33 and not session.lost  # the recording has one


def test_an_unanswered_full_publish_is_asked_again_after_30_s() -> None:
    session = _session()
    session.connected(0.0)
    _feed(session, ROWS[:COMPLETION], 1.0, None)  # the GX never completes
    due = {}
    for second in range(1, 62):
        session.receive(HEARTBEAT, b'{"value":1}', float(second))
        if messages := session.tick(float(second)):
            due[float(second)] = messages
    assert due == {30.0: [_request("ha-2")], 60.0: [_request("ha-3")]}
    assert session.full_publishes_requested == 3


def test_the_gx_is_lost_after_15_s_without_traffic_and_back_with_the_next_message() -> None:
    session, _ = _connected_and_published()  # last message at t=1
    lost_at = []
    for second in range(2, 21):
        messages = session.tick(float(second))
        for event in session.events():
            assert event == GxLost("no data from the GX for 15 s", first=True)
            assert messages == [_request("ha-2")]  # a keep-alive that lapsed starts again
            lost_at.append(second)
    assert lost_at == [17]  # 16 s after the last message; 15 s exactly is not yet lost
    assert session.lost
    assert session.receive(HEARTBEAT, b'{"value":1}', 21.0) == [GxBack()]
    assert session.data_to_send() == []  # the full publish asked when lost is still open
    assert not session.lost


def test_data_back_after_a_loss_asks_for_a_full_publish_when_none_is_open() -> None:
    session, _ = _connected_and_published()
    assert session.connection_lost("connection to the GX lost (gone)") == [
        GxLost("connection to the GX lost (gone)", first=True)
    ]
    assert session.connection_lost("again") == [GxLost("again", first=False)]
    session.take_changed()
    topic, payload = _value_rows(ROWS)[0]
    assert session.receive(topic, payload, 5.0) == [DATA_CHANGED, GxBack()]
    assert session.data_to_send() == [_request("ha-2")]


def test_a_restarted_gx_plugin_gets_a_new_full_publish_request() -> None:
    session, _ = _connected_and_published()
    assert session.receive(f"N/{PORTAL}/keepalive", b"1", 5.0) == [GxRestarted()]
    assert session.data_to_send() == [_request("ha-2")]


def test_no_device_is_due_while_the_gx_is_lost() -> None:
    session = _session(settle=20.0)
    session.connected(0.0)
    session.receive(f"N/{PORTAL}/tank/30/Level", b'{"value":12}', 1.0)
    events = []
    for second in range(2, 31):
        session.tick(float(second))
        events += [(second, e) for e in session.events()]
    assert events == [(17, GxLost("no data from the GX for 15 s"))]  # settled at 21: lost


# --- services -------------------------------------------------------------------------------------


def test_a_new_service_without_full_publish_is_due_after_settling() -> None:
    session, _ = _connected_and_published()
    assert session.receive(f"N/{PORTAL}/tank/30/Level", b'{"value":12}', 10.0) == [
        ServiceAppeared(session.services[("tank", 30)]),
        DATA_CHANGED,
    ]
    session.tick(11.9)
    assert session.events() == []
    session.tick(12.0)
    assert session.events() == [ServiceSettled(session.services[("tank", 30)])]


def test_empty_payloads_remove_the_service() -> None:
    session, _ = _connected_and_published()
    prefix = f"N/{PORTAL}/tank/20/"
    events = [e for t, _ in ROWS if t.startswith(prefix) for e in session.receive(t, b"", 5.0)]
    first = events[0]
    assert isinstance(first, ServiceRemoved)
    assert events == [ServiceRemoved(first.service, "removed from the GX")]
    assert first.service.key == ("tank", 20) and first.service.removed
    assert session.store.stored_bytes == session.store.measure_stored_bytes()


def test_the_device_cap_is_reported_once_and_clears_after_a_full_publish() -> None:
    session, events = _connected_and_published(attach=False, max_devices=3)
    (completed,) = [e for e in events if isinstance(e, FullPublishCompleted)]
    first = session.next_device_due()
    assert first is not None and first.key == ("battery", 275)
    session.attach(first, "house battery")
    second = session.next_device_due()
    assert second is not None and second.key == ("battery", 289)
    session.attach(second, "starter battery")
    system = session.next_device_due()  # the GX's own device always fits
    assert system is not None and system.key == ("system", 0)
    session.attach(system, "GX")
    assert session.next_device_due() is None
    assert session.events() == [LimitReached("too_many_devices")]
    assert completed.new_devices[4].key == ("system", 0)
    # the GX loses all but two devices: the next full publish clears the cap
    session.receive(f"N/{PORTAL}/keepalive", b"1", 5.0)
    kept = {("battery", 275), ("system", 0)}
    rows = [(t, p) for t, p in ROWS if t.count("/") < 4 or _key(t) in kept]
    events = _feed(session, rows, 6.0, "ha-2")
    assert LimitCleared("too_many_devices") in events


def test_the_store_caps_bytes_and_drops_new_topics_beyond() -> None:
    session = _session(max_stored_bytes=100_000)
    session.connected(0.0)
    events = _feed(session, ROWS, 1.0, "ha-1")
    assert events.count(LimitReached("too_much_data")) == 1
    store = session.store
    # every value topic of the recording kept or dropped, once: 327 fit in 100,000 bytes
    kept = len(store.topics(PORTAL))
    assert kept + store.topics_dropped == len(_value_rows(ROWS)) == 2609
    assert (kept, store.topics_dropped) == (327, 2282)
    assert store.stored_bytes <= 100_000  # the cap (99,996 bytes used)
    assert store.stored_bytes == store.measure_stored_bytes()
    assert isinstance(store, ServiceStore)


# --- writes ---------------------------------------------------------------------------------------


def test_a_write_is_a_w_topic_with_a_value_payload() -> None:
    session, _ = _connected_and_published()
    assert session.write("vebus/274/Mode", 4, now=10.0) == (
        f"W/{PORTAL}/vebus/274/Mode",
        b'{"value":4}',
    )
    assert session.write("settings/0/Settings/CGwacs/AcPowerSetPoint", -200, now=10.0) == (
        f"W/{PORTAL}/settings/0/Settings/CGwacs/AcPowerSetPoint",
        b'{"value":-200}',
    )
    assert [w.key for w in session.pending_writes] == [
        ("vebus", 274, "Mode"),
        ("settings", 0, "Settings/CGwacs/AcPowerSetPoint"),
    ]


def test_the_gx_publishing_the_written_value_confirms_the_write() -> None:
    session, _ = _connected_and_published()
    session.take_changed()
    session.write("vebus/274/Mode", 4, now=10.0)
    # the old value (3, as recorded) does not confirm it; the new one does
    assert list(session.receive(f"N/{PORTAL}/vebus/274/Mode", b'{"value":3}', 10.5)) == [
        DATA_CHANGED
    ]
    events = session.receive(f"N/{PORTAL}/vebus/274/Mode", b'{"value":4}', 11.0)
    assert events == [
        WriteConfirmed(
            PendingWrite(
                ("vebus", 274, "Mode"), 4, f"W/{PORTAL}/vebus/274/Mode", b'{"value":4}', 15.0
            )
        )
    ]
    assert session.pending_writes == []
    assert session.services[("vebus", 274)].data["Mode"] == 4


def test_a_float_write_is_confirmed_by_its_float32_echo() -> None:
    session, _ = _connected_and_published()
    session.take_changed()
    session.write("battery/275/Dc/0/Voltage", 13.7, now=10.0)
    events = session.receive(
        f"N/{PORTAL}/battery/275/Dc/0/Voltage", b'{"value":13.699999809265137}', 10.2
    )
    assert [type(e) for e in events] == [WriteConfirmed, type(DATA_CHANGED)]


def test_an_unconfirmed_write_times_out_with_the_value_the_gx_reports() -> None:
    session, _ = _connected_and_published()
    session.write("vebus/274/Mode", 4, now=10.0)
    for second in (11.0, 12.0, 13.0, 14.0, 14.9):
        session.receive(HEARTBEAT, b'{"value":1}', second)
        session.tick(second)
        assert session.events() == []
    session.tick(15.0)
    (event,) = session.events()
    assert isinstance(event, WriteTimedOut)
    assert (event.write.topic, event.write.payload, event.reported) == (
        f"W/{PORTAL}/vebus/274/Mode",
        b'{"value":4}',
        3,
    )
    assert session.pending_writes == []


def test_the_write_timeout_is_configurable() -> None:
    session, _ = _connected_and_published(write_timeout=1.5)
    session.write("vebus/274/Mode", 4, now=10.0)
    session.tick(11.4)
    assert session.events() == []
    session.tick(11.5)
    assert [type(e) for e in session.events()] == [WriteTimedOut]


@pytest.mark.parametrize("path", ["", "vebus", "vebus/274", "/vebus/274/"])
def test_a_write_needs_type_instance_and_path(path: str) -> None:
    with pytest.raises(ValueError, match="not <service type>/<instance>/<path>"):
        _session().write(path, 1, now=0.0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object()])
def test_a_write_value_must_be_finite_json(value: Any) -> None:
    with pytest.raises(ValueError, match="cannot write"):
        _session().write("vebus/274/Mode", value, now=0.0)
