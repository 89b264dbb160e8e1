"""Venus OS MQTT (FlashMQ + dbus-flashmq): parse what a GX publishes, build what we send to it.

Pure and sans-I/O: topic strings and payload bytes in, :class:`VenusMessage` records out; and
:class:`VenusSession`, the GX session (keep-alive, echoed full publishes, GX-lost timeout, writes
awaiting confirmation) as a state machine you feed messages and ask for events and messages to
publish, as h11 does for HTTP. Imports only the standard library and its own
:mod:`.venus_events` (what a session reports) and :mod:`.venus_services` (the services it
stores); no Home Assistant, no asyncio, no paho.
Source of every fact below: ``../shared/reference/protocols.md`` section 3 (§3.2 topics and
payloads, §3.3 portal id, §3.4 keep-alive, §3.5 read/write, §3.7 units, §3.8 service mapping).

Incoming (``N/`` = notification) topics, §3.2::

    N/<portal>/<service type>/<instance>/<D-Bus path, no leading slash>  {"value": <JSON>}
    N/<portal>/settings/0/Settings/...        {"value": 1, "min": 0, "max": 1}
    N/<portal>/<type>/<instance>/<path>       b""   (the service disappeared)
    N/<portal>/full_publish_completed         {"value": <unix s>,
                                               "full-publish-completed-echo": "<token>"}
    N/<portal>/heartbeat                      {"value": <unix s>}   (every 3 s while alive)
    N/<portal>/keepalive                      1     (once, when the plugin starts)

Values keep the GX's units, the D-Bus units: SI, except energy in kWh, temperature in °C and tank
volumes in m³ (§3.7). This module converts no units; it only removes float32 artefacts
(:func:`clean_float`).

Use :func:`parse_message` per message (the hot path: one dict lookup for a known topic, one JSON
scan), or a :class:`VenusParser` that keeps :class:`VenusStats` counters. Neither raises.

Input is bounded, whoever publishes on the GX's broker: a payload over :data:`MAX_PAYLOAD_BYTES`
or a topic over :data:`MAX_TOPIC_LENGTH` is dropped unread (counted), and the topic cache is kept
under :data:`TOPIC_CACHE_MAX_BYTES`. Numbers no double can hold (``1e999``, ``-1e999``, an
integer of 309 digits) become None, like the NaN / Infinity literals: a value is never inf.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
import json
from json.scanner import make_scanner
from math import isfinite
import struct
from typing import Any, Final

from .venus_events import (
    DATA_CHANGED,
    DataChanged,
    Event,
    FullPublishCompleted,
    GxBack,
    GxLost,
    GxRestarted,
    LimitCleared,
    LimitReached,
    Outgoing,
    PendingWrite,
    ServiceAppeared,
    ServiceRemoved,
    ServiceSettled,
    WriteConfirmed,
    WriteTimedOut,
)
from .venus_services import (
    LARGE_PAYLOAD,
    LIMIT_DATA,
    LIMIT_DEVICES,
    MAX_DEVICES,
    MAX_STORED_BYTES,
    REMOVAL_PATHS,
    Service,
    ServiceStore,
    at_device_cap,
    service_order,
    services_without_device,
)

__all__ = [
    "DATA_CHANGED",
    "FULL_PUBLISH_ECHO_KEY",
    "FULL_PUBLISH_RETRY",
    "GX_TIMEOUT",
    "KEEPALIVE_INTERVAL",
    "KEEPALIVE_TIMEOUT",
    "MAX_PAYLOAD_BYTES",
    "MAX_TOPIC_LENGTH",
    "SERIAL_TOPIC_FILTER",
    "SETTLE",
    "TOPIC_CACHE_MAX_BYTES",
    "WRITE_TIMEOUT",
    "DataChanged",
    "Event",
    "FullPublishCompleted",
    "GxBack",
    "GxLost",
    "GxRestarted",
    "JsonValue",
    "LimitCleared",
    "LimitReached",
    "MessageKind",
    "Outgoing",
    "PendingWrite",
    "ServiceAppeared",
    "ServiceRemoved",
    "ServiceSettled",
    "VenusMessage",
    "VenusParser",
    "VenusSession",
    "VenusStats",
    "WriteConfirmed",
    "WriteTimedOut",
    "clean_float",
    "keepalive_payload",
    "keepalive_topic",
    "notification_filter",
    "notification_topic",
    "parse_message",
    "read_topic",
    "serial_topic_filter",
    "topic_cache_info",
    "write_payload",
    "write_topic",
]

type JsonValue = Any
"""A decoded JSON value: None, bool, int, float, str, list or dict.

(``system/0/Batteries`` is a list of dicts.)
"""

SERIAL_TOPIC_FILTER: Final = "N/+/system/0/Serial"
"""Subscribe to learn the portal id: the only retained topic, ``{"value": "<portal id>"}``, §3.3."""
serial_topic_filter: Final = SERIAL_TOPIC_FILTER  # the lower-case name used in the project brief

FULL_PUBLISH_ECHO_KEY: Final = "full-publish-completed-echo"
"""Echo token key, in keep-alive options and in ``full_publish_completed`` (Venus >= 3.50), §3.4."""

KEEPALIVE_TIMEOUT: Final = 60.0
"""Seconds after the last keep-alive until dbus-flashmq stops publishing changes, §3.4."""

_SUPPRESS_REPUBLISH: Final = "suppress-republish"

MAX_PAYLOAD_BYTES: Final = 8192
"""Largest payload read, in bytes; longer ones are dropped unread (``VenusStats.oversized``).

