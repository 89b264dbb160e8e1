"""The GX simulator and the mosquitto helper, against a real mosquitto on 127.0.0.1.

What a client of a real GX sees (protocols.md §3.2-§3.5): the retained serial, a full publish
with an echoed full_publish_completed, suppress-republish, heartbeats, reads, writes, removed
services; and the broker's password and TLS handling.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
import hashlib
import json
from pathlib import Path
import shutil
import ssl
import sys
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
import pytest

from custom_components.victron_venus.protocol.venus import (
    SERIAL_TOPIC_FILTER,
    MessageKind,
    VenusParser,
    keepalive_payload,
    keepalive_topic,
    notification_filter,
    read_topic,
    write_payload,
    write_topic,
)
from tests.fakes import gx_simulator, mosquitto
from tests.fakes.gx_simulator import GxSimulator, GxSimulatorError, load_recording, no_delay
from tests.fakes.mosquitto import (
    MosquittoBroker,
    find_mosquitto,
    mosquitto_password_hash,
    write_password_file,
)

PORTAL = "c0619ab4e25c"
HOST = "127.0.0.1"
RECORDED_TOPICS = 2609  # 2611 lines less full_publish_completed and heartbeat


@dataclass(slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


class Probe:
    """A plain paho client that records everything it receives (what an integration sees)."""

    def __init__(
        self,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_certs: Path | None = None,
    ) -> None:
        self.port = port
        self.messages: list[Received] = []
        self.reason: ReasonCode | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=1)  # type: ignore[arg-type]
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_certs is not None:
            self.client.tls_set_context(ssl.create_default_context(cafile=str(ca_certs)))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._subacks: set[int] = set()
        self.client.on_subscribe = lambda _c, _u, mid, _r, _p: self._subacks.add(mid)

    def _on_connect(
        self, c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object
    ) -> None:
        no_delay(c)
        self.reason = rc

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        self.messages.append(Received(message.topic, bytes(message.payload), message.retain))

    async def connect(self) -> ReasonCode:
        await asyncio.get_running_loop().run_in_executor(None, self.client.connect, HOST, self.port)
        self.client.loop_start()
        await self._until(lambda: self.reason is not None)
        assert self.reason is not None
        return self.reason

    async def subscribe(self, *filters: str) -> None:
        _rc, mid = self.client.subscribe([(f, 0) for f in filters])
        await self._until(lambda: mid in self._subacks)

    def publish(self, topic: str, payload: bytes = b"") -> None:
        self.client.publish(topic, payload, 0, retain=False)

    async def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 10
    ) -> Received:
        """The first received message that matches, waiting up to ``timeout`` seconds."""
        found: list[Received] = []

        def check() -> bool:
            found[:] = [m for m in list(self.messages) if predicate(m)]
            return bool(found)

        await self._until(check, timeout)
        return found[0]

    async def _until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.005)

    def topics(self) -> list[str]:
        return [m.topic for m in list(self.messages)]

    async def close(self) -> None:
        self.client.disconnect()
        await asyncio.get_running_loop().run_in_executor(None, self.client.loop_stop)

    async def __aenter__(self) -> Probe:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _is(topic: str) -> Callable[[Received], bool]:
    return lambda m: m.topic == topic


def _completed(echo: str | None = None) -> Callable[[Received], bool]:
    def check(m: Received) -> bool:
        if m.topic != f"N/{PORTAL}/full_publish_completed":
            return False
        return echo is None or json.loads(m.payload).get("full-publish-completed-echo") == echo

    return check


@pytest.fixture
def broker(socket_enabled: None, tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path) as running:
        yield running


@pytest.fixture
async def gx(broker: MosquittoBroker) -> AsyncIterator[GxSimulator]:
    simulator = GxSimulator(HOST, broker.port, heartbeat_interval=0.2)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def probe(broker: MosquittoBroker) -> AsyncIterator[Probe]:
    client = Probe(broker.port)
    assert not (await client.connect()).is_failure
    await client.subscribe(notification_filter(PORTAL))
    yield client
    await client.close()


# --- the recording ------------------------------------------------------------------------------


def test_load_recording() -> None:
    portal, topics = load_recording()
    assert portal == PORTAL
    assert len(topics) == RECORDED_TOPICS
    assert "heartbeat" not in topics
    assert "full_publish_completed" not in topics
    assert topics["system/0/Serial"] == b'{"value":"c0619ab4e25c"}'
    assert topics["battery/289/Dc/0/Voltage"] == b'{"value":13.34000015258789}'  # verbatim


# --- Venus semantics ----------------------------------------------------------------------------


async def test_full_publish_with_echo(gx: GxSimulator, probe: Probe) -> None:
    await probe.wait_for(_is(f"N/{PORTAL}/system/0/Serial"))  # retained, from before
    probe.messages.clear()
    probe.publish(keepalive_topic(PORTAL), keepalive_payload("ha-test-1"))
    done = await probe.wait_for(_completed("ha-test-1"))
    body = json.loads(done.payload)
    assert abs(body["value"] - time.time()) < 5
    assert done.payload.startswith(b'{"full-publish-completed-echo":"ha-test-1","value":')
    received = probe.topics()
    before = received[: received.index(done.topic)]
    assert len(before) == len(set(before)) == RECORDED_TOPICS
    assert set(before) == {f"N/{PORTAL}/{suffix}" for suffix in gx.topics}
    # everything parses with our parser, and only the serial is retained
    parser = VenusParser()
    for message in list(probe.messages):
        parser.feed(message.topic, message.payload)
    assert parser.stats.errors == 0
    assert parser.portal_id == PORTAL
    # live deliveries never carry the retain flag (the serial is published retained)
    assert not any(m.retain for m in probe.messages)


async def test_empty_keepalive_full_publish_without_echo(gx: GxSimulator, probe: Probe) -> None:
    probe.publish(keepalive_topic(PORTAL), b"")
    done = await probe.wait_for(_completed())
    assert set(json.loads(done.payload)) == {"value"}
    assert gx.full_publishes == 1
    assert gx.alive


async def test_retained_serial_for_late_subscriber(
    gx: GxSimulator, broker: MosquittoBroker
) -> None:
    async with Probe(broker.port) as late:
        await late.subscribe(SERIAL_TOPIC_FILTER)
        serial = await late.wait_for(_is(f"N/{PORTAL}/system/0/Serial"))
        assert serial.retain
        assert json.loads(serial.payload) == {"value": PORTAL}
    # nothing else is retained: a late subscriber to everything gets only the serial
    async with Probe(broker.port) as everything:
        await everything.subscribe("#")
        await everything.wait_for(_is(f"N/{PORTAL}/system/0/Serial"))
        await asyncio.sleep(0.2)
        assert [m.topic for m in everything.messages] == [f"N/{PORTAL}/system/0/Serial"]


async def test_suppress_republish_does_not_republish(gx: GxSimulator, probe: Probe) -> None:
    await probe.wait_for(_is(f"N/{PORTAL}/system/0/Serial"))
    probe.messages.clear()
    probe.publish(keepalive_topic(PORTAL), keepalive_payload("x", suppress_republish=True))
    await probe.wait_for(_is(f"N/{PORTAL}/heartbeat"))
    await asyncio.sleep(0.3)
    assert gx.alive
    assert gx.full_publishes == 0
    assert not any(t.endswith("/full_publish_completed") for t in probe.topics())
    assert all(t.endswith("/heartbeat") for t in probe.topics())
    # while alive, live changes arrive
    gx.set_value("battery/275/Soc", 87.5)
    change = await probe.wait_for(_is(f"N/{PORTAL}/battery/275/Soc"))
    assert change.payload == b'{"value":87.5}'


class _DrivenClock:
    """The GX simulator's clock, driven by its own timers: `time()` stands in for its event
    loop's and `sleep()` for asyncio's, and a sleep moves the clock on by exactly its delay. The
    simulator then counts scheduled ticks, whatever the machine's load does to real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.now += delay
        await asyncio.sleep(0)  # a real loop turn: the published heartbeat goes out
        return result


