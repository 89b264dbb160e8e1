"""Venus GX input is bounded, whoever publishes on the GX's broker (issue 8, §2).

Real mosquitto, the GX simulator replaying the boat recording, and a second MQTT client that
publishes what a misbehaving client (or a fault) could: a burst of 2,000 new service instances,
unknown service types and paths, payloads too large for any GX value, more topics than a GX has.

* devices per GX are capped (``MAX_DEVICES``); at the cap no more are created, a repair issue
  says what happened and what to do, and it is logged once; the next full publish removes what
  the GX does not have and the issue goes away;
* unknown service types and topics are kept only until a full publish proves them gone;
* a payload over ``MAX_PAYLOAD_BYTES`` is dropped and counted;
* the stored topics are bounded in bytes (``MAX_STORED_BYTES``), with a repair issue too.
"""

from __future__ import annotations

from functools import partial
import logging

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.protocol.venus import MAX_PAYLOAD_BYTES
from custom_components.victron_venus.sources import venus as venus_source
from custom_components.victron_venus.transport.mqtt import MqttClient, MqttSettings
from tests.components.venus_support import (  # fixtures are imported by name
    GX_PASSWORD,
    GX_USER,
    HOST,
    PORTAL,
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

#: devices of the recording: the GX and 13 services (tests/components/test_venus.py)
RECORDED_DEVICES = 14
SOURCE_LOGGER = "custom_components.victron_venus.sources.venus"


async def _live(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
    await wait_for(lambda: len(source.devices) == RECORDED_DEVICES, what="devices")
    await hass.async_block_till_done()


def _devices(hass: HomeAssistant, entry: MockConfigEntry) -> int:
    return len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id))


async def _publisher(broker: MosquittoBroker) -> MqttClient:
    client = MqttClient(
        MqttSettings(HOST, broker.port, username=GX_USER, password=GX_PASSWORD), [], print
    )
    await client.async_connect()
    return client


async def _full_publish(hass: HomeAssistant, gx: GxSimulator, entry: MockConfigEntry) -> None:
    """The GX's MQTT plugin restarts: it announces itself, we ask for (and get) a full publish."""
    source = entry.runtime_data
    done = source.full_publishes_completed
    await gx.stop()
    await gx.start()
    await wait_for(lambda: source.full_publishes_completed > done, timeout=10, what="republish")
    await hass.async_block_till_done()


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == SOURCE_LOGGER and r.levelno == logging.WARNING and text in r.getMessage()
    ]