A GX value is small: in the real boat recording (2,611 topics, fixtures/venus_mqtt) the median
payload is 12 bytes, 12 exceed 64 and the largest are JSON texts of the platform service:
``platform/0/CanBus/Interface/vecan0/Statistics`` 1,703 bytes, ``.../vecan1/Statistics`` 1,516,
``platform/0/Network/Services`` 888, ``system/0/Batteries`` 425 (grows with the number of
batteries, ~200 bytes each). 8 KiB is almost 5 times the largest; a system would need some
40 batteries before ``system/0/Batteries`` reached it."""

MAX_TOPIC_LENGTH: Final = 1024
"""Longest topic read, in characters; longer ones are bad topics (also ``oversized``). The
recording's longest is 110 (``N/<id>/settings/0/Settings/...``); MQTT allows 65,535."""

TOPIC_CACHE_MAX_BYTES: Final = 16 * 1024 * 1024
"""Bound of the topic cache's memory (estimated per entry as :data:`_CACHE_ENTRY_BYTES` plus
twice the topic's length: the topic and its path). The recording's 2,611 topics take 1.1 MiB,
about 0.75 MiB measured."""


class MessageKind(StrEnum):
    """What a parsed ``N/`` message is."""

    VALUE = "value"
    """``N/<id>/<type>/<inst>/<path>`` ``{"value": ...}``; the value may be None (D-Bus invalid)."""
    REMOVED = "removed"
    """Zero-byte payload on a value topic: the service disappeared (entities unavailable), §3.2."""
    KEEPALIVE = "keepalive"
    """``N/<id>/keepalive``: published by the plugin at start-up (payload ``1``), §3.3."""
    HEARTBEAT = "heartbeat"
    """``N/<id>/heartbeat`` ``{"value": <unix s>}``: every 3 s while kept alive, §3.4."""
    FULL_PUBLISH_COMPLETED = "full_publish_completed"
    """``N/<id>/full_publish_completed``: end of a full republish; ``.echo`` has the token, §3.4."""


_SPECIAL_KINDS: Final[dict[str, MessageKind]] = {
    "keepalive": MessageKind.KEEPALIVE,
    "heartbeat": MessageKind.HEARTBEAT,
    "full_publish_completed": MessageKind.FULL_PUBLISH_COMPLETED,
}


@dataclass(slots=True)
class VenusMessage:
    """One parsed ``N/`` message.

    Attributes:
        portal_id: the GX's portal (VRM) id, e.g. ``"c0619ab4e25c"``.
        service_type: third part of the D-Bus service name (``"battery"``, ``"solarcharger"``,
            ``"system"``, ``"settings"``, ...); ``""`` for keepalive, heartbeat and
            full_publish_completed.
        instance: the service's ``/DeviceInstance`` as an int (0 for system, settings, platform
            and the special topics). Services without a numeric instance keep the topic text:
            a real GX publishes ``N/<id>/vecan/vecan0/...``, giving ``"vecan0"``.
        path: the D-Bus path without its leading slash, e.g. ``"Dc/0/Voltage"``; for the special
            topics the topic's last part (``"heartbeat"``, ...).
        value: the JSON ``"value"`` with float32 artefacts removed (:func:`clean_float`). None for
            JSON null (D-Bus invalid), for NaN/Infinity, and for :attr:`MessageKind.REMOVED`.
        kind: see :class:`MessageKind`.
        min_value: the ``"min"`` key of a settings item, else None.
        max_value: the ``"max"`` key of a settings item, else None.
        echo: the ``"full-publish-completed-echo"`` token of full_publish_completed, else None.
    """

    portal_id: str
    service_type: str
    instance: int | str
    path: str
    value: JsonValue
    kind: MessageKind = MessageKind.VALUE
    min_value: JsonValue = None
    max_value: JsonValue = None
    echo: str | None = None

    @property
    def removed(self) -> bool:
        """True when the payload was empty: the topic (its service) was removed."""
        return self.kind is MessageKind.REMOVED

    @property
    def key(self) -> tuple[str, int | str]:
        """``(service_type, instance)``: the device the message belongs to."""
        return (self.service_type, self.instance)


@dataclass(slots=True)
class VenusStats:
    """Counters of :func:`parse_message` outcomes; each call increments exactly one of them.

    Attributes:
        messages: parsed values and special messages (removals not included).
        removed: empty payloads on value topics.
        not_notification: topics that do not start with ``N/`` (R/, W/, other applications).
        bad_topic: ``N/`` topics of the wrong shape: too few parts, an empty part, an MQTT
            wildcard, or a 3-part topic other than keepalive/heartbeat/full_publish_completed.
        bad_json: payloads that are not UTF-8 JSON.
        no_value: JSON that is not an object with a ``"value"`` key, on a value topic.
        oversized: not a separate outcome but the part of ``bad_json`` and ``bad_topic`` that
            was dropped unread for its size: payloads over :data:`MAX_PAYLOAD_BYTES` (counted
            in ``bad_json`` too) and topics over :data:`MAX_TOPIC_LENGTH` (in ``bad_topic``).
    """

    messages: int = 0
    removed: int = 0
    not_notification: int = 0
    bad_topic: int = 0
    bad_json: int = 0
    no_value: int = 0
    oversized: int = 0

    @property
    def errors(self) -> int:
        """Messages that could not be used: bad topics, bad JSON, JSON without value."""
        return self.bad_topic + self.bad_json + self.no_value


# --- floats -------------------------------------------------------------------------------------

_F32: Final = struct.Struct("<f")
_f32_pack: Final = _F32.pack
_f32_unpack: Final = _F32.unpack
_SHORT_FLOAT_TEXT: Final = 9
"""JSON number texts this short (<= 8 digits, e.g. ``-64.39``) are already clean."""


def _to_float32(x: float) -> float | None:
    try:
        result: float = _f32_unpack(_f32_pack(x))[0]
    except OverflowError:  # beyond float32's range: a genuine double
        return None
    return result


