"""One JBD request in flight over a byte link, and the JBD link over a serial port (UART/RS485).

Both JBD transports hand every received chunk (a Bluetooth notification of <= 20 bytes, a serial
read of any size) to `JBDExchange.feed`; `JBDExchange.request` writes one request and waits for the
verified answer to it, with a timeout (protocols.md §2.6: "keep one in-flight request per
connection; reset the buffer when sending a new request"). FF AA login replies of newer Bluetooth
modules (§2.3) are routed to `protocol.jbd.parse_auth_reply` before the assembler sees them.

`JBDLink` is what a JBD source needs of a link, whatever carries it (a typed Protocol):
`JBDSerialLink` here and `transport.ble.JBDBleLink` implement it. `JBDSerialLink` is the serial
transport: `transport.serial.SerialConnection` at 9600 8N1 (§2.1) keeps the port open and reopens
it with backoff, and the exchange turns its bytes into answers. asyncio I/O only; no entities, no
Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from ..const import JBD_BAUDRATE
from ..protocol import jbd
from .serial import SerialConnection, SerialPortError

#: JBD UART settings (protocols.md §2.1: 9600 8N1)
BAUDRATE = JBD_BAUDRATE


class LinkError(Exception):
    """Base of the transport errors a JBD source counts and retries (never fatal)."""


class NoResponse(LinkError, TimeoutError):
    """The BMS sent no verified answer to a request within the timeout."""


class LinkClosed(LinkError, ConnectionError):
    """The link went away (Bluetooth disconnect, serial port lost) while a request waited."""


type TaskFactory = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
"""Starts a background task for a coroutine (the entry's `async_create_background_task`)."""


class JBDLink(Protocol):
    """A byte link to one JBD BMS, as a JBD source drives it (one request in flight at a time).

    - `kind`: "serial" or "bluetooth" (diagnostics).
    - `connected`: whether requests can go out now.
    - `async_open(create_task)`: the setup check, once (fail fast: a serial port that does not
      open raises `SerialPortError`, a battery no adapter hears raises `BleDeviceNotFound`);
      a link that keeps a connection alive starts its task through `create_task`.
    - `async_connect()`: connect when not connected (raises `LinkError` subclasses).
    - `async_request(frame, timeout)`: write a request frame, return the verified answer frame
      (bytes) within `timeout` seconds (raises `NoResponse`, `LinkClosed`, `LinkError`).
    - `async_release()`: end of one poll (a Bluetooth link may disconnect to free a proxy slot).
    - `async_close()`: disconnect for good.
    - `diagnostics()`: counters, JSON-safe, no secrets.
    """

    kind: str

    @property
    def connected(self) -> bool:
        """Whether requests can go out now."""
        ...

    async def async_open(self, create_task: TaskFactory) -> None:
        """The setup check; start what keeps the link alive."""
        ...

    async def async_connect(self) -> None:
        """Connect when not connected."""
        ...

    async def async_request(self, frame: bytes, timeout: float) -> bytes:
        """Write `frame`, return the verified answer frame."""
        ...

    async def async_release(self) -> None:
        """One poll is over."""
        ...

    async def async_close(self) -> None:
        """Disconnect for good."""
        ...

    def diagnostics(self) -> dict[str, Any]:
        """Counters for the diagnostics download."""
        ...


class JBDExchange:
    """Send one request at a time and return the verified response frame that answers it.

    `feed(chunk)` takes received bytes in any chunking; `request(write, frame, timeout)` writes a
    ``DD A5`` read, a ``DD 5A`` register write (MOSFET control: its answer is the empty
    acknowledgement ``DD reg 00 00 00 00 77``, see `protocol.jbd.parse_write_response`) or an
    ``FF AA`` login frame through the awaitable `write` and returns the answer: the whole verified
    ``DD reg status len data ck 77`` frame for the same register (status may be an error status
    such as 0x80; `protocol.jbd.parse_frame` raises on it), or the whole
    ``FF AA cmd len data sum`` reply for the same login command. Raises `NoResponse` after
    `timeout` seconds, `LinkClosed` when `close()` is called meanwhile.

    Counters: `requests`, `timeouts`, `unexpected` (verified frames nobody waited for: late
    answers to a timed-out request), `auth_replies`; the assembler's own counters
    (`assembler.checksum_errors`, `framing_errors`, `bytes_discarded`, ...) count bad bytes.
    """

    def __init__(self) -> None:
        """Start with an empty assembler and nothing in flight."""
        self.assembler = jbd.FrameAssembler()
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[bytes] | None = None
        self._expect = b""  # b"\xdd" + register, or b"\xff" + login command
        self.requests = 0
        self.timeouts = 0
        self.unexpected = 0
        self.auth_replies = 0

    def feed(self, chunk: bytes | bytearray) -> None:
        """Take received bytes; complete the waiting request when its answer is whole."""
        if chunk[:2] == jbd.AUTH_HEADER:
            try:
                jbd.parse_auth_reply(chunk)
            except jbd.AuthError:
                pass  # a continuation chunk of a DD frame that happens to start with FF AA
            else:
                self.auth_replies += 1
                self._deliver(b"\xff" + bytes(chunk[2:3]), bytes(chunk))
                return
        for frame in self.assembler.feed(chunk):
            self._deliver(b"\xdd" + frame[1:2], frame)

    def _deliver(self, key: bytes, frame: bytes) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done() and key == self._expect:
            waiter.set_result(frame)
        else:
            self.unexpected += 1

    async def request(
        self, write: Callable[[bytes], Awaitable[None]], frame: bytes, timeout: float
    ) -> bytes:
        """Write `frame` and return its verified answer (see the class docstring)."""
        async with self._lock:
            self.assembler.reset()  # never splice an old partial answer onto a new one
            self.requests += 1
            waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            self._expect = (b"\xff" if frame[:2] == jbd.AUTH_HEADER else b"\xdd") + frame[2:3]
            try:
                async with asyncio.timeout(timeout):
                    await write(frame)
                    return await waiter
            except TimeoutError:
                self.timeouts += 1
                raise NoResponse(f"no answer to {frame.hex()} within {timeout:.1f} s") from None
            finally:
                self._waiter = None

    def close(self, reason: str) -> None:
        """Fail the waiting request at once with LinkClosed(reason) (the link went away)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(LinkClosed(reason))
        self.assembler.reset()

    def counters(self) -> dict[str, int]:
        """Exchange and assembler counters for diagnostics."""
        assembler = self.assembler
        return {
            "requests": self.requests,
            "timeouts": self.timeouts,
            "unexpected_frames": self.unexpected,
            "auth_replies": self.auth_replies,
            "frames": assembler.frames,
            "frames_skipped": assembler.frames_skipped,
            "checksum_errors": assembler.checksum_errors,
            "framing_errors": assembler.framing_errors,
            "bytes_discarded": assembler.bytes_discarded,
        }


class JBDSerialLink:
    """A JBD BMS on a serial port (UART or RS485 adapter) at 9600 8N1; a `JBDLink`.

    `async_open()` opens the port once (raises `SerialPortError` subclasses: setup turns them into
    ConfigEntryNotReady) and starts `SerialConnection`'s reconnect loop; `async_request(frame,
    timeout)` returns the verified answer (raises `NoResponse`, `LinkClosed`, or `LinkError` while
    the port is closed); `async_release()` does nothing (a serial port stays open);
    `async_close()` closes the port. An RS485 adapter's echo of our own request is dropped by the
    assembler (it returns responses only).
    """

    kind = "serial"

    def __init__(self, path: str) -> None:
        """Prepare the link; nothing is opened before `async_open`."""
        self.path = path
        self.exchange = JBDExchange()
        self.connection = SerialConnection(path, BAUDRATE, self.exchange.feed, self._on_state)
        self._open = asyncio.Event()

    @property
    def connected(self) -> bool:
        """Whether the port is open."""
        return self.connection.connected

    async def async_open(self, create_task: TaskFactory) -> None:
        """Open the port now (fail fast) and keep it open from then on."""
        await self.connection.async_connect_first()
        self.connection.async_start(create_task)
        async with asyncio.timeout(2):  # the loop adopts the port we just opened
            await self._open.wait()

    async def async_connect(self) -> None:
        """Nothing to do while the port is open; LinkError while it is being reopened."""
        if not self.connection.connected:
            raise LinkError(f"serial port {self.path} is not open ({self.connection.last_error})")

    async def async_request(self, frame: bytes, timeout: float) -> bytes:
        """Write `frame`, return the verified answer (see JBDExchange.request)."""

        async def write(data: bytes) -> None:
            try:
                self.connection.write(data)
            except SerialPortError as err:
                raise LinkError(str(err)) from err

        return await self.exchange.request(write, frame, timeout)

    async def async_release(self) -> None:
        """A serial port stays open between polls."""

    async def async_close(self) -> None:
        """Close the port and stop reopening it."""
        self.exchange.close("link closed")
        await self.connection.async_stop()

    def _on_state(self, connected: bool, error: Exception | None) -> None:
        if connected:
            self._open.set()
        else:
            self.exchange.close(f"serial port {self.path} lost ({error})")

    def diagnostics(self) -> dict[str, Any]:
        """Port and exchange counters."""
        connection = self.connection
        return {
            "transport": self.kind,
            "path": self.path,
            "connected": connection.connected,
            "connects": connection.connects,
            "disconnects": connection.disconnects,
            "bytes_received": connection.bytes_received,
            "last_error": connection.last_error,
            **self.exchange.counters(),
        }
