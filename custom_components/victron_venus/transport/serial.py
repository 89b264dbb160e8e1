"""Serial transport over serialx (Home Assistant's own serial library): asyncio I/O only.

`SerialConnection` opens a port (19200 8N1 for VE.Direct, 9600 8N1 for JBD UART), hands every
chunk of bytes to a callback on the event loop, and when the port vanishes or errors it closes,
waits with exponential backoff (1 s doubling to 30 s) and opens it again: a cable pulled and
plugged back resumes without restarting Home Assistant. Opening happens in serialx's executor,
reads use the loop's reader callbacks: nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging
from typing import Any

import serialx

_LOGGER = logging.getLogger(__name__)

BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
CLOSE_TIMEOUT = 5.0
"""Seconds `async_stop` waits for the port to be closed (serialx closes the descriptor in its
executor, after `close()` returns; the port stays locked until then)."""


class SerialPortError(Exception):
    """Base of the errors raised when a serial port cannot be opened."""


class SerialPortNotFound(SerialPortError):
    """The port path does not exist (cable unplugged, wrong path)."""


class SerialPortPermissionDenied(SerialPortError):
    """The port exists but Home Assistant may not open it (dialout group, container mapping)."""


async def async_open_serial(
    path: str, baudrate: int, protocol_factory: Callable[[], asyncio.Protocol]
) -> tuple[asyncio.Transport, asyncio.Protocol]:
    """Open `path` at `baudrate` 8N1 with `protocol_factory`; map OS errors to ours.

    Raises SerialPortNotFound, SerialPortPermissionDenied, or SerialPortError for any other
    failure (busy, not a tty, I/O error).
    """
    try:
        return await serialx.create_serial_connection(
            asyncio.get_running_loop(), protocol_factory, path, baudrate=baudrate
        )
    except FileNotFoundError as err:
        raise SerialPortNotFound(str(err)) from err
    except PermissionError as err:
        raise SerialPortPermissionDenied(str(err)) from err
    except (OSError, serialx.SerialException, ValueError) as err:
        raise SerialPortError(str(err)) from err


class _Protocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self._on_data = on_data
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class SerialConnection:
    """A serial port kept open: reconnects with backoff until `async_stop`.

    `on_data(chunk)` runs on the event loop for every chunk read; `on_state(connected, error)`
    runs when the port opens or closes (error is the reason, or None on a clean stop).
    Counters: `.connects`, `.disconnects`, `.bytes_received`.
    """

    def __init__(
        self,
        path: str,
        baudrate: int,
        on_data: Callable[[bytes], None],
        on_state: Callable[[bool, Exception | None], None] | None = None,
    ) -> None:
        """Prepare the connection; nothing is opened before `async_start`."""
        self.path = path
        self.baudrate = baudrate
        self._on_data = on_data
        self._on_state = on_state or (lambda _connected, _error: None)
        self._task: asyncio.Task[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None  # of the open port: its `lost` ends the close
        self.connected = False
        self.connects = 0
        self.disconnects = 0
        self.bytes_received = 0
        self.last_error: str | None = None
        self._first: tuple[asyncio.Transport, asyncio.Protocol] | None = None
        #: the loop is opening the port (async_stop lets the open end instead of cancelling it)
        self._opening = False
        self._stopping = False

    def _data(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self._on_data(data)

    async def async_connect_first(self) -> None:
        """Open the port once now, so setup can fail fast (raises SerialPortError subclasses)."""
        self._first = await async_open_serial(
            self.path, self.baudrate, lambda: _Protocol(self._data)
        )

    def async_start(self, create_task: Callable[[Any], asyncio.Task[None]] | None = None) -> None:
        """Start the connect/read/reconnect loop as a background task."""
        self._stopping = False
        coro = self._run()
        self._task = create_task(coro) if create_task else asyncio.create_task(coro)

    async def async_stop(self) -> None:
        """Close the port and end the loop; return when the port is closed (its lock released,
        so a reload can open it at once), or after CLOSE_TIMEOUT seconds.

        An open in progress (a reconnect) is let end, up to CLOSE_TIMEOUT, rather than cancelled:
        serialx shields its open, and on Python 3.14 an open that fails after its awaiter was
        cancelled (the port gone meanwhile) is logged as an error ("exception in shielded
        future"); the loop then ends by itself, closing what it opened."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            if self._opening:
                await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        protocols = [self._protocol]
        self._close()
        if self._first is not None:
            transport, protocol = self._first
            self._first = None
            transport.close()
            protocols.append(protocol if isinstance(protocol, _Protocol) else None)
        self._protocol = None
        waiting = [p.lost for p in protocols if p is not None and not p.lost.done()]
        if waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.gather(*waiting)), CLOSE_TIMEOUT)

    def write(self, data: bytes) -> None:
        """Write `data` to the open port (JBD requests); raise SerialPortError when it is closed."""
        transport = self._transport
        if transport is None or not self.connected:
            raise SerialPortError(f"{self.path} is not open")
        transport.write(data)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def _run(self) -> None:
        backoff = BACKOFF_START
        logged = False
        while True:
            try:
                if self._first is not None:
                    (transport, protocol), self._first = self._first, None
                else:
                    self._opening = True
                    try:
                        transport, protocol = await async_open_serial(
                            self.path, self.baudrate, lambda: _Protocol(self._data)
                        )
                    finally:
                        self._opening = False
            except SerialPortError as err:
                if self._stopping:
                    return
                self.last_error = f"{type(err).__name__}: {err}"
                if not logged:
                    _LOGGER.warning("Cannot open %s (%s); retrying with backoff", self.path, err)
                    logged = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            assert isinstance(protocol, _Protocol)
            self._transport = transport
            self._protocol = protocol
            if self._stopping:  # opened while async_stop waited: it closes it
                return
            self.connected = True
            self.connects += 1
            if logged:
                _LOGGER.info("Serial port %s is open again", self.path)
            logged = False
            backoff = BACKOFF_START
            self._on_state(True, None)
            try:
                # shielded: cancelling this task (async_stop) must not cancel `lost`, which
                # async_stop then waits on until serialx has closed the descriptor
                error = await asyncio.shield(protocol.lost)
            finally:
                self.connected = False
                self._close()
            self.disconnects += 1
            self.last_error = repr(error) if error else "closed"
            _LOGGER.warning("Serial port %s lost (%s); reconnecting", self.path, self.last_error)
            logged = True
            self._on_state(False, error or ConnectionError("port closed"))
            await asyncio.sleep(backoff)