def clean_float(x: float) -> float:
    """Remove float32 and double-arithmetic artefacts from a value as it came from the GX, §3.2.

    Many Venus services hold float32 values that reach JSON as doubles: ``13.699999809265137``.

    * If ``x`` is exactly a float32, return the shortest decimal (6 to 9 significant digits)
      that maps to the same float32: ``13.699999809265137 -> 13.7``, ``-80.0999984741211 ->
      -80.1``, ``39.06312561035156 -> 39.063126``. A GPS position keeps every bit its float32
      had; a blunt 7-digit rounding would lose ~10 m at longitudes beyond ±100°.
    * Otherwise it is a genuine double: round to 12 significant digits, which removes
      double-arithmetic noise (``6.225000000000023 -> 6.225``, ``34.745000000000005 -> 34.745``)
      and keeps every digit a sensor can mean.

    NaN and infinities are returned unchanged (the parser turns JSON NaN/Infinity into None).
    """
    if not isfinite(x):
        return x
    if _to_float32(x) == x:
        for spec in (".6g", ".7g", ".8g"):
            y = float(format(x, spec))
            if _to_float32(y) == x:
                return y
        return float(format(x, ".9g"))
    return float(format(x, ".12g"))


def _parse_float(text: str) -> float | None:
    """json ``parse_float`` hook: short texts are clean; long ones go through clean_float.

    A number beyond a double's range (``1e999``: valid JSON, inf as a double) is None.
    """
    x = float(text)
    if x - x != 0.0:  # inf - inf is NaN: true only for ±inf (NaN never comes from a number text)
        return None
    if len(text) <= _SHORT_FLOAT_TEXT:
        return x
    return clean_float(x)


_INT_DIGITS_FOR_A_DOUBLE: Final = 308
"""An integer text longer than this may exceed a double (2**1024 has 309 digits); only payloads
at least that long are searched for such integers (5 of the recording's 2,611)."""


def _without_huge_ints(data: JsonValue) -> JsonValue:
    """`data` with every integer no double can hold replaced by None (iterative: any depth)."""
    if type(data) is int:
        return None if _too_big(data) else data
    stack: list[list[Any] | dict[str, Any]] = []
    if isinstance(data, (list, dict)):
        stack.append(data)
    while stack:
        node = stack.pop()
        items = enumerate(node) if isinstance(node, list) else node.items()
        for index, item in items:
            if type(item) is int:
                if _too_big(item):
                    node[index] = None  # type: ignore[index]
            elif isinstance(item, (list, dict)):
                stack.append(item)
    return data


def _too_big(number: int) -> bool:
    try:
        float(number)
    except OverflowError:
        return True
    return False


def _parse_constant(_name: str) -> None:
    """json ``parse_constant`` hook: NaN and ±Infinity are not JSON; read them as invalid."""
    return None


_DECODER: Final = json.JSONDecoder(parse_float=_parse_float, parse_constant=_parse_constant)
# typeshed types make_scanner's argument as itself; at run time it takes the decoder.
_scan_once: Final[Callable[[str, int], tuple[Any, int]]] = make_scanner(_DECODER)  # type: ignore[arg-type]
_JSON_SPACE: Final = " \t\n\r"


# --- topics -------------------------------------------------------------------------------------

type _Head = tuple[MessageKind, str, str, int | str, str]
"""A parsed topic: (kind, portal_id, service_type, instance, path)."""

_NOT_NOTIFICATION: Final = 1
_BAD_TOPIC: Final = 2
_TOO_LONG: Final = 3
_TOPIC_CACHE: dict[str, _Head] = {}
_TOPIC_CACHE_MAX: Final = 50_000
"""A GX publishes a few thousand distinct topics; cleared should garbage ever fill it."""
_CACHE_ENTRY_BYTES: Final = 320
"""Memory of a cache entry besides its two copies of the topic text (dict slot, head tuple, the
portal id and service type strings): 296 to 376 bytes measured with tracemalloc."""
_cache_bytes = 0


def topic_cache_info() -> tuple[int, int]:
    """``(entries, estimated bytes)`` of the module's topic cache, shared by every GX."""
    return len(_TOPIC_CACHE), _cache_bytes if _TOPIC_CACHE else 0


def _cache(topic: str, head: _Head) -> None:
    """Remember a parsed topic; start afresh when the cache reaches its count or byte bound."""
    global _cache_bytes  # noqa: PLW0603  (module state, like the cache itself)
    size = _CACHE_ENTRY_BYTES + 2 * len(topic)
    if len(_TOPIC_CACHE) >= _TOPIC_CACHE_MAX or _cache_bytes + size > TOPIC_CACHE_MAX_BYTES:
        _TOPIC_CACHE.clear()
        _cache_bytes = 0
    if not _TOPIC_CACHE:
        _cache_bytes = 0  # also emptied from outside (tests, benchmarks)
    _TOPIC_CACHE[topic] = head
    _cache_bytes += size


def _parse_topic(topic: str) -> _Head | int:
    """Split an MQTT topic into a head, or return _NOT_NOTIFICATION, _BAD_TOPIC or _TOO_LONG."""
    if not topic.startswith("N/"):
        return _NOT_NOTIFICATION
    if len(topic) > MAX_TOPIC_LENGTH:
        return _TOO_LONG
    if "+" in topic or "#" in topic or "\x00" in topic:
        return _BAD_TOPIC
    parts = topic.split("/", 4)
    if len(parts) == 5:
        _, portal_id, service_type, text, path = parts
        if not (portal_id and service_type and text and path):
            return _BAD_TOPIC
        instance: int | str = int(text) if text.isascii() and text.isdigit() else text
        return (MessageKind.VALUE, portal_id, service_type, instance, path)
    if len(parts) == 3 and parts[1]:
        special = _SPECIAL_KINDS.get(parts[2])
        if special is not None:
            return (special, parts[1], "", 0, parts[2])
    return _BAD_TOPIC


