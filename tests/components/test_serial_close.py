"""A serial port is closed when `SerialConnection.async_stop` returns (seen in CI: a JBD entry's
reload found its pty "already locked by another process" and was not ready for 5 s).

serialx's `close()` only starts the close: the descriptor (and with it the port's lock) is closed
in its executor afterwards. `async_stop` waits for that, so an entry that unloads and sets up
again (a reload, an options change) opens the port at once: when it returns, no descriptor of the
port is open in the process. Real ptys, real serialx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import threading
import time

import pytest

from custom_components.victron_venus.transport.serial import SerialConnection, async_open_serial


@pytest.fixture
def pty_link(tmp_path: Path) -> Iterator[Path]:
    """A pty's slave behind a symlink, as /dev/serial/by-id/... (the master stays open)."""
    master, slave = os.openpty()
    link = tmp_path / "ttyTEST0"
    link.symlink_to(os.ttyname(slave))
    os.close(slave)
    yield link
    os.close(master)


async def _started(link: Path) -> SerialConnection:
    connection = SerialConnection(str(link), 9600, lambda _data: None)
    await connection.async_connect_first()
    connection.async_start()
    for _ in range(200):
        if connection.connected:
            return connection
        await asyncio.sleep(0.01)
    raise AssertionError("the port did not open")


def _open_descriptors(link: Path) -> list[int]:
    """This process's descriptors of the port behind `link` (the pty master is /dev/ptmx)."""
    target = link.resolve()
    found = []
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if entry.readlink() == target:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("rounds", [20])
async def test_the_port_can_be_opened_again_as_soon_as_stop_returns(
    pty_link: Path, rounds: int
) -> None:
    """Stop, then open the same port at once: never "already locked" (20 rounds). When stop
    returns, no descriptor of the port is open any more (seen in CI: cancelling the read loop
    cancelled the future stop waits on, so stop returned before serialx closed the
    descriptor, and the next open raced the close in serialx's executor)."""
    for _ in range(rounds):
        connection = await _started(pty_link)
        assert _open_descriptors(pty_link)
        await connection.async_stop()
        assert connection.connected is False
        assert _open_descriptors(pty_link) == []
        transport, _protocol = await async_open_serial(
            str(pty_link), 9600, asyncio.Protocol
        )  # raises SerialPortError("... already locked ...") while the old descriptor is open
        transport.close()
        for _ in range(100):  # let serialx close the probe's descriptor
            if not _open_descriptors(pty_link):
                break
            await asyncio.sleep(0.01)


async def test_a_port_opened_but_never_started_is_closed_by_stop(pty_link: Path) -> None:
    """Setup opened the port (`async_connect_first`) and then failed: stop closes it too."""
    connection = SerialConnection(str(pty_link), 9600, lambda _data: None)
    await connection.async_connect_first()
    await connection.async_stop()
    transport, _protocol = await async_open_serial(str(pty_link), 9600, asyncio.Protocol)
    transport.close()
    await asyncio.sleep(0.05)


async def test_stop_during_a_reconnect_lets_the_open_end(
    pty_link: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconnect loop is opening the port (serialx's `os.open` in its executor) when stop
    comes, and the open fails after it (the port went away: seen in CI when a test's pty was
    removed at its end). Cancelled there, serialx's shielded open reported its
    FileNotFoundError to the event loop's exception handler ("exception in shielded future",
    Python 3.14), which fails a Home Assistant test at teardown; stop now lets the open end and
    the loop ends by itself."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    real_open = os.open
    entered = threading.Event()

    def slow_failing_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if os.fspath(path) != str(pty_link):
            return real_open(path, flags, *args)
        entered.set()
        time.sleep(0.3)
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))

    monkeypatch.setattr(os, "open", slow_failing_open)
    connection = SerialConnection(str(pty_link), 9600, lambda _data: None)
    connection.async_start()
    assert await loop.run_in_executor(None, entered.wait, 5)
    await connection.async_stop()
    await asyncio.sleep(0.5)  # a late report would have come by now
    assert errors == []
    assert connection.connected is False
