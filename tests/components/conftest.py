"""Fixtures for Home Assistant tests: custom integrations on, real ptys with real captures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay
from tests.shared import fixture_path


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Every Home Assistant test sees this repository's integration."""


CAPTURES = {
    "bmv702": "karioja_bvm702.dump",
    "bluesolar": "karioja_bluesolar_1.23.dump",
    "smartsolar": "karioja_smartsolar_1.39.dump",
    "smartsolar_150_70": "kindr007_fake_smartsolar_150_70_rev3_0xA06C_split_blocks_hex.bin",
    "phoenix": "rexlinz_phoenix_12_1200_0xA2F1_garbage_then_block.bin",
    "bmv712": "dbr_vedirect-rs_bmv712_partial_stream.bin",
}


def capture(name: str) -> bytes:
    """The raw bytes of a VE.Direct capture by short name."""
    return fixture_path("vedirect", CAPTURES[name]).read_bytes()


type ServeCapture = Callable[..., tuple[PtyDevice, VEDirectReplay]]


@pytest.fixture
async def serve_capture(tmp_path: Path) -> AsyncIterator[ServeCapture]:
    """Serve captures on real ptys: `serve_capture("bmv702", interval=0.05)` → (device, replay)."""
    tasks: list[asyncio.Task[None]] = []
    devices: list[PtyDevice] = []

    def serve(
        name: str, interval: float = 0.05, loop: bool = True
    ) -> tuple[PtyDevice, VEDirectReplay]:
        device = PtyDevice(tmp_path / f"tty_{name}_{len(devices)}")
        replay = VEDirectReplay(device, capture(name), interval=interval, loop=loop)
        devices.append(device)
        tasks.append(asyncio.get_running_loop().create_task(replay.run()))
        return device, replay

    yield serve
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for device in devices:
        device.unplug()