def parse_message(
    topic: str, payload: bytes, stats: VenusStats | None = None
) -> VenusMessage | None:
    """Parse one MQTT message received from a GX.

    Args:
        topic: the MQTT topic, e.g. ``"N/c0619ab4e25c/battery/275/Dc/0/Voltage"``.
        payload: the raw payload, e.g. ``b'{"value":13.699999809265137}'`` or ``b""``.
        stats: optional counters; exactly one is incremented per call (:class:`VenusStats`).

    Returns:
        A :class:`VenusMessage` (``value=13.7`` for the example); ``kind=REMOVED`` with
        ``value=None`` for an empty payload on a value topic. None when the topic is not an
        ``N/`` topic, is malformed or longer than :data:`MAX_TOPIC_LENGTH`, when the payload is
        not JSON or longer than :data:`MAX_PAYLOAD_BYTES`, or when a value topic's JSON has no
        ``"value"`` key; ``stats`` tells which. Numbers no double can hold are None. Never
        raises.
    """
    head = _TOPIC_CACHE.get(topic)
    if head is None:
        parsed = _parse_topic(topic)
        if isinstance(parsed, int):
            if stats is not None:
                if parsed == _NOT_NOTIFICATION:
                    stats.not_notification += 1
                else:
                    stats.bad_topic += 1
                    if parsed == _TOO_LONG:
                        stats.oversized += 1
            return None
        _cache(topic, parsed)
        head = parsed
    kind, portal_id, service_type, instance, path = head

    if not payload:
        if kind is MessageKind.VALUE:
            if stats is not None:
                stats.removed += 1
            return VenusMessage(portal_id, service_type, instance, path, None, MessageKind.REMOVED)
        if stats is not None:
            stats.messages += 1
        return VenusMessage(portal_id, service_type, instance, path, None, kind)

    long = len(payload) > _INT_DIGITS_FOR_A_DOUBLE  # rare: one comparison on the hot path
    if long and len(payload) > MAX_PAYLOAD_BYTES:
        if stats is not None:
            stats.bad_json += 1
            stats.oversized += 1
        return None
    try:  # one JSON document of UTF-8 bytes, read by the C scanner directly (about twice as
        # fast as json.loads on these small payloads; inline: a call costs more than it saves)
        text = payload.decode()
        try:
            data, end = _scan_once(text, 0)
        except StopIteration:  # no JSON value at index 0 (leading space or garbage): slow path
            data = _DECODER.decode(text)
        else:
            if end != len(text) and text[end:].strip(_JSON_SPACE):
                raise ValueError("extra data after the JSON value")
    except ValueError, RecursionError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        if stats is not None:
            stats.bad_json += 1
        return None
    if long:
        data = _without_huge_ints(data)

    if type(data) is dict:
        if "value" in data:
            value = data["value"]
            if len(data) == 1:  # the fast path: {"value": X}
                if stats is not None:
                    stats.messages += 1
                return VenusMessage(portal_id, service_type, instance, path, value, kind)
        elif kind is MessageKind.VALUE:
            if stats is not None:
                stats.no_value += 1
            return None
        else:  # full_publish_completed may carry only its echo (victron_mqtt's test payload)
            value = None
        if stats is not None:
            stats.messages += 1
        echo = data.get(FULL_PUBLISH_ECHO_KEY)
        return VenusMessage(
            portal_id,
            service_type,
            instance,
            path,
            value,
            kind,
            data.get("min"),
            data.get("max"),
            echo if isinstance(echo, str) else None,
        )
    if kind is MessageKind.VALUE:
        if stats is not None:
            stats.no_value += 1
        return None
    # N/<id>/keepalive carries a bare 1: the special topics accept any bare JSON value.
    if stats is not None:
        stats.messages += 1
    return VenusMessage(portal_id, service_type, instance, path, data, kind)


class VenusParser:
    """:func:`parse_message` with :class:`VenusStats` counters and the portal id kept.

    ``feed(topic, payload)`` returns what :func:`parse_message` returns. ``portal_id`` is the id
    of the first parsed message (victron_mqtt learns it the same way, §3.3).
    """

    __slots__ = ("portal_id", "stats")

    def __init__(self) -> None:
        """Start with zero counters and no portal id."""
        self.stats = VenusStats()
        self.portal_id: str | None = None

    def feed(self, topic: str, payload: bytes) -> VenusMessage | None:
        """Parse one message and count the outcome; never raise."""
        message = parse_message(topic, payload, self.stats)
        if message is not None and self.portal_id is None:
            self.portal_id = message.portal_id
        return message


# --- outgoing -----------------------------------------------------------------------------------


def _suffix(service_type: str, instance: int | str, path: str) -> str:
    return f"{service_type}/{instance}/{path.lstrip('/')}"


def notification_topic(portal_id: str, service_type: str, instance: int | str, path: str) -> str:
    """``N/<id>/<type>/<inst>/<path>``; a leading slash on ``path`` is dropped."""
    return f"N/{portal_id}/{_suffix(service_type, instance, path)}"


def notification_filter(portal_id: str) -> str:
    """``N/<id>/#``: every notification of one GX (the only filter VRM's broker accepts, §3.1)."""
    return f"N/{portal_id}/#"


def keepalive_topic(portal_id: str) -> str:
    """``R/<id>/keepalive``: where keep-alive requests go, §3.4."""
    return f"R/{portal_id}/keepalive"


def keepalive_payload(echo: str | None = None, *, suppress_republish: bool = False) -> bytes:
    """Payload for :func:`keepalive_topic`, §3.4.

    * ``keepalive_payload()`` -> ``b""``: full republish, then full_publish_completed.
    * ``keepalive_payload("ha-1")`` -> full republish; full_publish_completed echoes ``"ha-1"``
      (Venus >= 3.50; older versions ignore the option and send no echo).
    * ``keepalive_payload(suppress_republish=True)`` -> only extends the 60 s keep-alive.
    * both -> ``{"keepalive-options":[{"full-publish-completed-echo":"ha-1"},
      "suppress-republish"]}`` (what victron_mqtt sends every 30 s).
    """
    options: list[object] = []
    if echo is not None:
        options.append({FULL_PUBLISH_ECHO_KEY: echo})
    if suppress_republish:
        options.append(_SUPPRESS_REPUBLISH)
    if not options:
        return b""
    return json.dumps({"keepalive-options": options}, separators=(",", ":")).encode()


