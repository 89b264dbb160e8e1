"""The Venus GX's logs name the entry, never the portal id or a credential (issue 8, §3).

The portal id is redacted in diagnostics, yet it was logged at WARNING on every connection loss.
Here a whole life of an entry runs with every logger at DEBUG - connect, full publish, the
broker restarting (connection lost, reconnect), the GX's MQTT plugin restarting, a service
removed, a callback error - and no log record may contain the portal id, the password or the
username; the connection-loss warnings name the entry's title instead.
"""

from __future__ import annotations

import logging

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest

from custom_components.victron_venus.transport import mqtt as mqtt_transport
from tests.components.venus_support import (  # fixtures are imported by name
    PASSWORD,
    PORTAL,
    USER,
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


def _ours(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(OURS)]


def _assert_no_secrets(records: list[logging.LogRecord]) -> None:
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        assert PORTAL not in text.lower(), text
        assert PASSWORD not in text, text
        assert f"'{USER}'" not in text, text


async def test_connection_loss_logs_the_title_not_the_portal_id(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    gx: GxSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Broker restart: lost (WARNING, with the title), reconnected, data back; GX plugin restart;
    a service removed; nothing logged carries the portal id."""
    caplog.set_level(logging.DEBUG, logger=OURS)
    entry = await setup_entry(hass, broker)
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
    await wait_for(lambda: state_of(hass, uid("battery/275", "Soc")) is not None)

    broker.stop()
    await wait_for(
        lambda: state_of(hass, uid("battery/275", "Soc")).state == STATE_UNAVAILABLE,  # type: ignore[union-attr]
        what="unavailable",
    )
    broker.start()
    await wait_for(lambda: source.full_publishes_completed >= 2, timeout=10, what="republish")
    await gx.stop()  # the GX's MQTT plugin restarts: it announces itself with N/<id>/keepalive
    await gx.start()
    await wait_for(lambda: source.full_publishes_completed >= 3, timeout=10, what="republish")
    gx.remove_service("tank", 20)
    await wait_for(lambda: source.devices_removed >= 1, what="removed")
    await hass.async_block_till_done()

    records = _ours(caplog)
    lost = [
        r.getMessage()
        for r in records
        if r.levelno == logging.WARNING and "connection" in r.getMessage()
    ]
    assert len(lost) == 2  # the transport's "connection lost" and the source's "unavailable"
    assert all("Ekrano GX" in message for message in lost), lost
    assert any("data from the GX is back" in r.getMessage() for r in records)
    _assert_no_secrets(records)


async def test_a_callback_error_is_logged_without_the_topic_portal_id(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    gx: GxSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception in the message handler is logged once, naming the entry and the topic with
    its portal id masked."""
    caplog.set_level(logging.DEBUG, logger=OURS)
    entry = await setup_entry(hass, broker)
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")

    def broken(topic: str, payload: bytes) -> None:
        raise RuntimeError("handler failed")

    source.client._on_message = broken  # a bug in the handler, from now on
    gx.set_value("battery/275/Dc/0/Voltage", 12.0)
    await wait_for(lambda: source.client.callback_errors >= 1, what="callback error")
    (record,) = [r for r in _ours(caplog) if r.levelno == logging.ERROR]
    assert record.name == mqtt_transport.__name__
    # the first message after the swap: the voltage or a heartbeat
    assert record.getMessage() in {
        f"MQTT Ekrano GX (127.0.0.1:{broker.port}): error handling a message on N/<portal id>/"
        + suffix
        for suffix in ("battery/275/Dc/0/Voltage", "heartbeat")
    }
    _assert_no_secrets(_ours(caplog))
