"""Shared parts of the Venus GX tests: a real mosquitto (password, optional TLS), the GX simulator
replaying the real boat recording, entry setup and polling helpers.

Pytest finds the fixtures because the test modules import them by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import json
from pathlib import Path
import time
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import CONF_ENTRY_TYPE, CONF_WRITE_INTERVAL, DOMAIN
from custom_components.victron_venus.sources import venus as venus_source
from custom_components.victron_venus.transport import mqtt as mqtt_transport
from tests.fakes.gx_simulator import RECORDING, GxSimulator
from tests.fakes.mosquitto import MosquittoBroker
from tests.shared import fixture_path

HOST = "127.0.0.1"
PORTAL = "c0619ab4e25c"
USER, PASSWORD = "ha", "s3cret"
GX_USER, GX_PASSWORD = "gx", "gx-secret"


def recording() -> dict[str, Any]:
    """Topic suffix -> decoded value, straight from the recording file (not via our parser)."""
    values: dict[str, Any] = {}
    for line in fixture_path(*RECORDING).read_text(encoding="utf-8").splitlines():
        if line.startswith("N/"):
            topic, _, payload = line.partition("\t")
            values[topic.split("/", 2)[2]] = json.loads(payload).get("value")
    return values


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorter timers: reconnect backoff, settle time, retries, probe timeout."""
    monkeypatch.setattr(mqtt_transport, "BACKOFF_START", 0.05)
    monkeypatch.setattr(mqtt_transport, "BACKOFF_MAX", 0.5)
    monkeypatch.setattr(venus_source, "SETTLE", 0.3)
    monkeypatch.setattr(venus_source, "FULL_PUBLISH_RETRY", 2.0)
    monkeypatch.setattr(venus_source, "PROBE_TIMEOUT", 1.0)
    monkeypatch.setattr(venus_source, "PROBE_DETAILS_TIMEOUT", 0.5)


def _broker(tmp_path: Path, tls: bool) -> MosquittoBroker:
    return MosquittoBroker(tmp_path, users={USER: PASSWORD, GX_USER: GX_PASSWORD}, tls=tls)


@pytest.fixture
def broker(socket_enabled: None, tmp_path: Path) -> Iterator[MosquittoBroker]:
    """mosquitto on a free loopback port with a password file (users ha and gx)."""
    with _broker(tmp_path, tls=False) as running:
        yield running


@pytest.fixture
def tls_broker(socket_enabled: None, tmp_path: Path) -> Iterator[MosquittoBroker]:
    """mosquitto with TLS only (a fresh self-signed certificate) and the same password file."""
    with _broker(tmp_path, tls=True) as running:
        yield running


def simulator(broker: MosquittoBroker, **kwargs: Any) -> GxSimulator:
    """A GX simulator on `broker` (as user gx; TLS trusting the broker's certificate)."""
    cert = broker.certificate
    return GxSimulator(
        HOST,
        broker.port,
        username=GX_USER,
        password=GX_PASSWORD,
        ca_certs=cert.cert_path if cert is not None else None,
        heartbeat_interval=kwargs.pop("heartbeat_interval", 0.2),
        **kwargs,
    )


@pytest.fixture
async def gx(broker: MosquittoBroker) -> AsyncIterator[GxSimulator]:
    """The boat GX (portal c0619ab4e25c) on the plain broker."""
    sim = simulator(broker)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def tls_gx(tls_broker: MosquittoBroker) -> AsyncIterator[GxSimulator]:
    """The boat GX on the TLS broker."""
    sim = simulator(tls_broker)
    await sim.start()
    yield sim
    await sim.stop()


def entry_data(broker: MosquittoBroker, **overrides: Any) -> dict[str, Any]:
    """Config entry data for the GX behind `broker` (plain, user ha)."""
    return {
        CONF_ENTRY_TYPE: "venus",
        CONF_HOST: HOST,
        CONF_PORT: broker.port,
        "tls_mode": "off",
        CONF_USERNAME: USER,
        CONF_PASSWORD: PASSWORD,
        "protocol": "3.1.1",
        "portal_id": PORTAL,
        "model": "Ekrano GX",
        "firmware": "v3.70~9",
        **overrides,
    }


async def setup_entry(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    *,
    options: dict[str, Any] | None = None,
    expect_loaded: bool = True,
    **overrides: Any,
) -> MockConfigEntry:
    """Add and set up a Venus entry (write interval 0: every change written)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Ekrano GX",
        unique_id=PORTAL,
        data=entry_data(broker, **overrides),
        options=options if options is not None else {CONF_WRITE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    loaded = await hass.config_entries.async_setup(entry.entry_id)
    assert loaded is expect_loaded
    await hass.async_block_till_done()
    return entry


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> None:
    """Poll `predicate` every 20 ms until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s: {what}")
        await asyncio.sleep(0.02)


def entity_id(hass: HomeAssistant, unique_id: str, domain: str = "sensor") -> str | None:
    """The entity id of one of our entities by unique id, or None."""
    return er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)


def state_of(hass: HomeAssistant, unique_id: str, domain: str = "sensor") -> State | None:
    """The state of one of our entities by unique id (<device identifier>_<D-Bus path>)."""
    found = entity_id(hass, unique_id, domain)
    return hass.states.get(found) if found else None


def uid(service: str, path: str) -> str:
    """Unique id of a GX entity: 'battery/275', 'Dc/0/Voltage' -> 'c0619ab4e25c_battery_275_...'."""
    if service == "system/0":
        return f"{PORTAL}_{path}"
    return f"{PORTAL}_{service.replace('/', '_')}_{path}"