def read_topic(portal_id: str, service_type: str, instance: int | str, path: str) -> str:
    """``R/<id>/<type>/<inst>/<path>``: publish an empty payload to have that ``N/`` topic
    (or every leaf below a sub-tree) published; works without keep-alive, §3.5."""
    return f"R/{portal_id}/{_suffix(service_type, instance, path)}"


def write_topic(portal_id: str, service_type: str, instance: int | str, path: str) -> str:
    """``W/<id>/<type>/<inst>/<path>``: publish :func:`write_payload`, never retained, §3.5."""
    return f"W/{portal_id}/{_suffix(service_type, instance, path)}"


def write_payload(value: JsonValue) -> bytes:
    """``{"value": X}`` as compact UTF-8 JSON: ``write_payload(-200) == b'{"value":-200}'``."""
    return json.dumps({"value": value}, separators=(",", ":")).encode()


# --- the session ----------------------------------------------------------------------------------

KEEPALIVE_INTERVAL: Final = 30.0
"""Seconds between keep-alives (the GX's own keep-alive lasts :data:`KEEPALIVE_TIMEOUT`), §3.4."""
FULL_PUBLISH_RETRY: Final = 30.0
"""Seconds after which an unanswered full-publish request is sent again."""
GX_TIMEOUT: Final = 15.0
"""Seconds without any message (heartbeats come every 3 s) after which the GX counts as lost."""
SETTLE: Final = 2.0
"""Seconds a new service may take to publish its name before it is due as a device anyway (when
no full publish completes first)."""
WRITE_TIMEOUT: Final = 5.0
"""Seconds a write waits for the GX to publish the written value before it times out."""

_SUPPRESS_PAYLOAD: Final = keepalive_payload(suppress_republish=True)
_VALUE: Final = MessageKind.VALUE
_REMOVED: Final = MessageKind.REMOVED
_HEARTBEAT: Final = MessageKind.HEARTBEAT
_COMPLETED: Final = MessageKind.FULL_PUBLISH_COMPLETED
_KEEPALIVE: Final = MessageKind.KEEPALIVE


def _confirms(write: PendingWrite, value: JsonValue) -> bool:
    """Whether the GX reporting `value` confirms `write`: the written value (numbers within
    1 ppm, so that a float32 echo confirms a double), or one of its ``accept`` values."""
    wanted = write.value
    number = (int, float)
    if type(value) in number and type(wanted) in number:
        if abs(value - wanted) <= 1e-6 * max(abs(value), abs(wanted)):
            return True
    elif value == wanted:
        return True
    try:
        return value in write.accept
    except TypeError:  # an unhashable report (a list) accepts nothing
        return False


_CHANGED: Final[tuple[DataChanged]] = (DATA_CHANGED,)
_NO_EVENTS: Final[tuple[()]] = ()