async def test_a_burst_of_new_services_stops_at_the_device_cap(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    gx: GxSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """2,000 new temperature services in one burst (it made 2,000 devices): 200 devices at most,
    one repair issue, one warning; the next full publish removes the ones the GX lacks."""
    assert venus_source.MAX_DEVICES == 200
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    source = entry.runtime_data
    publisher = await _publisher(broker)
    for n in range(1000, 3000):
        publisher.publish(
            f"N/{PORTAL}/temperature/{n}/ProductName", b'{"value":"Virtual temperature"}'
        )
        publisher.publish(f"N/{PORTAL}/temperature/{n}/Temperature", b'{"value":21.5}')
    issue_id = f"too_many_devices_{entry.entry_id}"
    registry = ir.async_get(hass)
    await wait_for(lambda: registry.async_get_issue(DOMAIN, issue_id), timeout=20, what="issue")
    await wait_for(lambda: len(source.devices) == 200, timeout=20, what="devices at the cap")
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert (issue.translation_key, issue.severity, issue.is_fixable) == (
        "venus_too_many_devices",
        ir.IssueSeverity.WARNING,
        False,
    )
    assert issue.translation_placeholders == {"name": "Ekrano GX", "limit": "200"}
    assert _devices(hass, entry) == 200
    # more ticks create nothing and log nothing more
    ticks = source.heartbeats
    await wait_for(lambda: source.heartbeats >= ticks + 10, timeout=10, what="2 s of heartbeats")
    assert len(source.devices) == 200
    assert _devices(hass, entry) == 200
    (warning,) = _warnings(caplog, "devices")
    assert "Ekrano GX" in warning and "200" in warning and PORTAL not in warning
    # the recorded devices still work
    gx.set_value("battery/275/Dc/0/Voltage", 12.34)
    await wait_for(lambda: state_of(hass, uid("battery/275", "Dc/0/Voltage")).state == "12.34")  # type: ignore[union-attr]

    await publisher.async_stop()
    await _full_publish(hass, gx, entry)
    await wait_for(lambda: len(source.devices) == RECORDED_DEVICES, what="back to the GX's")
    assert _devices(hass, entry) == RECORDED_DEVICES
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    assert len(source.diagnostics()["topics"]) == len(gx.topics)


async def test_unknown_service_types_and_topics_are_dropped_after_a_full_publish(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Unknown service types, unknown paths of known services and of the settings service stay
    (counted) only until a full publish shows the GX does not have them."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    source = entry.runtime_data
    services = len(source.diagnostics()["topics"])
    stored = source.stored_bytes
    publisher = await _publisher(broker)
    junk = [f"N/{PORTAL}/junk{n}/0/Value" for n in range(300)]
    junk += [f"N/{PORTAL}/battery/275/Junk/{n}" for n in range(300)]
    junk += [f"N/{PORTAL}/settings/0/Settings/Junk/{n}" for n in range(300)]
    junk += [f"N/{PORTAL}/nulls{n}/0/Value" for n in range(100)]
    for n, topic in enumerate(junk):
        publisher.publish(topic, b'{"value":null}' if "nulls" in topic else b'{"value":%d}' % n)
    await wait_for(lambda: len(source.diagnostics()["topics"]) == services + 1000, what="kept")
    assert source.diagnostics()["gx"]["services"] == len(gx.services()) + 400
    assert source.stored_bytes == source.measure_stored_bytes() > stored  # kept, and counted
    await publisher.async_stop()

    await _full_publish(hass, gx, entry)
    topics = source.diagnostics()["topics"]
    assert len(topics) == len(gx.topics)
    assert not [t for t in topics if "junk" in t.lower() or "nulls" in t]
    assert source.diagnostics()["gx"]["services"] == len(gx.services())
    assert source.stored_bytes == stored  # every byte of the junk accounted and given back
    assert source.stored_bytes == source.measure_stored_bytes()
    assert _devices(hass, entry) == RECORDED_DEVICES


async def test_oversized_payload_is_dropped_and_counted(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A name of 9 KiB is not a GX value: dropped, counted, the device keeps its name."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    source = entry.runtime_data
    publisher = await _publisher(broker)
    big = b'{"value":"' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    publisher.publish(f"N/{PORTAL}/battery/275/CustomName", big)
    publisher.publish(f"N/{PORTAL}/battery/275/Dc/0/Voltage", b'{"value":12.5}')
    await wait_for(lambda: state_of(hass, uid("battery/275", "Dc/0/Voltage")).state == "12.5")  # type: ignore[union-attr]
    await publisher.async_stop()
    assert (source.stats.oversized, source.stats.bad_json) == (1, 1)
    (device,) = dr.async_get(hass).async_get_devices(
        identifiers={(DOMAIN, f"{PORTAL}_battery_275")}
    )
    assert device.name == "House"
    assert source.diagnostics()["parser"]["oversized"] == 1


async def test_stored_topics_are_bounded_in_bytes(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    gx: GxSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """3,000 topics of 8,000 bytes (24 MB) under an included service: what fits in
    MAX_STORED_BYTES is kept, the rest dropped and counted; one warning, one repair issue; the
    next full publish gives it all back."""
    assert venus_source.MAX_STORED_BYTES == 16 * 1024 * 1024
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    source = entry.runtime_data
    stored = source.stored_bytes
    assert stored == source.measure_stored_bytes()
    payload = b'{"value":"' + b"y" * 7988 + b'"}'
    assert len(payload) == 8000
    path_cost = venus_source.PATH_BYTES + len("Junk/00000") + len(payload)
    fits = (venus_source.MAX_STORED_BYTES - stored) // path_cost
    publisher = await _publisher(broker)

    def received() -> int:  # junk topics the source has taken: stored or dropped
        return int(source.topics_dropped + round((source.stored_bytes - stored) / path_cost))

    # in steps of 100 (800 kB): mosquitto drops QoS 0 messages beyond a client's queue limit
    # (1,000), which a loaded machine reached with all 3,000 at once; the count must be exact
    for sent in range(100, 3001, 100):
        for n in range(sent - 100, sent):
            publisher.publish(f"N/{PORTAL}/battery/275/Junk/{n:05d}", payload)
        await wait_for(partial(lambda count: received() == count, sent), timeout=30, what="junk")
    await hass.async_block_till_done()
    assert source.topics_dropped == 3000 - fits
    await publisher.async_stop()
    assert source.stored_bytes == stored + fits * path_cost <= venus_source.MAX_STORED_BYTES
    assert source.stored_bytes == source.measure_stored_bytes()
    issue_id = f"too_much_data_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "venus_too_much_data"
    assert issue.translation_placeholders == {"name": "Ekrano GX", "limit": "16"}
    (warning,) = _warnings(caplog, "MiB")
    assert PORTAL not in warning
    # values of known topics still flow
    gx.set_value("battery/275/Dc/0/Voltage", 12.61)
    await wait_for(lambda: state_of(hass, uid("battery/275", "Dc/0/Voltage")).state == "12.61")  # type: ignore[union-attr]

    await _full_publish(hass, gx, entry)
    assert source.stored_bytes == stored
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert source.diagnostics()["gx"]["topics_dropped"] == 3000 - fits
