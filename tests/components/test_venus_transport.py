"""The MQTT transport on its own, against a real mosquitto: fingerprints, TLS contexts, a broker
that never answers, reconnect supervision, giving up on refused credentials, callback errors."""

from __future__ import annotations

from collections.abc import Iterator
import socket
import ssl
from typing import Any

import pytest

from custom_components.victron_venus.transport import mqtt as transport
from custom_components.victron_venus.transport.mqtt import (
    MqttAuthError,
    MqttClient,
    MqttConnectError,
    MqttError,
    MqttProtocol,
    MqttProtocolError,
    MqttSettings,
    MqttTlsError,
    TlsMode,
    build_ssl_context,
    normalize_fingerprint,
)
from tests.components.venus_support import (  # fixtures are imported by name
    GX_PASSWORD,
    GX_USER,
    HOST,
    PASSWORD,
    USER,
    broker,
    fast,
    tls_broker,
    wait_for,
)
from tests.fakes.mosquitto import MosquittoBroker

__all__ = ["broker", "fast", "tls_broker"]

FINGERPRINT = "ab" * 32


@pytest.mark.parametrize(
    "text",
    [
        FINGERPRINT,
        FINGERPRINT.upper(),
        ":".join([FINGERPRINT[i : i + 2] for i in range(0, 64, 2)]).upper(),
        f"sha256 Fingerprint={FINGERPRINT}",
        f"SHA256:{FINGERPRINT}\n",
    ],
)
def test_fingerprint_forms(text: str) -> None:
    """openssl's colon form, plain hex, a prefix: all the same 64 hex digits."""
    assert normalize_fingerprint(text) == FINGERPRINT


@pytest.mark.parametrize("text", ["", "ab" * 31, "zz" * 32, "ab" * 33])
def test_bad_fingerprints(text: str) -> None:
    """Anything else is refused."""
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        normalize_fingerprint(text)


def test_tls_contexts() -> None:
    """Plain has none; insecure and pinned do not verify; CA needs a usable PEM."""
    assert build_ssl_context(MqttSettings("h")) is None
    for settings in (
        MqttSettings("h", tls=TlsMode.INSECURE),
        MqttSettings(
            "h", tls=TlsMode.PINNED, fingerprint=FINGERPRINT
        ),  # pinned after the handshake
    ):
        context = build_ssl_context(settings)
        assert isinstance(context, ssl.SSLContext)
        assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)
    with pytest.raises(MqttTlsError, match="64 hexadecimal"):
        build_ssl_context(MqttSettings("h", tls=TlsMode.PINNED, fingerprint="12"))
    with pytest.raises(MqttTlsError, match="needs the CA"):
        build_ssl_context(MqttSettings("h", tls=TlsMode.CA))
    with pytest.raises(MqttTlsError, match="cannot be used"):
        build_ssl_context(MqttSettings("h", tls=TlsMode.CA, ca_cert="not a certificate"))


@pytest.fixture
def silent_server(socket_enabled: None) -> Iterator[int]:
    """A TCP port that accepts connections and never says anything."""
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen()
        yield server.getsockname()[1]


async def test_no_connack_times_out(silent_server: int) -> None:
    """A TCP server that is no MQTT broker: no CONNACK within the connect timeout."""
    client = MqttClient(MqttSettings(HOST, silent_server, connect_timeout=0.3), ["#"], print)
    with pytest.raises(MqttProtocolError, match="no CONNACK"):
        await client.async_connect()
    await client.async_stop()
    assert not client.connected


async def test_tls_handshake_timeout_is_a_tls_error(silent_server: int) -> None:
    """TLS towards a port that never answers the handshake."""
    settings = MqttSettings(HOST, silent_server, tls=TlsMode.INSECURE, connect_timeout=0.3)
    with pytest.raises(MqttTlsError, match="TLS handshake"):
        await MqttClient(settings, [], print).async_connect()


async def test_mqtt5_auth_error_and_publish_while_down(broker: MosquittoBroker) -> None:
    """MQTT 5 bad credentials are an auth error (reason 134/135); nothing is published while
    not connected."""
    client = MqttClient(
        MqttSettings(HOST, broker.port, username=USER, password="bad", protocol=MqttProtocol.V5),
        ["#"],
        print,
    )
    with pytest.raises(MqttAuthError):
        await client.async_connect()
    assert client.publish("R/x/keepalive") is False
    await client.async_stop()


async def test_supervisor_reconnects_then_gives_up_on_refused_credentials(
    fast: None, broker: MosquittoBroker
) -> None:
    """After a broker restart the client reconnects by itself; when the password changed it
    reports the auth error and stops retrying."""
    events: list[tuple[bool, MqttError | None]] = []
    received: list[str] = []
    client = MqttClient(
        MqttSettings(HOST, broker.port, username=USER, password=PASSWORD),
        ["t/#"],
        lambda topic, _payload: received.append(topic),
        lambda up, error: events.append((up, error)),
    )
    await client.async_connect()
    client.async_start()
    broker.restart()
    await wait_for(lambda: client.connects == 2, timeout=10)
    assert [up for up, _ in events] == [True, False, True]
    assert client.publish("t/after", b"1")  # subscribed again: we hear ourselves
    await wait_for(lambda: received == ["t/after"])

    broker.stop()
    await wait_for(lambda: not client.connected)
    # the attempts while the broker is down are refused: the error names the address
    await wait_for(lambda: f"{HOST}:{broker.port}" in (client.last_error or ""))
    broker.users[USER] = "changed"
    broker.start()
    await wait_for(lambda: isinstance(events[-1][1], MqttAuthError), timeout=10)
    assert not client.connected
    await client.async_stop()
    await client.async_stop()  # twice is fine


async def test_callback_errors_are_counted_not_raised(broker: MosquittoBroker) -> None:
    """An exception in the message handler never breaks the read loop."""
    seen: list[str] = []

    def handler(topic: str, _payload: bytes) -> Any:
        seen.append(topic)
        raise RuntimeError("boom")

    client = MqttClient(
        MqttSettings(HOST, broker.port, username=GX_USER, password=GX_PASSWORD), ["t/#"], handler
    )
    await client.async_connect()
    for n in range(3):
        client.publish(f"t/{n}", b"x")
    await wait_for(lambda: len(seen) == 3)
    assert client.callback_errors == 3
    assert client.messages_received == 3
    await client.async_stop()


async def test_unreachable_host(socket_enabled: None) -> None:
    """Nothing listens: a connect error naming the address."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    with pytest.raises(MqttConnectError, match=f"{HOST}:{port}"):
        await MqttClient(MqttSettings(HOST, port), [], print).async_connect()


async def test_large_burst_over_tls_is_read_completely(tls_broker: MosquittoBroker) -> None:
    """Thousands of small packets in few TLS records: none waits in OpenSSL's buffer."""
    received: list[bytes] = []
    settings = MqttSettings(
        HOST, tls_broker.port, tls=TlsMode.INSECURE, username=USER, password=PASSWORD
    )
    client = MqttClient(settings, ["b/#"], lambda _t, payload: received.append(payload))
    await client.async_connect()
    for n in range(3000):
        client.publish(f"b/{n % 50}", str(n).encode())
    await wait_for(lambda: len(received) == 3000, timeout=10)
    assert received[-1] == b"2999"
    assert transport.MAX_PACKETS_PER_READ < 3000  # the burst needed several reader turns
    await client.async_stop()