class _Through:
    """`target` with some attributes replaced (the rest passed through)."""

    def __init__(self, target: Any, **replaced: Any) -> None:
        self._target = target
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


async def test_heartbeat_while_alive_and_not_after_timeout(
    broker: MosquittoBroker, probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _DrivenClock()
    heartbeat = f"N/{PORTAL}/heartbeat"
    async with GxSimulator(
        HOST, broker.port, keepalive_timeout=0.5, heartbeat_interval=0.125
    ) as gx:
        monkeypatch.setattr(gx, "_loop", _Through(gx._loop, time=clock.time))
        monkeypatch.setattr(gx_simulator, "asyncio", _Through(asyncio, sleep=clock.sleep))
        probe.publish(keepalive_topic(PORTAL), keepalive_payload(suppress_republish=True))
        beat = await probe.wait_for(_is(heartbeat))
        assert abs(json.loads(beat.payload)["value"] - time.time()) < 5
        # one at once and one every 0.125 s while the 0.5 s keep-alive lasts: at 0, 0.125, 0.25
        # and 0.375 s (binary fractions: the sums are exact)
        await probe._until(lambda: probe.topics().count(heartbeat) == 4)
        assert clock.now == 0.5
        assert not gx.alive
        assert gx.heartbeats == 4
        seen = len(probe.messages)
        gx.set_value("battery/275/Soc", 12)  # not alive: not published
        await asyncio.sleep(0.4)
        assert len(probe.messages) == seen
        assert gx.get_value("battery/275/Soc") == 12


async def test_full_publish_rate_limit(gx: GxSimulator, probe: Probe) -> None:
    for i in range(5):
        probe.publish(keepalive_topic(PORTAL), keepalive_payload(f"burst-{i}"))
    await probe.wait_for(_completed("burst-2"))
    await asyncio.sleep(0.3)
    echoes = [
        json.loads(m.payload).get("full-publish-completed-echo")
        for m in list(probe.messages)
        if m.topic.endswith("/full_publish_completed")
    ]
    assert echoes == ["burst-0", "burst-1", "burst-2"]
    assert len(gx.keepalive_requests) == 5


async def test_write_is_applied(gx: GxSimulator, probe: Probe) -> None:
    probe.publish(keepalive_topic(PORTAL), keepalive_payload(suppress_republish=True))
    await probe.wait_for(_is(f"N/{PORTAL}/heartbeat"))
    assert gx.get_value("vebus/274/Mode") != 4
    probe.publish(write_topic(PORTAL, "vebus", 274, "Mode"), write_payload(4))
    change = await probe.wait_for(_is(f"N/{PORTAL}/vebus/274/Mode"))
    assert json.loads(change.payload) == {"value": 4}
    assert gx.get_value("vebus/274/Mode") == 4
    assert gx.writes == [("vebus/274/Mode", 4)]
    probe.publish(write_topic(PORTAL, "vebus", 274, "NoSuchPath"), write_payload(1))
    probe.publish(write_topic(PORTAL, "vebus", 274, "Mode"), b"garbage")
    await probe._until(lambda: len(gx.rejected_writes) == 2)


async def test_write_without_keepalive_is_silent(gx: GxSimulator, probe: Probe) -> None:
    """Not alive: the write is applied but, like any change, not published; a read shows it."""
    probe.publish(
        write_topic(PORTAL, "settings", 0, "Settings/CGwacs/BatteryLife/State"), write_payload(9)
    )
    await probe._until(lambda: bool(gx.writes))
    await asyncio.sleep(0.1)
    assert not any("BatteryLife/State" in t for t in probe.topics())
    probe.publish(read_topic(PORTAL, "settings", 0, "Settings/CGwacs/BatteryLife/State"))
    read = await probe.wait_for(_is(f"N/{PORTAL}/settings/0/Settings/CGwacs/BatteryLife/State"))
    assert read.payload == b'{"value":9}'


async def test_read_works_without_keepalive(gx: GxSimulator, probe: Probe) -> None:
    probe.publish(read_topic(PORTAL, "battery", 289, "Dc/0/Voltage"))
    voltage = await probe.wait_for(_is(f"N/{PORTAL}/battery/289/Dc/0/Voltage"))
    assert voltage.payload == b'{"value":13.34000015258789}'
    probe.publish(read_topic(PORTAL, "gps", 93, "Position"))
    await probe.wait_for(_is(f"N/{PORTAL}/gps/93/Position/Longitude"))
    await probe.wait_for(_is(f"N/{PORTAL}/gps/93/Position/Latitude"))
    assert not gx.alive
    assert gx.reads == ["battery/289/Dc/0/Voltage", "gps/93/Position"]


async def test_legacy_serial_read_is_a_keepalive(gx: GxSimulator, probe: Probe) -> None:
    probe.publish(read_topic(PORTAL, "system", 0, "Serial"))
    await probe.wait_for(_completed())
    assert gx.alive


async def test_remove_service_publishes_empty_payloads(gx: GxSimulator, probe: Probe) -> None:
    removed = gx.remove_service("tank", 20)
    assert len(removed) == 29
    await probe._until(
        lambda: sum(t.startswith(f"N/{PORTAL}/tank/20/") for t in probe.topics()) == 29
    )
    tank = [m for m in list(probe.messages) if m.topic.startswith(f"N/{PORTAL}/tank/20/")]
    assert all(m.payload == b"" for m in tank)
    parser = VenusParser()
    kinds = {parser.feed(m.topic, m.payload).kind for m in tank}  # type: ignore[union-attr]
    assert kinds == {MessageKind.REMOVED}
    # the service is gone from the next full publish
    probe.messages.clear()
    probe.publish(keepalive_topic(PORTAL), keepalive_payload("after-removal"))
    await probe.wait_for(_completed("after-removal"))
    topics = [t for t in probe.topics() if not t.endswith("/heartbeat")]
    assert not any(t.startswith(f"N/{PORTAL}/tank/20/") for t in topics)
    assert len(topics) == RECORDED_TOPICS - 29 + 1


async def test_reconnect_after_broker_restart(broker: MosquittoBroker) -> None:
    gx = GxSimulator(HOST, broker.port)
    await gx.start()
    try:
        assert gx.connects == 1
        broker.restart()
        deadline = time.monotonic() + 10
        while gx.connects < 2:
            assert time.monotonic() < deadline, "simulator did not reconnect"
            await asyncio.sleep(0.02)
        async with Probe(broker.port) as late:
            await late.subscribe(SERIAL_TOPIC_FILTER)
            await late.wait_for(_is(f"N/{PORTAL}/system/0/Serial"))
    finally:
        await gx.stop()


async def test_stop_joins_threads(broker: MosquittoBroker) -> None:
    before = {t.ident for t in threading.enumerate()}
    gx = GxSimulator(HOST, broker.port)
    await gx.start()
    assert gx.connected
    await gx.stop()
    await gx.stop()  # twice is fine
    leftover = [
        t for t in threading.enumerate() if t.ident not in before and t.name.startswith("paho")
    ]
    assert leftover == []


async def test_portal_id_override(broker: MosquittoBroker) -> None:
    async with Probe(broker.port) as probe:
        await probe.subscribe("N/#")
        async with GxSimulator(HOST, broker.port, portal_id="0123456789ab") as gx:
            serial = await probe.wait_for(_is("N/0123456789ab/system/0/Serial"))
            assert json.loads(serial.payload) == {"value": "0123456789ab"}
            assert gx.portal_id == "0123456789ab"


def test_fallback_without_mosquitto_fails_loudly_without_amqtt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(mosquitto, "find_mosquitto", lambda: None)
    monkeypatch.setitem(sys.modules, "amqtt", None)
    monkeypatch.setitem(sys.modules, "amqtt.broker", None)
    with pytest.raises(RuntimeError, match=r"mosquitto is not installed.*amqtt"):
        mosquitto.start_broker(tmp_path)


# --- broker: auth and TLS -----------------------------------------------------------------------


def test_mosquitto_is_installed() -> None:
    assert find_mosquitto() is not None, "install mosquitto (scripts/setup does)"


def test_python_hash_format() -> None:
    parts = mosquitto_password_hash("s3cret").split("$")
    assert parts[:3] == ["", "7", "101"]
    assert len(parts[3]) == 16  # 12 bytes of salt, base64
    assert len(parts[4]) == 88  # 64 bytes of PBKDF2-SHA512, base64


@pytest.mark.parametrize(
    "use_tool",
    [
        pytest.param(True, id="mosquitto_passwd"),
        pytest.param(False, id="python-pbkdf2"),
    ],
)
async def test_password_auth(socket_enabled: None, tmp_path: Path, use_tool: bool) -> None:
    if use_tool and shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto_passwd missing (it ships with the mosquitto package)")
    with MosquittoBroker(
        tmp_path, users={"venus": "s3cret"}, use_mosquitto_passwd=use_tool
    ) as broker:
        good = Probe(broker.port, username="venus", password="s3cret")
        assert not (await good.connect()).is_failure
        await good.close()
        bad = Probe(broker.port, username="venus", password="wrong")
        reason = await bad.connect()
        assert reason.is_failure
        assert reason.value in (5, 135)  # not authorised (3.1.1 / 5)
        await bad.close()
        anonymous = Probe(broker.port)
        assert (await anonymous.connect()).is_failure
        await anonymous.close()
        with pytest.raises(GxSimulatorError):
            await GxSimulator(HOST, broker.port, username="venus", password="nope").start()
        async with GxSimulator(HOST, broker.port, username="venus", password="s3cret") as gx:
            assert gx.connected


def test_password_file_with_python_hash_only(tmp_path: Path) -> None:
    path = write_password_file(tmp_path / "pw", {"a": "1", "b": "2"}, use_tool=False)
    lines = path.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["a", "b"]
    assert all(line.split(":", 1)[1].startswith("$7$101$") for line in lines)


async def test_tls_with_generated_ca(socket_enabled: None, tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path, users={"venus": "s3cret"}, tls=True) as broker:
        cert = broker.certificate
        assert cert is not None
        der = ssl.PEM_cert_to_DER_cert(cert.cert_path.read_text())
        assert hashlib.sha256(der).hexdigest() == cert.sha256
        assert cert.sha256_colons.replace(":", "").lower() == cert.sha256

        client = Probe(broker.port, username="venus", password="s3cret", ca_certs=cert.cert_path)
        assert not (await client.connect()).is_failure
        sock = client.client.socket()
        assert isinstance(sock, ssl.SSLSocket)
        peer = sock.getpeercert(binary_form=True)
        assert peer is not None
        assert hashlib.sha256(peer).hexdigest() == cert.sha256
        await client.subscribe(notification_filter(PORTAL))

        async with GxSimulator(
            HOST, broker.port, username="venus", password="s3cret", ca_certs=cert.cert_path
        ):
            client.publish(keepalive_topic(PORTAL), keepalive_payload("tls"))
            await client.wait_for(_completed("tls"))
        await client.close()

        # a client that trusts nothing else refuses the self-signed certificate
        strict = mqtt.Client(CallbackAPIVersion.VERSION2)
        strict.tls_set_context(ssl.create_default_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.get_running_loop().run_in_executor(
                None, strict.connect, HOST, broker.port
            )
        # ... and tls_insecure skips verification, like many clients of a real GX do
        async with GxSimulator(
            HOST, broker.port, username="venus", password="s3cret", tls_insecure=True
        ) as gx:
            assert gx.connected
