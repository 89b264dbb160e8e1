r"""VE.Direct HEX request session (sans-I/O): one request in flight per port, timeout and retry.

Pure: no I/O, no asyncio, no Home Assistant. The I/O side (sources/vedirect.py) feeds it the HEX
lines the TEXT parser cut out of the stream (``VEDirectParser.hex_lines``) and the clock, and
writes the lines it hands out. Modelled on h11: nothing happens unless the caller asks.

Facts (protocols.md §1.4 and the documents cited in :mod:`.vedirect_hex`):

* the device keeps sending TEXT; "a response to a hex message will always wait until the text
  message finishes" (VE.Direct changelog quoted in §1.1), so an answer can take a whole TEXT
  period (1 s, 2 s on MPPT firmware >= 1.53): :data:`DEFAULT_TIMEOUT` is 3 s;
* a Get is answered with response 7, a Set with 8, both carrying ``register flags value``
  (flags != 0: unknown id / not supported / parameter error); a Ping with 5; an unknown command
  nibble with 3; a line the device could not frame with ``:4AAAAFD`` (error, data 0xAAAA);
* the device sends Async (A) frames by itself at any time, also between a request and its answer.

Usage::

    session = HexSession()
    request = session.request(vedirect_hex.get(0xEDF0))    # queued
    line = session.next_line(now)                           # -> write it (None: nothing to send)
    events = session.receive(vedirect_hex.decode_line(raw), now)   # for each HEX line read
    events += session.tick(now)                             # when session.deadline() has passed

Events: :class:`HexValue` (a register's value, from any Get/Set response or Async frame with flags
0), :class:`HexAnswered` (the in-flight request's answer; flags may say it failed),
:class:`HexFailed` (no answer after all attempts, or the device did not know the command).
A framing error (0xAAAA) or a timeout sends the same line again, up to ``retries`` more times.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Final

from .vedirect_hex import (
    CMD_GET,
    CMD_PING,
    CMD_SET,
    RSP_ASYNC,
    RSP_DONE,
    RSP_GET,
    RSP_PING,
    RSP_SET,
    RSP_UNKNOWN,
    HexMessage,
    decode_line,
)

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "FAIL_FRAMING",
    "FAIL_TIMEOUT",
    "FAIL_UNKNOWN_COMMAND",
    "MAX_QUEUE",
    "HexAnswered",
    "HexFailed",
    "HexRequest",
    "HexSession",
    "HexValue",
    "device_family",
]

DEFAULT_TIMEOUT: Final = 3.0
"""Seconds to wait for an answer (one 2 s TEXT period plus margin, see the module docstring)."""
DEFAULT_RETRIES: Final = 2
"""Times a request is sent again after a timeout or a framing error (3 attempts in all)."""
MAX_QUEUE: Final = 64
"""Requests that may wait behind the one in flight; more raise OverflowError."""

FAIL_TIMEOUT: Final = "timeout"
"""No answer after every attempt."""
FAIL_FRAMING: Final = "framing_error"
"""Every attempt was answered with the framing error 0xAAAA."""
FAIL_UNKNOWN_COMMAND: Final = "unknown_command"
"""The device answered 3 (unknown command)."""

_ANSWER: Final[dict[int, int]] = {CMD_GET: RSP_GET, CMD_SET: RSP_SET, CMD_PING: RSP_PING}


@dataclass(eq=False, slots=True)
class HexRequest:
    """One queued or in-flight request: the whole line sent, its command and register.

    ``attempts`` counts the lines sent so far; ``sent_at`` is the clock of the last one (None
    while queued); ``framing_errors`` counts 0xAAAA answers to it.
    """

    line: bytes
    command: int
    register: int | None
    attempts: int = 0
    sent_at: float | None = None
    framing_errors: int = 0

    def answers(self, message: HexMessage) -> bool:
        """Whether `message` is this request's answer (same response nibble and register)."""
        expected = _ANSWER.get(self.command, RSP_DONE)
        if message.command != expected:
            return False
        return self.register is None or message.register == self.register


@dataclass(frozen=True, slots=True)
class HexValue:
    """A register's raw value as the device reported it (Get/Set answer or Async, flags 0)."""

    register: int
    data: bytes
    is_async: bool


@dataclass(frozen=True, slots=True)
class HexAnswered:
    """The in-flight request's answer; ``message.flags`` != 0 means the device refused it."""

    request: HexRequest
    message: HexMessage


@dataclass(frozen=True, slots=True)
class HexFailed:
    """A request that got no usable answer: ``reason`` is one of the ``FAIL_*`` constants."""

    request: HexRequest
    reason: str


type HexEvent = HexValue | HexAnswered | HexFailed


