"""Venus OS MQTT (FlashMQ + dbus-flashmq): parse what a GX publishes, build what we send to it.

Pure and sans-I/O: topic strings and payload bytes in, :class:`VenusMessage` records out. Imports
only the standard library (json, math, struct); no Home Assistant, no asyncio, no paho.
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

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import json
from json.scanner import make_scanner
from math import isfinite
import struct
from typing import Any, Final

__all__ = [
    "FULL_PUBLISH_ECHO_KEY",
    "KEEPALIVE_TIMEOUT",
    "MAX_PAYLOAD_BYTES",
    "MAX_TOPIC_LENGTH",
    "SERIAL_TOPIC_FILTER",
    "TOPIC_CACHE_MAX_BYTES",
    "JsonValue",
    "MessageKind",
    "VenusMessage",
    "VenusParser",
    "VenusStats",
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


def _loads(payload: bytes) -> JsonValue:
    """Decode one JSON document from UTF-8 bytes.

    Raises ValueError (JSONDecodeError, UnicodeDecodeError) or RecursionError. Uses the C
    scanner directly: about 2x faster than ``json.loads`` on these small payloads.
    """
    text = payload.decode()
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:  # no JSON value at index 0 (leading space or garbage): slow path
        return _DECODER.decode(text)
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        raise ValueError("extra data after the JSON value")
    return value


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
    try:
        data = _loads(payload)
    except ValueError, RecursionError:
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
