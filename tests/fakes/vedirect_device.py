"""A VE.Direct device on a real pseudo-terminal replaying a real capture (tests, scripts/develop).

The pty's slave is reached through a stable symlink, like /dev/serial/by-id/...: `unplug()`
closes the pty (the reader sees EIO, as when a USB cable is pulled) and removes the link,
`replug()` makes a new pty and points the link at it.

The capture is cut into blocks after each `Checksum\\t<byte>` (plus any HEX frames that follow),
without using the integration's parser, and blocks are grouped into records: a record starts at
a block that begins with PID, so a BMV's main and history blocks, or a SmartSolar 150/70's two
halves, go out together. Records are written at `interval` seconds apart (about one a second,
like the real 19200-baud devices), looping.

Run standalone: `python -m tests.fakes.vedirect_device CAPTURE LINK [--interval 1.0]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
import tty


def split_records(capture: bytes) -> list[bytes]:
    """Cut a raw capture into records (lists of whole blocks), dropping a truncated tail."""
    blocks: list[bytes] = []
    start = 0
    marker = b"Checksum\t"
    while (found := capture.find(marker, start)) != -1:
        end = found + len(marker) + 1
        if end > len(capture):
            break
        # asynchronous HEX frames that follow the checksum byte travel with the block
        while capture.startswith(b":", end) and (nl := capture.find(b"\n", end)) != -1:
            end = nl + 1
        blocks.append(capture[start:end])
        start = end
    if blocks:
        # a capture may start with line noise or mid-block: keep its first block only from the
        # first CR LF on, and only if it then sums to 0 mod 256 (protocols.md §1.2)
        first = blocks[0][blocks[0].find(b"\r\n") :]
        text_end = first.find(marker) + len(marker) + 1
        if blocks[0].find(b"\r\n") < 0 or sum(first[:text_end]) % 256:
            blocks.pop(0)
        else:
            blocks[0] = first
    records: list[bytes] = []
    for block in blocks:
        if not records or block.lstrip(b"\r\n").startswith(b"PID\t"):
            records.append(block)
        else:
            records[-1] += block
    return records


def with_field(capture: bytes, label: str, value: str) -> bytes:
    """The capture with the value of `label` replaced by `value` in every block that has it,
    each changed block's checksum byte fixed so it still sums to 0 mod 256 (§1.2): what another
    unit of the same model would send. Works on the complete records of :func:`split_records`
    (HEX frames between blocks stay as they are and are in no sum)."""
    line = b"\r\n" + label.encode("ascii") + b"\t"
    marker = b"\r\nChecksum\t"
    new_value = value.encode("ascii")
    out: list[bytes] = []
    for record in split_records(capture):
        data = bytearray(record)
        pos = 0
        while (found := data.find(line, pos)) != -1:
            start = found + len(line)
            end = data.index(b"\r\n", start)
            delta = sum(new_value) - sum(data[start:end])
            data[start:end] = new_value
            checksum = data.index(marker, start) + len(marker)
            data[checksum] = (data[checksum] - delta) % 256
            pos = checksum + 1
        out.append(bytes(data))
    return b"".join(out)


def with_serial(capture: bytes, serial: str) -> bytes:
    """The capture as sent by another unit of the same model: every ``SER#`` is `serial`."""
    return with_field(capture, "SER#", serial)


class PtyDevice:
    """A pseudo-terminal whose slave is reached through the symlink `link`."""

    def __init__(self, link: Path) -> None:
        """Create the pty and the link."""
        self.link = Path(link)
        self.master: int | None = None
        self._slave: int | None = None
        self.bytes_written = 0
        self.replug()

    @property
    def plugged(self) -> bool:
        """Whether the pty exists."""
        return self.master is not None

    def replug(self) -> None:
        """(Re)create the pty and point the link at its slave."""
        self.unplug()
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        """Close the pty (readers get EIO) and remove the link."""
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    async def write(self, data: bytes) -> None:
        """Write all of `data` to the master, waiting while the pty buffer is full."""
        view = memoryview(data)
        while view and self.master is not None:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            except OSError:
                return  # unplugged meanwhile
            self.bytes_written += written
            view = view[written:]

    def read_nowait(self) -> bytes:
        """Whatever the integration wrote to the device (HEX commands), without waiting."""
        if self.master is None:
            return b""
        try:
            return os.read(self.master, 4096)
        except BlockingIOError, OSError:
            return b""


class VEDirectReplay:
    """Replays a capture's records on a `PtyDevice`, one record every `interval` seconds."""

    def __init__(
        self, device: PtyDevice, capture: bytes, interval: float = 1.0, loop: bool = True
    ) -> None:
        """Prepare the replay; `run()` sends."""
        self.device = device
        self.records = split_records(capture)
        if not self.records:
            raise ValueError("the capture holds no complete block")
        self.interval = interval
        self.loop = loop
        self.sent = 0
        self.paused = False
        self._swapped = False

    def swap(self, capture: bytes) -> None:
        """Another device on the same pty: send `capture`'s records from its first one on."""
        records = split_records(capture)
        if not records:
            raise ValueError("the capture holds no complete block")
        self.records = records
        self._swapped = True

    async def run(self) -> None:
        """Send records until cancelled (or once through when loop is False)."""
        while True:
            self._swapped = False
            for record in self.records:
                while self.paused or not self.device.plugged:
                    await asyncio.sleep(0.02)
                if self._swapped:
                    break
                await self.device.write(record)
                self.sent += 1
                await asyncio.sleep(self.interval)
            else:
                if not self.loop:
                    return


async def _main(capture: Path, link: Path, interval: float) -> None:
    device = PtyDevice(link)
    try:
        await VEDirectReplay(device, capture.read_bytes(), interval).run()
    finally:
        device.unplug()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("capture", type=Path)
    parser.add_argument("link", type=Path)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.capture, args.link, args.interval))
