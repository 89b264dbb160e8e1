"""The GX simulator's W/ semantics (dbus-flashmq's SetValue on the D-Bus item): writable paths
take a value and publish it, others are refused without an answer, settings items keep their
min/max and refuse values beyond them, a Multi takes its mode only while adjustable, and
`ignore_writes` drops every write unanswered."""

from __future__ import annotations

import asyncio
import json

from custom_components.victron_venus.protocol.venus import (
    keepalive_payload,
    keepalive_topic,
    write_payload,
    write_topic,
)
from tests.fakes.gx_simulator import ITEM_LIMITS, GxSimulator
from tests.fakes.test_gx_simulator import PORTAL, Probe, _is, broker, gx, probe

__all__ = ["broker", "gx", "probe"]

SOC = "settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit"


async def _alive(probe: Probe) -> None:
    probe.publish(keepalive_topic(PORTAL), keepalive_payload(suppress_republish=True))
    await probe.wait_for(_is(f"N/{PORTAL}/heartbeat"))


async def test_settings_items_carry_their_limits(gx: GxSimulator, probe: Probe) -> None:
    await _alive(probe)
    assert ITEM_LIMITS[SOC] == (0, 100)
    assert gx.topics[SOC] == b'{"max":100,"min":0,"value":10}'
    assert gx.topics["vebus/274/Ac/In/1/CurrentLimit"] == b'{"max":50,"value":30}'
    probe.publish(write_topic(PORTAL, "settings", 0, SOC.split("/", 2)[2]), write_payload(80))
    change = await probe.wait_for(_is(f"N/{PORTAL}/{SOC}"))
    assert json.loads(change.payload) == {"max": 100, "min": 0, "value": 80}


async def test_refused_writes_get_no_answer(gx: GxSimulator, probe: Probe) -> None:
    """A measurement (not writable), a setting beyond its max, a Multi's mode while it says it
    is not adjustable: refused, nothing published, the value unchanged."""
    await _alive(probe)
    gx.set_value("vebus/274/ModeIsAdjustable", 0)
    await probe.wait_for(_is(f"N/{PORTAL}/vebus/274/ModeIsAdjustable"))
    probe.messages.clear()
    probe.publish(write_topic(PORTAL, "battery", 275, "Dc/0/Voltage"), write_payload(12.0))
    probe.publish(write_topic(PORTAL, "settings", 0, SOC.split("/", 2)[2]), write_payload(101))
    probe.publish(write_topic(PORTAL, "vebus", 274, "Mode"), write_payload(4))
    await probe._until(lambda: len(gx.rejected_writes) == 3)
    await asyncio.sleep(0.1)
    assert [m for m in probe.topics() if "heartbeat" not in m] == []
    assert gx.get_value("vebus/274/Mode") == 3
    assert gx.get_value(SOC) == 10
    assert gx.writes == []


async def test_ignore_writes_drops_them_unanswered(gx: GxSimulator, probe: Probe) -> None:
    await _alive(probe)
    gx.ignore_writes = True
    probe.publish(write_topic(PORTAL, "vebus", 274, "Mode"), write_payload(4))
    await probe._until(lambda: len(gx.ignored_writes) == 1)
    assert gx.ignored_writes == [("vebus/274/Mode", b'{"value":4}')]
    assert gx.raw_writes == [("vebus/274/Mode", b'{"value":4}')]
    assert gx.get_value("vebus/274/Mode") == 3