@dataclass(slots=True)
class HexSession:
    """The HEX requests of one port: a queue, one in flight, its timeout and retries.

    ``timeout`` in seconds of the caller's clock; ``retries`` extra attempts. Counters for the
    diagnostics: ``sent`` (lines handed out), ``answered``, ``timeouts`` (attempts that timed
    out), ``framing_errors``, ``failed``, ``async_frames``, ``unmatched`` (answers nobody waits
    for, e.g. a late answer after a retry: their values still count as :class:`HexValue`).
    """

    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    queue: deque[HexRequest] = field(default_factory=deque)
    in_flight: HexRequest | None = None
    sent: int = 0
    answered: int = 0
    timeouts: int = 0
    framing_errors: int = 0
    failed: int = 0
    async_frames: int = 0
    unmatched: int = 0

    def request(self, line: bytes) -> HexRequest:
        r"""Queue a whole line built by :mod:`.vedirect_hex` (``get``/``set``/``ping``/...).

        Raises ValueError for a line :func:`.vedirect_hex.decode_line` does not accept and
        OverflowError when :data:`MAX_QUEUE` requests already wait.
        """
        message = decode_line(line)
        if message is None:
            raise ValueError(f"not a valid HEX line: {line!r}")
        if len(self.queue) >= MAX_QUEUE:
            raise OverflowError("too many HEX requests waiting")
        request = HexRequest(bytes(line), message.command, message.register)
        self.queue.append(request)
        return request

    @property
    def busy(self) -> bool:
        """Whether a request is in flight or queued."""
        return self.in_flight is not None or bool(self.queue)

    def next_line(self, now: float) -> bytes | None:
        """The line to write now: the next queued request's when none is in flight (it is then
        in flight from `now`), a retry's (see :meth:`tick`), else None."""
        request = self.in_flight
        if request is None:
            if not self.queue:
                return None
            request = self.in_flight = self.queue.popleft()
        elif request.sent_at is not None:
            return None  # still waiting for its answer
        request.attempts += 1
        request.sent_at = now
        self.sent += 1
        return request.line

    def deadline(self) -> float | None:
        """The clock at which :meth:`tick` has work (the in-flight request times out), or None."""
        request = self.in_flight
        if request is None or request.sent_at is None:
            return None
        return request.sent_at + self.timeout

    def tick(self, now: float) -> list[HexEvent]:
        """Time out the in-flight request when its deadline passed: it is sent again by the next
        :meth:`next_line` or, after its last attempt, fails (:data:`FAIL_TIMEOUT`)."""
        request = self.in_flight
        deadline = self.deadline()
        if request is None or deadline is None or now < deadline:
            return []
        self.timeouts += 1
        return self._retry_or_fail(request, FAIL_TIMEOUT)

    def _retry_or_fail(self, request: HexRequest, reason: str) -> list[HexEvent]:
        if request.attempts <= self.retries:
            request.sent_at = None  # next_line sends it again
            return []
        self.in_flight = None
        self.failed += 1
        return [HexFailed(request, reason)]

    def receive(self, message: HexMessage | None, now: float) -> list[HexEvent]:
        """Take one decoded HEX line from the device (None, a bad line, is ignored).

        Returns the values it carries and what it means for the request in flight. A framing
        error answer sends the in-flight request again (or fails it after the last attempt).
        ``now`` is accepted for symmetry with :meth:`tick` (answers are not time-checked).
        """
        del now
        if message is None:
            return []
        events: list[HexEvent] = []
        if message.register is not None and not message.flags:
            events.append(HexValue(message.register, message.data, message.is_async))
        if message.command == RSP_ASYNC:
            self.async_frames += 1
            return events
        request = self.in_flight
        if message.is_framing_error:
            self.framing_errors += 1
            if request is not None and request.sent_at is not None:
                request.framing_errors += 1
                events.extend(self._retry_or_fail(request, FAIL_FRAMING))
            return events
        if request is not None and message.command == RSP_UNKNOWN:
            self.in_flight = None
            self.failed += 1
            events.append(HexFailed(request, FAIL_UNKNOWN_COMMAND))
            return events
        if request is not None and request.answers(message):
            self.in_flight = None
            self.answered += 1
            events.append(HexAnswered(request, message))
            return events
        self.unmatched += 1
        return events

    def cancel_all(self) -> list[HexRequest]:
        """Drop every request (the port closed): returns them so their waiters can be failed."""
        dropped = list(self.queue)
        if self.in_flight is not None:
            dropped.insert(0, self.in_flight)
        self.queue.clear()
        self.in_flight = None
        return dropped


def device_family(labels: Container[str], model: str | None) -> str | None:
    """The HEX family of a device from its TEXT labels and model name (protocols.md §1.3, §1.8).

    ``"mppt"`` (PPV or VPV: a solar charger), ``"inverter"`` (AC_OUT_V: a Phoenix inverter),
    ``"bmv"`` (SOC or H17: a battery monitor), ``"charger"`` (a model named "... Charger" with
    none of those: Blue Smart / Phoenix Smart IP22/IP65/IP67), else None (Orion DC-DC, unknown):
    no HEX controls.
    """
    if "PPV" in labels or "VPV" in labels:
        return "mppt"
    if "AC_OUT_V" in labels:
        return "inverter"
    if "SOC" in labels or "H17" in labels:
        return "bmv"
    if model is not None and "charger" in model.lower() and "mppt" not in model.lower():
        return "charger"
    return None
