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
