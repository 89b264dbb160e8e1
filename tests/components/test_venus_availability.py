"""The Venus GX source has one owner of availability: the coordinator (issue 9, item 2).

The source marks devices available only by pushing data (``DeviceCoordinator.async_push``) and
unavailable only with ``async_mark_unavailable``; it never sets ``last_update_success`` itself.
A GX that goes silent is logged once for the GX (not once per device), and so is its return.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest

from custom_components.victron_venus.sources import venus as venus_source
from tests.components.venus_support import (  # fixtures are imported by name
    broker,
    fast,
    gx,
    setup_entry,
    state_of,
    uid,
    wait_for,
)
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker

__all__ = ["broker", "fast", "gx"]

pytestmark = pytest.mark.usefixtures("fast")

OURS = "custom_components.victron_venus"


def test_the_source_never_sets_availability_itself() -> None:
    tree = ast.parse(Path(venus_source.__file__).read_text(encoding="utf-8"))
    assigned = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and target.attr == "last_update_success"
    ]
    assert assigned == []


async def test_a_silent_gx_is_logged_once_lost_and_once_back(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    broker: MosquittoBroker,
    gx: GxSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(venus_source, "GX_TIMEOUT", 1.5)
    caplog.set_level(logging.INFO, logger=OURS)
    entry = await setup_entry(hass, broker)
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
    await wait_for(lambda: len(source.devices) == 14, what="devices")
    await hass.async_block_till_done()
    level = uid("tank/20", "Level")
    await wait_for(lambda: state_of(hass, level) is not None, what="tank entity")
    caplog.clear()

    await gx.stop()  # the GX's MQTT plugin stops; the broker and our connection stay up
    await wait_for(
        lambda: state_of(hass, level).state == STATE_UNAVAILABLE,  # type: ignore[union-attr]
        timeout=8,
        what="unavailable",
    )
    assert not any(c.last_update_success for c in source.devices.values())
    await gx.start()
    await wait_for(
        lambda: state_of(hass, level).state == "51",  # type: ignore[union-attr]
        timeout=8,
        what="back",
    )
    # every device comes back with the full publish our keep-alive asks for (the tank may be
    # pushed a loop turn before the last of them)
    await wait_for(
        lambda: all(c.last_update_success for c in source.devices.values()),
        timeout=8,
        what="every device back",
    )
    await hass.async_block_till_done()

    lines = [r.getMessage() for r in caplog.records if r.name.startswith(OURS)]
    lost = [m for m in lines if "unavailable" in m]
    back = [m for m in lines if "back" in m]
    assert lost == ["Ekrano GX: no data from the GX for 2 s; its entities are unavailable"]
    assert back == ["Ekrano GX: data from the GX is back"]