class VenusSession[C]:
    """The GX session, sans-I/O: MQTT messages in, events and messages to publish out.

    Like h11 for HTTP: it owns the protocol's state and never does I/O or reads a clock; every
    call that depends on time takes ``now`` (seconds of a monotonic clock). Its owner subscribes
    :func:`notification_filter`, then on every connection calls :meth:`connected`, feeds every
    message to :meth:`receive`, calls :meth:`tick` about once a second, and publishes what
    they return (protocols.md §3.4, §3.5):

    * on connect (and when the GX is back or restarted): a full publish with a fresh echo token
      ``<token_prefix>-<n>`` (``R/<id>/keepalive``
      ``{"keepalive-options":[{"full-publish-completed-echo":"<token>"}]}``), asked again after
      ``full_publish_retry`` s without an answer; otherwise
      ``{"keepalive-options":["suppress-republish"]}`` every ``keepalive_interval`` s keeps the
      GX publishing changes (its keep-alive lasts 60 s).
    * ``full_publish_completed`` with our token: every service the GX has was just published,
      so services and paths not seen since the request (its epoch) are removed
      (:class:`ServiceRemoved`), and device services without a device are reported
      (:class:`FullPublishCompleted`) and wait in :meth:`next_device_due`. Values that arrive
      after it are ordinary changes.
    * nothing at all (not even the 3 s heartbeat) for ``gx_timeout`` s: :class:`GxLost`, and a
      new full publish is requested (a keep-alive that lapsed starts again); the first data
      afterwards gives :class:`GxBack`.
    * an empty payload on an identity path (:data:`.venus_services.REMOVAL_PATHS`), or on the
      last path of a service: the service is gone.
    * :meth:`write` builds ``W/<id>/<type>/<inst>/<path>`` ``{"value": X}`` and waits for the
      GX to publish X on that path (:class:`WriteConfirmed`), at most ``write_timeout`` s
      (:class:`WriteTimedOut`).

    Values go into :attr:`store` (:class:`.venus_services.ServiceStore`, bounded in bytes); at
    most ``max_devices`` devices are handed out (:class:`ServiceSettled`,
    :meth:`next_device_due`), and :meth:`attach` records each device the owner creates (``C``
    is the type of its handle, ``Service.coordinator``).

    Args:
        portal_id: the GX's portal id.
        included: service types that become devices.
        token_prefix: start of our echo tokens (an MQTT client id).
        identity_paths: paths that name a device (a change sets ``Service.identity_changed``).
        keepalive_interval, full_publish_retry, gx_timeout, settle, write_timeout: seconds.
        max_devices, max_stored_bytes: the caps (devices per GX, the store's bytes).
    """

    __slots__ = (
        "_all_devices",
        "_answered",
        "_clock",
        "_devices",
        "_devices_due",
        "_dirty",
        "_echo",
        "_echo_counter",
        "_epoch",
        "_events",
        "_full_publish_epoch",
        "_full_publish_sent",
        "_keepalive_topic",
        "_last_keepalive",
        "_outbox",
        "_pending",
        "_services",
        "_watching",
        "complete_publish",
        "devices_added",
        "full_publish_retry",
        "full_publishes_completed",
        "full_publishes_requested",
        "gx_timeout",
        "heartbeats",
        "identity_paths",
        "keepalive_interval",
        "keepalives_sent",
        "last_message",
        "lost",
        "max_devices",
        "portal_id",
        "settle",
        "stats",
        "store",
        "token_prefix",
        "write_timeout",
    )

    def __init__(
        self,
        portal_id: str,
        *,
        included: frozenset[str],
        token_prefix: str = "ha",
        identity_paths: frozenset[str] = frozenset(),
        keepalive_interval: float = KEEPALIVE_INTERVAL,
        full_publish_retry: float = FULL_PUBLISH_RETRY,
        gx_timeout: float = GX_TIMEOUT,
        settle: float = SETTLE,
        write_timeout: float = WRITE_TIMEOUT,
        max_devices: int = MAX_DEVICES,
        max_stored_bytes: int = MAX_STORED_BYTES,
    ) -> None:
        """A session that has not connected yet."""
        self.portal_id = portal_id
        self.token_prefix = token_prefix
        self.identity_paths = identity_paths
        self.keepalive_interval = keepalive_interval
        self.full_publish_retry = full_publish_retry
        self.gx_timeout = gx_timeout
        self.settle = settle
        self.write_timeout = write_timeout
        self.max_devices = max_devices
        self.stats = VenusStats()
        self.store: ServiceStore[C] = ServiceStore(included, max_stored_bytes)
        self._services = self.store.services
        self._dirty: list[Service[C]] = []
        self._devices_due: deque[Service[C]] = deque()
        self._devices = 0  # services with a device, besides the GX's own (system)
        self._all_devices = 0  # services with a device
        #: Whether the latest completed full publish carried our echo (removals happened).
        self.complete_publish = False
        self._pending: dict[tuple[str, int | str, str], list[PendingWrite]] = {}
        self._answered: dict[int, bool] = {}  # id(pending write) -> the GX published another value
        self._outbox: list[Outgoing] = []
        self._events: list[Event[C]] = []
        self._keepalive_topic = keepalive_topic(portal_id)
        self._epoch = 0
        self._echo: str | None = None
        self._echo_counter = 0
        self._full_publish_epoch = 0
        self._full_publish_sent = 0.0
        self._last_keepalive = 0.0
        self._clock = 0.0  # the latest `now` of connected() / tick() / a heartbeat
        #: Clock time of the latest sign of life (0.0: none yet).
        self.last_message = 0.0
        #: True from GxLost until data flows again.
        self.lost = False
        self._watching = False  # lost, or writes pending: the hot path has more to do
        # counters for diagnostics
        self.keepalives_sent = 0
        self.full_publishes_requested = 0
        self.full_publishes_completed = 0
        self.heartbeats = 0
        self.devices_added = 0

    @property
    def echo(self) -> str | None:
        """The echo token of the full publish we wait for (None: none outstanding)."""
        return self._echo

    @property
    def services(self) -> dict[tuple[str, int | str], Service[C]]:
        """The GX's services by (service type, instance)."""
        return self._services

    def attach(self, service: Service[C], coordinator: C) -> None:
        """The owner created `service`'s device, with the handle `coordinator`."""
        service.coordinator = coordinator
        service.identity_changed = False
        self.devices_added += 1
        self._devices += service.service_type != "system"
        self._all_devices += 1

    def _room(self, service: Service[C], taken: int = 0) -> bool:
        """Whether `service` may become a device besides `taken` about to; reports the device
        cap (:class:`LimitReached`, once) when not."""
        if not at_device_cap(service, self._devices + taken, self.max_devices):
            return True
        if self.store.hit(LIMIT_DEVICES):
            self._events.append(LimitReached(LIMIT_DEVICES))
        return False

    def _remove(self, service: Service[C]) -> None:
        self.store.remove(service)
        if service.coordinator is not None:
            self._devices -= service.service_type != "system"
            self._all_devices -= 1

    # --- in ---------------------------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes, now: float) -> Sequence[Event[C]]:
        """Take one MQTT message received at `now`; return what it caused (usually nothing, or
        :class:`DataChanged` once per service until :meth:`take_changed`). Never raises: bad
        input is counted in :attr:`stats` (and dropped topics in ``store.topics_dropped``).
        Messages to publish in reply (a full-publish request) wait in :meth:`data_to_send`."""
        message = parse_message(topic, payload, self.stats)
        if message is None:
            return _NO_EVENTS
        kind = message.kind
        if kind is _VALUE:
            service = self._services.get((message.service_type, message.instance))
            path = message.path
            appeared: ServiceAppeared[C] | None = None
            if service is not None and path in service.data:  # a known topic: the hot path
                if len(payload) > LARGE_PAYLOAD and not self.store.fits_large(
                    service, path, len(payload)
                ):
                    return self._limit(LIMIT_DATA)
                service.data[path] = message.value
            else:  # a new service, a new path, or a path that was null
                known = service
                key = (message.service_type, message.instance)
                service = self.store.store_new(
                    known, key, path, message.value, size=len(payload), now=now
                )
                if service is None:
                    return self._limit(LIMIT_DATA)
                if known is None:
                    appeared = ServiceAppeared(service)
            service.received.add(path)
            if message.max_value is not None or message.min_value is not None:
                service.limits[path] = (message.min_value, message.max_value)  # a settings item
            if self._echo is not None:  # a full publish is on its way: note what it has
                service.fresh.add(path)
                service.seen = self._epoch
            if path in self.identity_paths:
                service.identity_changed = True
            self.last_message = now
            if appeared is not None or self._watching:  # lost, or writes wait: more to do
                return self._changed(service, message, appeared, now)
            if service.dirty:
                return _NO_EVENTS
            service.dirty = True
            self._dirty.append(service)
            return _CHANGED
        if kind is _REMOVED:
            return self._removed(message)
        events: list[Event[C]] = []
        if kind is _HEARTBEAT:
            self.heartbeats += 1
            self._alive(now, events)
        elif kind is _COMPLETED:
            self._alive(now, events)
            self._completed(message.echo, events)
        elif kind is _KEEPALIVE:  # the plugin (re)started: it knows nothing of our keep-alive
            events.append(GxRestarted())
            self._request_full_publish(now)
        return events

    def take_changed(self) -> list[Service[C]]:
        """The services that changed since the last call (each once), in order of change."""
        dirty, self._dirty = self._dirty, []
        for service in dirty:
            service.dirty = False
        return dirty

    def _changed(
        self,
        service: Service[C],
        message: VenusMessage,
        appeared: ServiceAppeared[C] | None,
        now: float,
    ) -> list[Event[C]]:
        """The events of a stored value off the hot path: a new service, confirmed writes,
        the GX back, the service's first change since :meth:`take_changed`."""
        events: list[Event[C]] = [] if appeared is None else [appeared]
        if self._pending:
            self._confirm(message, events)
        if not service.dirty:
            service.dirty = True
            self._dirty.append(service)
            events.append(DATA_CHANGED)
        if self.lost:
            self._alive(now, events)
        return events

    def _watch(self) -> None:
        self._watching = self.lost or bool(self._pending)

    def _alive(self, now: float, events: list[Event[C]]) -> None:
        self.last_message = self._clock = now
        if self.lost:
            self.lost = False
            self._watch()
            events.append(GxBack())
            if self._echo is None:
                self._request_full_publish(now)

    def _limit(self, limit: str) -> Sequence[Event[C]]:
        return [LimitReached(limit)] if self.store.hit(limit) else _NO_EVENTS

    def _confirm(self, message: VenusMessage, events: list[Event[C]]) -> None:
        key = (message.service_type, message.instance, message.path)
        writes = self._pending.get(key, [])
        value = message.value
        for write in list(writes):
            if _confirms(write, value):
                writes.remove(write)
                self._answered.pop(id(write), None)
                events.append(WriteConfirmed(write))
            else:  # the GX answered with another value: refused or changed (kept till timeout)
                self._answered[id(write)] = True
        if not writes:
            self._pending.pop(key, None)
            self._watch()

    def _removed(self, message: VenusMessage) -> Sequence[Event[C]]:
        """An empty payload: the path, and with an identity path the service, is gone."""
        service = self._services.get((message.service_type, message.instance))
        if service is None:
            return _NO_EVENTS
        self.store.forget_path(service, message.path)
        if message.path in REMOVAL_PATHS or not service.data:
            self._remove(service)
            return [ServiceRemoved(service, "removed from the GX")]
        return _NO_EVENTS

    def _completed(self, echo: str | None, events: list[Event[C]]) -> None:
        """Our full publish is complete: remove what the GX lacks, report new devices.

        With our echo, everything the GX did not republish is gone: services (devices or not,
        unknown service types too) and the paths of the others. Without an echo (Venus OS
        before 3.50) nothing is removed: another client's full publish cannot be told from ours.
        """
        if self._echo is None or (echo is not None and echo != self._echo):
            return
        self._echo = None
        self.full_publishes_completed += 1
        complete = echo is not None
        changed = False
        for service in list(self._services.values()):
            if complete:
                if service.seen < self._full_publish_epoch:
                    self._remove(service)
                    events.append(ServiceRemoved(service, "not published by the GX any more"))
                elif self.store.forget_stale_paths(service) and not service.dirty:
                    service.dirty = changed = True
                    self._dirty.append(service)
            service.fresh = set()
        if changed:
            events.append(DATA_CHANGED)
        if complete:
            cleared = self.store.limits_cleared(self.max_devices)
            events.extend(LimitCleared(limit) for limit in sorted(cleared))
        new = tuple(
            service
            for service in sorted(self._services.values(), key=service_order)
            if service.device and service.coordinator is None and service.data
        )
        self._devices_due.extend(new)
        self.complete_publish = complete
        events.append(FullPublishCompleted(echo, complete, new))

    @property
    def devices_due(self) -> bool:
        """True while services of completed full publishes wait to become devices."""
        return bool(self._devices_due)

    def next_device_due(self) -> Service[C] | None:
        """The next service of a completed full publish that should become a device now (one
        at a time: the owner paces them and calls :meth:`attach`), skipping those that got one
        or went, or do not fit under ``max_devices`` (then :class:`LimitReached` waits in
        :meth:`events`); None if none."""
        while self._devices_due:
            service = self._devices_due.popleft()
            if service.coordinator is None and not service.removed and self._room(service):
                return service
        return None

    # --- connection and time ----------------------------------------------------------------------

    def connected(self, now: float) -> list[Outgoing]:
        """The connection to the broker is up (subscribed): ask for a full publish."""
        self.last_message = self._clock = now
        self._request_full_publish(now)
        return self.data_to_send()

    def connection_lost(self, reason: str) -> list[Event[C]]:
        """The connection to the broker is down: the GX is lost (:class:`GxLost`)."""
        first = not self.lost
        self.lost = self._watching = True
        return [GxLost(reason, first)]

    def tick(self, now: float) -> list[Outgoing]:
        """Call about once a second while connected: returns the keep-alive or full-publish
        request due now; the events it caused (:class:`GxLost`, :class:`ServiceSettled`,
        :class:`WriteTimedOut`) wait in :meth:`events`."""
        self._clock = now
        if self._echo is not None and now - self._full_publish_sent >= self.full_publish_retry:
            self._request_full_publish(now)
        elif now - self._last_keepalive >= self.keepalive_interval:
            self._outbox.append((self._keepalive_topic, _SUPPRESS_PAYLOAD))
            self.keepalives_sent += 1
            self._last_keepalive = now
        if self._pending:
            self._expire_writes(now)
        if now - self.last_message > self.gx_timeout:
            if not self.lost:
                self.lost = self._watching = True
                self._events.append(GxLost(f"no data from the GX for {self.gx_timeout:.0f} s"))
                self._request_full_publish(now)
            return self.data_to_send()
        settled = 0
        for service in self._services.values():
            if (
                service.device
                and service.coordinator is None
                and not service.removed
                and service.data
                and now - service.first_seen >= self.settle
                and self._room(service, settled)
            ):
                self._events.append(ServiceSettled(service))
                settled += service.service_type != "system"
        return self.data_to_send()

    def events(self) -> list[Event[C]]:
        """The events of :meth:`tick` since the last call (then forgotten)."""
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> list[Outgoing]:
        """Messages to publish now (then forgotten): requests :meth:`receive` made."""
        outbox, self._outbox = self._outbox, []
        return outbox

    def _request_full_publish(self, now: float) -> None:
        """Ask the GX to publish every topic, then full_publish_completed with a new token."""
        self._echo_counter += 1
        self._echo = f"{self.token_prefix}-{self._echo_counter}"
        for service in self._services.values():
            service.fresh.clear()
        self._epoch += 1
        self._full_publish_epoch = self._epoch
        self._full_publish_sent = self._last_keepalive = now
        self._outbox.append((self._keepalive_topic, keepalive_payload(self._echo)))
        self.full_publishes_requested += 1
        self.keepalives_sent += 1

    # --- out --------------------------------------------------------------------------------------

    def write(
        self,
        path: str,
        value: JsonValue,
        now: float | None = None,
        *,
        accept: frozenset[JsonValue] = frozenset(),
    ) -> Outgoing:
        """The message that sets `path` (``"<service type>/<instance>/<D-Bus path>"``, e.g.
        ``"settings/0/Settings/CGwacs/AcPowerSetPoint"``) to `value`, §3.5; it waits for
        confirmation from `now` (default: the latest time the session was given) for
        ``write_timeout`` s. The GX publishing `value` (numbers within 1 ppm: a float32 echo) or
        one of `accept` on that path confirms it (:class:`WriteConfirmed`); nothing does within
        the timeout: :class:`WriteTimedOut` (``answered`` when the GX published another value).

        Returns ``("W/<id>/<type>/<inst>/<path>", b'{"value":X}')``. Raises ValueError for a
        path without three parts, or a value that is not finite JSON (NaN, infinities).
        """
        service_type, _, rest = path.strip("/").partition("/")
        text, _, dbus_path = rest.partition("/")
        if not (service_type and text and dbus_path):
            raise ValueError(f"not <service type>/<instance>/<path>: {path!r}")
        instance: int | str = int(text) if text.isascii() and text.isdigit() else text
        try:
            payload = json.dumps({"value": value}, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as err:
            raise ValueError(f"cannot write {value!r} to {path}: {err}") from None
        topic = write_topic(self.portal_id, service_type, instance, dbus_path)
        key = (service_type, instance, dbus_path)
        start = max(self._clock, self.last_message) if now is None else now
        write = PendingWrite(key, value, topic, payload, start + self.write_timeout, accept)
        self._pending.setdefault(key, []).append(write)
        self._watching = True
        return topic, payload

    @property
    def pending_writes(self) -> list[PendingWrite]:
        """Writes waiting for confirmation, oldest first per path."""
        return [write for writes in self._pending.values() for write in writes]

    def _expire_writes(self, now: float) -> None:
        for key, writes in list(self._pending.items()):
            expired = [write for write in writes if now >= write.deadline]
            if not expired:
                continue
            service = self._services.get((key[0], key[1]))
            reported = service.data.get(key[2]) if service is not None else None
            for write in expired:
                writes.remove(write)
                answered = self._answered.pop(id(write), False)
                self._events.append(WriteTimedOut(write, reported, answered))
            if not writes:
                del self._pending[key]
        self._watch()

    # --- diagnostics ------------------------------------------------------------------------------

    def diagnostics(
        self, now: float, known: Mapping[str, frozenset[str]], identity: Container[str]
    ) -> dict[str, Any]:
        """The parser's counters (``parser``), the session's state and counters at `now`
        (``gx``) and every stored topic with secrets redacted (``topics``, see
        :meth:`.venus_services.ServiceStore.topics`); `known` and `identity` tell which paths
        are unknown (see :meth:`.venus_services.ServiceStore.unknown_paths`)."""
        store = self.store
        return {
            "parser": {**asdict(self.stats), "errors": self.stats.errors},
            "gx": {
                "lost": self.lost,
                "seconds_since_last_message": round(now - self.last_message, 1)
                if self.last_message
                else None,
                "heartbeats": self.heartbeats,
                "keepalives_sent": self.keepalives_sent,
                "full_publishes_requested": self.full_publishes_requested,
                "full_publishes_completed": self.full_publishes_completed,
                "services": len(self._services),
                "devices": self._all_devices,
                "devices_added": self.devices_added,
                "unknown_paths": store.unknown_paths(known, identity),
                "services_without_device": services_without_device(self._services.values()),
                "topics_dropped": store.topics_dropped,
                "stored_bytes": store.stored_bytes,
                "limits_hit": sorted(store.limits_hit),
                "included_service_types": sorted(store.included),
            },
            "topics": store.topics(self.portal_id),
        }
