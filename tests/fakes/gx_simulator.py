"""A Venus OS GX, as dbus-flashmq presents it over MQTT, replaying a real boat's recording.

The simulator is an ordinary MQTT client of a real broker (tests/fakes/mosquitto.py) that
behaves like the dbus-flashmq plugin of a GX (protocols.md §3; the plugin's state.cpp and
flashmq-dbus-plugin.cpp):

* at start (and after every reconnect, like a GX that rebooted with its broker):
  ``N/<id>/system/0/Serial`` retained - the only retained topic - and ``N/<id>/keepalive`` ``1``;
* ``R/<id>/keepalive`` (or the legacy ``R/<id>/system/0/Serial``): unless the payload contains
  ``suppress-republish``, publish every topic, then ``N/<id>/full_publish_completed``
  ``{"full-publish-completed-echo": <token>, "value": <unix s>}`` (echo only when asked). At most
  3 full publishes per second (more requests only extend the keep-alive, as on a GX). Every
  request keeps the GX alive for 60 s (``keepalive_timeout``);
* while alive: ``N/<id>/heartbeat`` ``{"value": <unix s>}`` at once and every 3 s, and value
  changes (:meth:`GxSimulator.set_value`, applied writes) are published; after the timeout,
  nothing but reads;
* ``R/<id>/<type>/<inst>/<path>``: publish that topic, or every leaf below a sub-tree, alive or
  not; ``W/<id>/<type>/<inst>/<path>`` ``{"value": X}``: like dbus-flashmq's SetValue on the
  D-Bus item: a writable path (:data:`WRITABLE`; a settings item also only within its min and
  max; a Multi's mode and input current limit only while it reports them adjustable) takes the
  value, which is published when alive, as the D-Bus change notification would be; any other
  write is refused and nothing is published (``rejected_writes``). ``ignore_writes = True``
  drops every write unanswered (a GX that does not confirm: ``ignored_writes``);
* settings items carry their ``min`` and ``max`` in the payload, as dbus-flashmq publishes
  them (the recording lost them): :data:`ITEM_LIMITS` gives those of the items a control row
  writes, modelled on localsettings' definitions;
* :meth:`GxSimulator.remove_service`: zero-byte payloads on all of a service's topics (sent
  whether alive or not, like ``remove_dbus_service``), and the service is gone from later
  full publishes.

Topics from the recording are replayed byte for byte (float32 artefacts included); changed
values are encoded as ``{"value": X}``. paho-mqtt runs its network thread (loop_start); its
callbacks hop onto the asyncio loop with call_soon_threadsafe, and :meth:`GxSimulator.stop`
disconnects and joins that thread.

Script use (scripts/develop)::

    python -m tests.fakes.gx_simulator --broker            # own mosquitto on 127.0.0.1:1883
    python -m tests.fakes.gx_simulator --port 1883 --username u --password p
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
import contextlib
import json
import logging
from pathlib import Path
import re
import signal
import socket
import ssl
import time
from typing import Any
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.shared import fixture_path

_LOGGER = logging.getLogger(__name__)

RECORDING = ("venus_mqtt", "dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv")
#: (min, max) published with the value of these items (None: the key is not published); the
#: Multi's input current limit has a maximum only (mk2-dbus: GetMin is not implemented)
ITEM_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit": (0, 100),
    "settings/0/Settings/CGwacs/AcPowerSetPoint": (-1_000_000, 1_000_000),
    "settings/0/Settings/CGwacs/MaxDischargePower": (-1, 1_000_000),
    "settings/0/Settings/SystemSetup/MaxChargeCurrent": (-1, 10_000),
    "settings/0/Settings/SystemSetup/MaxChargeVoltage": (0, 80),
    "vebus/274/Ac/In/1/CurrentLimit": (None, 50),
}
#: paths that take writes (D-Bus items with SetValue), as regular expressions on the topic suffix
WRITABLE = re.compile(
    r"settings/0/Settings/.+"
    r"|(vebus|multi)/\d+/(Mode|Ac/In/[12]/CurrentLimit|Ac/ActiveIn/CurrentLimit"
    r"|Hub4/L[123]/AcPowerSetpoint|Hub4/Disable(Charge|FeedIn)|Ess/AcPowerSetpoint"
    r"|Settings/AssistCurrentBoostFactor)"
    r"|(inverter|charger|solarcharger|dcdc)/\d+/Mode"
    r"|system/0/Relay/[01]/State"
    r"|generator/\d+/(ManualStart|ManualStartTimer|AutoStartEnabled|ServiceCounterReset)"
    r"|switch/\d+/SwitchableOutput/[^/]+/(State|Dimming)"
    r"|evcharger/\d+/(Mode|SetCurrent|StartStop)"
)
#: a path the device takes writes for only while another of its paths says so (value != 0)
ADJUSTABLE_FLAGS = {
    "Mode": "ModeIsAdjustable",
    "Ac/In/1/CurrentLimit": "Ac/In/1/CurrentLimitIsAdjustable",
    "Ac/In/2/CurrentLimit": "Ac/In/2/CurrentLimitIsAdjustable",
}
SPECIAL_TOPICS = frozenset({"keepalive", "heartbeat", "full_publish_completed"})
SERIAL_SUFFIX = "system/0/Serial"
ECHO_KEY = "full-publish-completed-echo"
CONNECT_TIMEOUT = 10.0


class GxSimulatorError(RuntimeError):
    """The simulator could not connect, authenticate or subscribe."""


def load_recording(path: Path | None = None) -> tuple[str, dict[str, bytes]]:
    """Read a ``topic<TAB>payload`` recording: (portal id, topic suffix -> raw payload).

    Suffixes are topics without ``N/<id>/`` (``"battery/275/Dc/0/Voltage"``), in recording
    order. The special topics (keepalive, heartbeat, full_publish_completed) are left out: the
    simulator makes its own.
    """
    path = path or fixture_path(*RECORDING)
    portal_id: str | None = None
    topics: dict[str, bytes] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        topic, _, payload = line.partition("\t")
        kind, portal, suffix = topic.split("/", 2)
        if kind != "N":
            continue
        portal_id = portal_id or portal
        if suffix in SPECIAL_TOPICS:
            continue
        topics[suffix] = payload.encode()
    if portal_id is None:
        raise ValueError(f"{path}: no N/ topics")
    return portal_id, topics


def no_delay(client: mqtt.Client) -> None:
    """Set TCP_NODELAY on paho's socket.

    paho does not, and a few small publishes in a row then wait for the peer's delayed ACK
    (Nagle): ~40 ms per burst on loopback.
    """
    sock = client.socket()
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _encode(value: Any) -> bytes:
    return json.dumps({"value": value}, separators=(",", ":")).encode()


class GxSimulator:
    """A GX's dbus-flashmq on a real MQTT broker. See the module docstring for the behaviour.

    Args:
        host, port: the broker (use the literal 127.0.0.1 under pytest-homeassistant).
        username, password: MQTT credentials, if the broker wants them.
        tls: connect with TLS; ``ca_certs`` = CA/certificate file to trust, ``tls_insecure`` =
            do not verify the certificate (what clients of a real GX often do).
        recording: ``topic<TAB>payload`` file; the boat recording from ../shared by default.
        portal_id: replaces the recording's portal id (default: the recording's,
            ``c0619ab4e25c``).
        keepalive_timeout: seconds a keep-alive lasts (60 on a GX).
        heartbeat_interval: seconds between heartbeats while alive (3 on a GX).
        full_publish_rate: full publishes allowed per second (3 on a GX); None = unlimited.
        protocol: paho MQTT protocol version.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_certs: str | Path | None = None,
        tls_insecure: bool = False,
        recording: Path | None = None,
        portal_id: str | None = None,
        keepalive_timeout: float = 60.0,
        heartbeat_interval: float = 3.0,
        full_publish_rate: int | None = 3,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    ) -> None:
        """Load the recording; nothing connects until start()."""
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.tls = tls or ca_certs is not None or tls_insecure
        self.ca_certs = str(ca_certs) if ca_certs is not None else None
        self.tls_insecure = tls_insecure
        recorded_id, self._topics = load_recording(recording)
        self.portal_id = portal_id or recorded_id
        if portal_id and SERIAL_SUFFIX in self._topics:
            self._topics[SERIAL_SUFFIX] = _encode(portal_id)
        self._serial_topic = self.topic(SERIAL_SUFFIX)
        self.keepalive_timeout = keepalive_timeout
        self.heartbeat_interval = heartbeat_interval
        self.full_publish_rate = full_publish_rate
        self.protocol = protocol

        # What happened, for assertions.
        self.keepalive_requests: list[bytes] = []
        self.reads: list[str] = []
        self.writes: list[tuple[str, Any]] = []
        self.rejected_writes: list[tuple[str, bytes]] = []
        self.ignored_writes: list[tuple[str, bytes]] = []
        #: every W/ message as received: (topic suffix, payload bytes)
        self.raw_writes: list[tuple[str, bytes]] = []
        #: drop every write unanswered (a GX that does not confirm)
        self.ignore_writes = False
        self._limits: dict[str, tuple[float | None, float | None]] = {}
        for suffix, limits in ITEM_LIMITS.items():
            if suffix in self._topics:
                self._limits[suffix] = limits
                recorded = json.loads(self._topics[suffix])["value"]
                self._topics[suffix] = self._encode(suffix, recorded)
        self.full_publishes = 0
        self.heartbeats = 0
        self.connects = 0

        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alive_until = 0.0
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._rate_window = 0.0
        self._rate_used = 0
        self._connected: asyncio.Future[ReasonCode] | None = None
        self._subscribed: asyncio.Future[None] | None = None
        self._subscribe_mid: int | None = None

    # --- state ------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """True while a keep-alive is running (changes and heartbeats are published)."""
        return self._loop is not None and self._loop.time() < self._alive_until

    @property
    def connected(self) -> bool:
        """True while the MQTT connection is up."""
        return self._client is not None and self._client.is_connected()

    @property
    def topics(self) -> dict[str, bytes]:
        """A copy of the current topic suffix -> payload table (recording order)."""
        return dict(self._topics)

    def topic(self, suffix: str) -> str:
        """``N/<id>/<suffix>``."""
        return f"N/{self.portal_id}/{suffix}"

    def get_value(self, suffix: str) -> Any:
        """The decoded ``"value"`` of a topic (KeyError if unknown)."""
        return json.loads(self._topics[suffix])["value"]

    def services(self) -> set[tuple[str, str]]:
        """(service type, instance text) of every service in the table."""
        return {tuple(s.split("/", 2)[:2]) for s in self._topics}  # type: ignore[misc]

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, subscribe to ``R/<id>/#`` and ``W/<id>/#``, announce the serial (retained).

        Raises GxSimulatorError when the broker refuses the connection (e.g. bad password).
        """
        if self._client is not None:
            return
        loop = self._loop = asyncio.get_running_loop()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"gx-simulator-{self.portal_id}-{uuid.uuid4().hex[:8]}",
            protocol=self.protocol,
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set_context(await loop.run_in_executor(None, self._ssl_context))
        # paho sleeps in 1 s steps between reconnects and loop_stop() waits for that sleep:
        # short delays keep stop() fast after a refused connect and reconnects quick.
        client.reconnect_delay_set(min_delay=0.1, max_delay=2)  # type: ignore[arg-type]
        client.on_connect = self._paho_on_connect
        client.on_disconnect = self._paho_on_disconnect
        client.on_subscribe = self._paho_on_subscribe
        client.on_message = self._paho_on_message
        self._client = client
        self._connected = loop.create_future()
        self._subscribed = loop.create_future()
        try:
            await loop.run_in_executor(None, client.connect, self.host, self.port, 30)
            client.loop_start()
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reason = await self._connected
                if reason.is_failure:
                    raise GxSimulatorError(f"broker refused the GX simulator: {reason}")
                await self._subscribed
        except BaseException:
            await self.stop()
            raise

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_certs)
        if self.tls_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def stop(self) -> None:
        """Stop heartbeats, disconnect and join paho's thread. Safe to call twice."""
        self._alive_until = 0.0
        task, self._heartbeat_task = self._heartbeat_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            loop = self._loop or asyncio.get_running_loop()
            await loop.run_in_executor(None, client.loop_stop)
        late, self._heartbeat_task = self._heartbeat_task, None
        if late is not None:  # started by a keep-alive that was already on its way
            late.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await late

    async def __aenter__(self) -> GxSimulator:
        """``async with GxSimulator(...) as gx:`` starts and stops it."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop."""
        await self.stop()

    # --- paho thread -> loop ----------------------------------------------------------------

    def _call_soon(self, callback: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing
                loop.call_soon_threadsafe(callback, *args)

    def _paho_on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        no_delay(client)
        self._call_soon(self._on_connect, reason)

    def _paho_on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self._call_soon(self._on_disconnect, reason)

    def _paho_on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        self._call_soon(self._on_subscribe, mid, reasons)

    def _paho_on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._call_soon(self._on_message, message.topic, bytes(message.payload))

    # --- loop side ----------------------------------------------------------------------------

    def _on_connect(self, reason: ReasonCode) -> None:
        if self._connected is not None and not self._connected.done():
            self._connected.set_result(reason)
        client = self._client
        if reason.is_failure or client is None:
            return
        # A (re)connect is a GX that (re)started: not alive until a client asks.
        self.connects += 1
        self._alive_until = 0.0
        _result, self._subscribe_mid = client.subscribe(
            [(f"R/{self.portal_id}/#", 0), (f"W/{self.portal_id}/#", 0)]
        )
        self._publish(self._serial_topic, self._topics[SERIAL_SUFFIX])
        self._publish(self.topic("keepalive"), b"1")

    def _on_disconnect(self, reason: ReasonCode) -> None:
        _LOGGER.debug("GX simulator disconnected: %s", reason)
        if self._connected is not None and not self._connected.done():
            self._connected.set_result(reason)

    def _on_subscribe(self, mid: int, reasons: list[ReasonCode]) -> None:
        if mid != self._subscribe_mid or self._subscribed is None or self._subscribed.done():
            return
        if any(r.is_failure for r in reasons):
            self._subscribed.set_exception(GxSimulatorError(f"subscribe refused: {reasons}"))
        else:
            self._subscribed.set_result(None)

    def _on_message(self, topic: str, payload: bytes) -> None:
        if self._client is None:  # stopped: a request still queued from paho's thread
            return
        action, _, rest = topic.partition("/")
        portal, _, suffix = rest.partition("/")
        if portal != self.portal_id or not suffix:
            return
        if action == "R":
            if suffix in ("keepalive", SERIAL_SUFFIX):
                self._handle_keepalive(payload)
            if suffix != "keepalive":
                self._handle_read(suffix)
        elif action == "W":
            self._handle_write(suffix, payload)

    def _handle_keepalive(self, payload: bytes) -> None:
        self.keepalive_requests.append(payload)
        if self._client is None:  # stopping: a late keep-alive starts no new heartbeat task
            return
        # Like dbus-flashmq: a substring test for suppress-republish; no JSON needed for that.
        if b"suppress-republish" not in payload and self._take_full_publish_token():
            self.full_publish(echo=_echo_of(payload))
        assert self._loop is not None
        self._alive_until = self._loop.time() + self.keepalive_timeout
        if self._heartbeat_task is None or self._heartbeat_task.done():
            self._heartbeat_task = self._loop.create_task(self._heartbeat_loop())

    def _take_full_publish_token(self) -> bool:
        if self.full_publish_rate is None:
            return True
        now = time.monotonic()
        if now - self._rate_window >= 1.0:
            self._rate_window, self._rate_used = now, 0
        if self._rate_used >= self.full_publish_rate:
            return False
        self._rate_used += 1
        return True

    async def _heartbeat_loop(self) -> None:
        while self.alive:
            self._publish(self.topic("heartbeat"), _encode(int(time.time())))
            self.heartbeats += 1
            await asyncio.sleep(self.heartbeat_interval)

    def _handle_read(self, suffix: str) -> None:
        self.reads.append(suffix)
        prefix = suffix + "/"
        for key, payload in self._topics.items():
            if key == suffix or key.startswith(prefix):
                self._publish(self.topic(key), payload)

    def _handle_write(self, suffix: str, payload: bytes) -> None:
        self.raw_writes.append((suffix, payload))
        if self.ignore_writes:
            self.ignored_writes.append((suffix, payload))
            return
        try:
            data = json.loads(payload)
            value = data["value"]
        except ValueError, TypeError, KeyError:
            self.rejected_writes.append((suffix, payload))
            return
        if not self.writable(suffix, value):  # D-Bus SetValue fails: nothing is published
            self.rejected_writes.append((suffix, payload))
            return
        self.writes.append((suffix, value))
        self.set_value(suffix, value)

    def writable(self, suffix: str, value: Any) -> bool:
        """Whether a write of `value` to `suffix` is taken (see the module docstring)."""
        if suffix not in self._topics or not WRITABLE.fullmatch(suffix):
            return False
        low, high = self._limits.get(suffix, (None, None))
        if type(value) not in (int, float, bool, str):
            return False
        if low is not None or high is not None:
            if type(value) not in (int, float):
                return False
            if (low is not None and value < low) or (high is not None and value > high):
                return False
        kind, instance, path = suffix.split("/", 2)
        flag = ADJUSTABLE_FLAGS.get(path)
        if kind in ("vebus", "multi") and flag is not None:
            flagged = f"{kind}/{instance}/{flag}"
            if flagged in self._topics and json.loads(self._topics[flagged])["value"] in (0, None):
                return False
        return True

    def _encode(self, suffix: str, value: Any) -> bytes:
        """``{"value": X}``, with the item's ``min`` / ``max`` when it has them (sorted keys, as
        nlohmann::json writes them)."""
        limits = self._limits.get(suffix)
        if limits is None:
            return _encode(value)
        body: dict[str, Any] = {"value": value}
        body.update(
            (key, bound)
            for key, bound in zip(("min", "max"), limits, strict=True)
            if bound is not None
        )
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    def _publish(self, topic: str, payload: bytes) -> None:
        if self._client is not None:
            # Only the serial is retained, wherever it is published (Item::should_be_retained).
            self._client.publish(topic, payload, 0, retain=topic == self._serial_topic)

    # --- driving the GX -----------------------------------------------------------------------

    def full_publish(self, echo: str | None = None) -> None:
        """Publish every topic, then full_publish_completed (with the echo token if given)."""
        for suffix, payload in self._topics.items():
            self._publish(self.topic(suffix), payload)
        done: dict[str, Any] = {"value": int(time.time())}
        if echo is not None:
            done[ECHO_KEY] = echo
        # nlohmann::json sorts keys: {"full-publish-completed-echo":"...","value":...}
        body = json.dumps(done, separators=(",", ":"), sort_keys=True).encode()
        self._publish(self.topic("full_publish_completed"), body)
        self.full_publishes += 1

    def set_value(self, suffix: str, value: Any) -> None:
        """Change (or add) ``N/<id>/<suffix>`` to ``{"value": value}`` (with the item's min and
        max, if it has them); published when alive."""
        self.set_payload(suffix, self._encode(suffix, value))

    def set_payload(self, suffix: str, payload: bytes) -> None:
        """Like set_value with a raw payload (e.g. float32 artefacts or settings min/max)."""
        self._topics[suffix] = payload
        if self.alive:
            self._publish(self.topic(suffix), payload)

    def set_values(self, values: dict[str, Any]) -> None:
        """set_value for several topics."""
        for suffix, value in values.items():
            self.set_value(suffix, value)

    def remove_service(self, service_type: str, instance: int | str) -> list[str]:
        """A service disappears: empty payloads on all its topics; returns their suffixes.

        Sent whether alive or not. The retained serial is never unpublished (dbus-flashmq).
        """
        prefix = f"{service_type}/{instance}/"
        removed = [s for s in self._topics if s.startswith(prefix)]
        for suffix in removed:
            if suffix != SERIAL_SUFFIX:
                del self._topics[suffix]
                self._publish(self.topic(suffix), b"")
        return removed

    def add_topics(self, topics: dict[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """A service appears: add suffix -> value pairs (published when alive)."""
        items = topics.items() if isinstance(topics, dict) else topics
        for suffix, value in items:
            self.set_value(suffix, value)

    def expire_keepalive(self) -> None:
        """Let the keep-alive run out now (as if keepalive_timeout had passed)."""
        self._alive_until = 0.0


def _echo_of(payload: bytes) -> str | None:
    """The echo token of a keep-alive request, like dbus-flashmq reads it (else None)."""
    if not payload:
        return None
    try:
        options = json.loads(payload).get("keepalive-options")
    except ValueError, AttributeError:
        return None
    echo = None
    if isinstance(options, list):
        for option in options:
            if isinstance(option, dict) and isinstance(option.get(ECHO_KEY), str):
                echo = option[ECHO_KEY]
    return echo


# --- script -------------------------------------------------------------------------------------


async def _run(args: argparse.Namespace) -> None:
    broker = None
    host, port, ca = args.host, args.port, args.ca_certs
    username, password = args.username, args.password
    if args.broker:
        from tests.fakes.mosquitto import start_broker

        users = {args.username: args.password} if args.username and args.password else None
        broker = start_broker(users=users, tls=args.tls, port=args.port)
        host, port = broker.host, broker.port
        if broker.certificate is not None:
            ca = str(broker.certificate.cert_path)
            print(f"TLS certificate {ca} sha256 {broker.certificate.sha256}")
    gx = GxSimulator(
        host,
        port,
        username=username,
        password=password,
        tls=args.tls,
        ca_certs=ca,
        tls_insecure=args.insecure,
        keepalive_timeout=args.keepalive_timeout,
    )
    try:
        await gx.start()
        print(f"GX simulator {gx.portal_id} on {host}:{port} ({len(gx.topics)} topics)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await gx.stop()
        if broker is not None:
            broker.stop()


def main(argv: list[str] | None = None) -> None:
    """Run a simulator until Ctrl-C (optionally with its own broker)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--ca-certs")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--keepalive-timeout", type=float, default=60.0)
    parser.add_argument("--broker", action="store_true", help="start mosquitto on host:port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
