"""MQTT transport: paho-mqtt 2.x driven by the asyncio event loop. asyncio I/O only, no entities.

The pattern is Home Assistant's own MQTT client (homeassistant/components/mqtt/client.py): paho
never runs a thread of its own; the loop calls it back when its socket is readable
(``loop.add_reader`` -> ``loop_read``), writable (``add_writer`` -> ``loop_write``) and once a
second for keep-alive pings (``loop_misc``). Every paho callback therefore runs on the event loop:
a message costs no thread hop. Only the blocking parts of a connection - DNS, TCP connect, the TLS
handshake and the certificate check - run in the executor (:func:`open_socket`); paho is handed
the connected socket and sends CONNECT from the loop, so credentials are sent only after the
certificate was accepted.

Two things differ from a plain paho client (``_LoopClient``):

* reads are buffered: paho reads a packet with 2-3 ``recv`` calls (header byte, length bytes,
  body). We read up to 64 KiB per ``recv`` and serve paho from that buffer, so a burst of a few
  thousand small packets (a GX full publish) costs a few system calls, not thousands. It also
  keeps TLS safe: bytes OpenSSL has already decrypted never wait for the socket to be readable.
* the socket is opened by us (``open_socket``), which lets the pinned-fingerprint mode reject a
  certificate before anything is sent.

Connection modes (:class:`MqttSettings`): MQTT 3.1.1 or 5; plain TCP (1883 on a GX) or TLS (8883)
with :class:`TlsMode` off / insecure (no verification: GX certificates are self-signed) / custom
CA (PEM) / pinned SHA-256 fingerprint of the server's DER certificate; username and password
(both may be empty). Errors are :class:`MqttConnectError` (unreachable), :class:`MqttTlsError`
(TLS mismatch, untrusted certificate, wrong fingerprint), :class:`MqttAuthError` (the broker
refused the credentials: CONNACK 4/5 in 3.1.1, 134/135 in 5) and :class:`MqttProtocolError`.

:class:`MqttClient` keeps one broker connection up: after a loss it reconnects with backoff
(1 s doubling to 60 s), subscribes again and tells its owner, who asks the GX for a full publish.
It stops retrying on :class:`MqttAuthError` (the owner starts a reauth flow; a GX rate-limits
failed logins).

Logs name the connection by its owner's ``name`` (a config entry's title) and ``host:port``; they
never carry credentials, and a topic in a log has its second level (a GX's portal id, redacted in
diagnostics too) masked: ``N/<portal id>/battery/275/Soc``.

Relies on paho 2.1's ``_create_socket``, ``_sock_recv`` and ``_sock_close`` (Home Assistant pins
paho-mqtt 2.1.0 and itself replaces paho's private locks the same way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from enum import StrEnum
import hashlib
import logging
import socket
import ssl
from typing import Any, Final, Protocol
import uuid

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

_LOGGER = logging.getLogger(__name__)

RECV_SIZE: Final = 65536
"""Bytes read from the socket per ``recv`` (a whole GX full publish is ~170 KB)."""
MAX_PACKETS_PER_READ: Final = 1000
"""Packets handled per readable event before other loop callbacks get a turn."""
BACKOFF_START = 1.0
"""Seconds before the first reconnect attempt after a failure (doubles up to BACKOFF_MAX)."""
BACKOFF_MAX = 60.0
MISC_INTERVAL: Final = 1.0
"""Seconds between paho ``loop_misc`` calls (keep-alive pings, ping timeout)."""
AUTH_REASONS: Final = frozenset({134, 135})
"""CONNACK reason codes for bad credentials / not authorised (3.1.1 codes 4 and 5 map here)."""


class TlsMode(StrEnum):
    """How the connection is secured."""

    OFF = "off"
    """Plain MQTT (a GX listens on 1883)."""
    INSECURE = "insecure"
    """TLS without verifying the certificate (a GX's own certificate is self-signed)."""
    CA = "ca"
    """TLS; the certificate must chain to the given CA (PEM). The host name is not checked: a GX
    certificate is issued to venus.local whatever address it is reached at."""
    PINNED = "pinned"
    """TLS; exactly the certificate whose DER has the given SHA-256 fingerprint is accepted."""


class MqttProtocol(StrEnum):
    """MQTT protocol version."""

    V311 = "3.1.1"
    V5 = "5"


class MqttError(Exception):
    """Base of the errors of this transport."""


class MqttConnectError(MqttError):
    """The broker cannot be reached: DNS, refused, unreachable, timeout."""


class MqttTlsError(MqttError):
    """TLS failed: handshake (TLS to a plain port or the reverse), untrusted certificate,
    fingerprint mismatch, or an unusable CA certificate."""


class MqttAuthError(MqttError):
    """The broker refused the username/password (CONNACK 4/5 in 3.1.1, 134/135 in 5)."""


class MqttProtocolError(MqttError):
    """The broker answered, but not with an accepted CONNACK (other refusal, no answer)."""


class MqttClosedError(MqttProtocolError):
    """The broker closed the connection before its CONNACK: what a TLS listener does to a plain
    MQTT client (and brokers that refuse a protocol version)."""


def normalize_fingerprint(text: str) -> str:
    """A SHA-256 certificate fingerprint as 64 lower-case hex digits.

    Accepts ``AB:CD:...`` (openssl, browsers), plain hex, spaces and a ``sha256`` prefix (as in
    ``openssl x509 -fingerprint -sha256`` output: ``sha256 Fingerprint=AB:CD:...``). Raises
    ValueError when the rest is not 32 bytes of hex.
    """
    value = text.strip().lower()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        value = value.removeprefix(prefix)
    value = "".join(c for c in value if c not in ": -\t\n\r")
    if len(value) != 64 or not all(c in "0123456789abcdef" for c in value):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal digits")
    return value


def certificate_fingerprint(der: bytes) -> str:
    """Lower-case hex SHA-256 of a DER certificate (what :attr:`TlsMode.PINNED` compares)."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where and how to connect.

    Attributes:
        host, port: the broker (a GX: 1883 plain, 8883 TLS).
        tls: see :class:`TlsMode`.
        ca_cert: PEM text of the CA (``TlsMode.CA``).
        fingerprint: SHA-256 of the server certificate, any form :func:`normalize_fingerprint`
            accepts (``TlsMode.PINNED``).
        username, password: credentials; None sends none. A GX takes any username with its
            security-profile password; an empty password is allowed.
        protocol: MQTT 3.1.1 or 5.
        client_id: empty for a random ``ha-victron-<hex>``.
        keepalive: seconds between MQTT pings when idle; a dead connection is noticed after
            1.5 times this.
        connect_timeout: seconds for TCP connect, TLS handshake and CONNACK each.
    """

    host: str
    port: int = 1883
    tls: TlsMode = TlsMode.OFF
    ca_cert: str | None = None
    fingerprint: str | None = None
    username: str | None = None
    password: str | None = None
    protocol: MqttProtocol = MqttProtocol.V311
    client_id: str = ""
    keepalive: int = 30
    connect_timeout: float = 10.0


# Keys of a config entry's data (or a config flow's input) that describe a broker connection;
# host, port, username and password are Home Assistant's CONF_* names.
CONF_TLS_MODE: Final = "tls_mode"
CONF_CA_CERT: Final = "ca_cert"
CONF_FINGERPRINT: Final = "fingerprint"
CONF_PROTOCOL: Final = "protocol"
DEFAULT_PORT: Final = 1883
DEFAULT_TLS_PORT: Final = 8883


def settings_from(data: Mapping[str, Any]) -> MqttSettings:
    """The MQTT settings of a config entry's data (or of a config flow's input)."""
    return MqttSettings(
        host=str(data[CONF_HOST]).strip(),
        port=int(data.get(CONF_PORT, DEFAULT_PORT)),
        tls=TlsMode(data.get(CONF_TLS_MODE, TlsMode.OFF)),
        ca_cert=data.get(CONF_CA_CERT) or None,
        fingerprint=data.get(CONF_FINGERPRINT) or None,
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        protocol=MqttProtocol(data.get(CONF_PROTOCOL, MqttProtocol.V311)),
    )


def build_ssl_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context for ``settings`` (None for plain MQTT). Blocking: run it in the executor.

    Raises MqttTlsError when the CA certificate cannot be loaded or the fingerprint is malformed.
    """
    mode = settings.tls
    if mode is TlsMode.OFF:
        return None
    if mode is TlsMode.CA:
        if not settings.ca_cert:
            raise MqttTlsError("TLS with a custom CA needs the CA certificate (PEM)")
        try:
            context = ssl.create_default_context(cadata=settings.ca_cert)
        except (ssl.SSLError, ValueError) as err:
            raise MqttTlsError(f"the CA certificate cannot be used: {err}") from err
        context.check_hostname = False
        # A GX's self-signed certificate lacks the extensions Python 3.13+ insists on by default.
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
        return context
    if mode is TlsMode.PINNED:
        try:
            normalize_fingerprint(settings.fingerprint or "")
        except ValueError as err:
            raise MqttTlsError(str(err)) from err
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def open_socket(settings: MqttSettings, context: ssl.SSLContext | None) -> socket.socket:
    """Connect TCP (TCP_NODELAY), do the TLS handshake and check the certificate. Blocking.

    Returns a non-blocking socket (an ``ssl.SSLSocket`` with TLS) ready for MQTT. Raises
    MqttConnectError when the host cannot be reached, MqttTlsError when TLS fails or the
    certificate does not match the pinned fingerprint (nothing has been sent then).
    """
    timeout = settings.connect_timeout
    try:
        sock = socket.create_connection((settings.host, settings.port), timeout=timeout)
    except OSError as err:
        raise MqttConnectError(
            f"cannot reach {settings.host}:{settings.port}: {err.strerror or err}"
        ) from err
    try:
        # Small MQTT packets must not wait for the peer's delayed ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            sock = _tls_handshake(sock, settings, context)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _tls_handshake(
    sock: socket.socket, settings: MqttSettings, context: ssl.SSLContext
) -> ssl.SSLSocket:
    tls = context.wrap_socket(sock, server_hostname=settings.host, do_handshake_on_connect=False)
    try:
        tls.settimeout(settings.connect_timeout)
        tls.do_handshake()
    except ssl.SSLCertVerificationError as err:
        tls.close()
        message = f"the broker's certificate is not trusted: {err.verify_message}"
        raise MqttTlsError(message) from err
    except (ssl.SSLError, OSError) as err:
        tls.close()
        raise MqttTlsError(
            f"TLS handshake with {settings.host}:{settings.port} failed ({err}); is this a plain "
            "MQTT port (a GX uses 1883 plain, 8883 TLS)?"
        ) from err
    if settings.tls is TlsMode.PINNED:
        der = tls.getpeercert(binary_form=True) or b""
        got = certificate_fingerprint(der)
        if got != normalize_fingerprint(settings.fingerprint or ""):
            tls.close()
            raise MqttTlsError(f"the broker's certificate has another fingerprint: {got}")
    return tls


def _masked_topic(topic: str) -> str:
    """A topic for a log: its second level (a GX's portal id) masked.

    ``N/c0619ab4e25c/battery/275/Soc`` -> ``N/<portal id>/battery/275/Soc``.
    """
    parts = topic.split("/", 2)
    if len(parts) < 2:
        return topic
    parts[1] = "<portal id>"
    return "/".join(parts)


def _close_opened_socket(future: asyncio.Future[socket.socket]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


class _NoLock:
    """paho's locks, unneeded when only the event loop thread touches the client."""

    __slots__ = ()

    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None


class _LoopClient(mqtt.Client):
    """paho's client for a single thread: no locks, buffered reads, a socket we opened."""

    def __init__(self, client_id: str, protocol: MQTTProtocolVersion) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        for name in (
            "_in_callback_mutex",
            "_callback_mutex",
            "_msgtime_mutex",
            "_out_message_mutex",
            "_in_message_mutex",
            "_reconnect_delay_mutex",
            "_mid_generate_mutex",
        ):
            setattr(self, name, _NoLock())
        self.next_socket: socket.socket | None = None
        self._rbuf = b""
        self._rpos = 0

    @property
    def buffered(self) -> bool:
        """True while bytes read from the socket wait in our buffer."""
        return self._rpos < len(self._rbuf)

    def _create_socket(self) -> Any:
        sock, self.next_socket = self.next_socket, None
        if sock is None:
            raise ConnectionError("no connected socket was prepared")
        self._rbuf, self._rpos = b"", 0
        return sock

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos < len(buf):
            end = pos + bufsize
            self._rpos = end
            return buf[pos:end]
        data = super()._sock_recv(max(bufsize, RECV_SIZE))
        if len(data) <= bufsize:  # also b"": the broker closed the connection
            self._rbuf, self._rpos = b"", 0
            return data
        self._rbuf, self._rpos = data, bufsize
        return data[:bufsize]

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()


type ConnectionCallback = Callable[[bool, MqttError | None], None]


class MqttClient:
    """A broker connection kept up from the event loop.

    Args:
        settings: see :class:`MqttSettings`.
        subscriptions: topic filters (QoS 0) subscribed after every connect.
        on_message: ``(topic, payload bytes)`` for every message, on the loop (it arrived at
            ``received_at``). Must not raise (an exception is logged and counted in
            ``callback_errors``).
        on_connection: ``(connected, error)`` when the connection comes up (after the
            subscriptions were sent) or goes down (error is the reason; an
            :class:`MqttAuthError` means the client gave up).
        name: what logs call this connection, before ``host:port`` (e.g. the entry's title).

    Counters for diagnostics: ``connects``, ``disconnects``, ``messages_received``,
    ``messages_sent``, ``callback_errors``, ``last_error``; ``peer_fingerprint`` is the SHA-256
    of the broker's certificate (TLS).
    """

    def __init__(
        self,
        settings: MqttSettings,
        subscriptions: Sequence[str],
        on_message: Callable[[str, bytes], None],
        on_connection: ConnectionCallback | None = None,
        name: str = "",
    ) -> None:
        """Prepare; nothing connects before :meth:`async_connect`."""
        self.settings = settings
        self.name = name
        self.subscriptions = tuple(subscriptions)
        self.client_id = settings.client_id or f"ha-victron-{uuid.uuid4().hex[:12]}"
        self._on_message = on_message
        self._on_connection = on_connection or (lambda _up, _error: None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: ssl.SSLContext | None = None
        self._context_ready = False
        self._client: _LoopClient | None = None
        self._misc_timer: asyncio.TimerHandle | None = None
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._lost: asyncio.Future[MqttError] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.connected = False
        self.connects = 0
        self.disconnects = 0
        self.messages_received = 0
        self.messages_sent = 0
        self.callback_errors = 0
        self.last_error: str | None = None
        self.peer_fingerprint: str | None = None
        #: Loop time of the latest socket read: when the messages being handled arrived.
        self.received_at = 0.0

    # --- public -----------------------------------------------------------------------------

    async def async_connect(self) -> None:
        """Connect once now: TCP, TLS, CONNACK, subscriptions sent.

        Raises MqttConnectError, MqttTlsError, MqttAuthError or MqttProtocolError.
        """
        self._stopping = False
        await self._async_connect_once()

    def async_start(self, create_task: Callable[[Any], asyncio.Task[None]] | None = None) -> None:
        """Keep the connection up from now on: reconnect with backoff after every loss."""
        coro = self._supervise()
        self._task = create_task(coro) if create_task else asyncio.create_task(coro)

    def publish(self, topic: str, payload: bytes = b"", retain: bool = False) -> bool:
        """Publish at QoS 0; False (nothing sent) while not connected."""
        client = self._client
        if client is None or not self.connected:
            return False
        info = client.publish(topic, payload, 0, retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        self.messages_sent += 1
        return True

    def diagnostics(self) -> dict[str, Any]:
        """Port, TLS mode, protocol and the counters (no host, no credentials)."""
        return {
            "port": self.settings.port,
            "tls": self.settings.tls.value,
            "protocol": self.settings.protocol.value,
            "connected": self.connected,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "messages_received": self.messages_received,
            "messages_sent": self.messages_sent,
            "callback_errors": self.callback_errors,
            "last_error": self.last_error,
            "peer_fingerprint": self.peer_fingerprint,
        }

    async def async_stop(self) -> None:
        """Stop reconnecting, send DISCONNECT and close the socket. Safe to call twice."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._async_close()

    # --- connection -------------------------------------------------------------------------

    async def _async_connect_once(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        settings = self.settings
        if not self._context_ready:
            self._context = await loop.run_in_executor(None, build_ssl_context, settings)
            self._context_ready = True
        opening = loop.run_in_executor(None, open_socket, settings, self._context)
        try:
            sock = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # stopped while connecting: close the socket when the executor hands it over
            opening.add_done_callback(_close_opened_socket)
            raise
        if isinstance(sock, ssl.SSLSocket):
            self.peer_fingerprint = certificate_fingerprint(
                sock.getpeercert(binary_form=True) or b""
            )
        client = self._client or self._new_client()
        client.next_socket = sock
        self._connack = loop.create_future()
        self._closed = loop.create_future()
        try:
            client.reconnect()  # CONNECT from the loop; paho registers the socket with us
            async with asyncio.timeout(settings.connect_timeout):
                reason = await self._connack
        except TimeoutError:
            await self._async_close()
            raise MqttProtocolError(
                f"{settings.host}:{settings.port} sent no CONNACK within "
                f"{settings.connect_timeout:.0f} s"
            ) from None
        except MqttError:
            await self._async_close()
            raise
        except OSError as err:  # the socket broke while sending CONNECT
            await self._async_close()
            raise MqttConnectError(str(err)) from err
        finally:
            client.next_socket = None
        if reason.is_failure:
            await self._async_close()
            if reason.value in AUTH_REASONS:
                raise MqttAuthError(f"the broker refused the credentials: {reason}")
            raise MqttProtocolError(f"the broker refused the connection: {reason}")
        if self.subscriptions:
            client.subscribe([(topic, 0) for topic in self.subscriptions])
        self._lost = loop.create_future()
        self.connected = True
        self.connects += 1
        self.last_error = None
        self._on_connection(True, None)

    def _new_client(self) -> _LoopClient:
        settings = self.settings
        protocol = (
            MQTTProtocolVersion.MQTTv5
            if settings.protocol is MqttProtocol.V5
            else MQTTProtocolVersion.MQTTv311
        )
        client = _LoopClient(self.client_id, protocol)
        if settings.username is not None or settings.password is not None:
            client.username_pw_set(settings.username or "", settings.password)
        v5 = protocol is MQTTProtocolVersion.MQTTv5
        clean: Any = True if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY
        client.connect_async(settings.host, settings.port, settings.keepalive, clean_start=clean)
        client.on_connect = self._paho_on_connect
        client.on_disconnect = self._paho_on_disconnect
        client.on_message = self._paho_on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        self._client = client
        return client

    async def _supervise(self) -> None:
        backoff = BACKOFF_START
        while not self._stopping:
            if not self.connected:
                try:
                    await self._async_connect_once()
                except MqttAuthError as err:
                    self.last_error = str(err)
                    _LOGGER.error(
                        "MQTT %s: %s; not retrying until the credentials change", self._where, err
                    )
                    self._on_connection(False, err)
                    return
                except MqttError as err:
                    if self.last_error != str(err):
                        _LOGGER.warning("MQTT %s: %s; retrying", self._where, err)
                    self.last_error = str(err)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                _LOGGER.info("MQTT %s: connected again", self._where)
            backoff = BACKOFF_START
            assert self._lost is not None
            error = await self._lost
            if not self._stopping:
                _LOGGER.warning("MQTT %s: connection lost (%s); reconnecting", self._where, error)

    @property
    def _where(self) -> str:
        """``<name> (host:port)`` for logs: the entry's title, never a portal id."""
        address = f"{self.settings.host}:{self.settings.port}"
        return f"{self.name} ({address})" if self.name else address

    async def _async_close(self) -> None:
        client = self._client
        if client is None:
            return
        closed = self._closed
        if client.socket() is not None:
            client.disconnect()  # DISCONNECT is written by the writer callback, then paho closes
            if closed is not None and not closed.done():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1):
                        await asyncio.shield(closed)
        if client.socket() is not None:
            client._sock_close()  # no answer: close without waiting
        self._cancel_misc()

    # --- paho callbacks, all on the loop ------------------------------------------------------

    def _paho_on_connect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason)

    def _paho_on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if self._connack is not None and not self._connack.done():
            hint = (
                "; is this a TLS port (a GX uses 8883 for TLS)?"
                if self.settings.tls is TlsMode.OFF
                else ""
            )
            self._connack.set_exception(
                MqttClosedError(
                    f"{self._where} closed the connection before accepting it ({reason}){hint}"
                )
            )
        if not self.connected:
            return
        error = MqttProtocolError(f"disconnected: {reason}")
        self.connected = False
        self.disconnects += 1
        self.last_error = str(error)
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(error)
        if not self._stopping:
            self._on_connection(False, error)

    def _paho_on_message(self, _client: mqtt.Client, _userdata: Any, message: Any) -> None:
        self.messages_received += 1
        try:
            self._on_message(message.topic, message.payload)
        except Exception:  # the owner promised not to raise; never break the read loop
            self.callback_errors += 1
            if self.callback_errors == 1:
                _LOGGER.exception(
                    "MQTT %s: error handling a message on %s",
                    self._where,
                    _masked_topic(message.topic),
                )

    def _on_socket_open(self, client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        assert self._loop is not None
        self._loop.add_reader(sock, self._on_readable)
        if self._misc_timer is None:
            self._misc_timer = self._loop.call_later(MISC_INTERVAL, self._misc)

    def _on_socket_close(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        self._cancel_misc()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def _on_socket_register_write(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        assert self._loop is not None
        self._loop.add_writer(sock, self._on_writable)

    def _on_socket_unregister_write(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(sock)

    def _on_readable(self) -> None:
        client = self._client
        if client is None:
            return
        assert self._loop is not None
        self.received_at = self._loop.time()
        for _ in range(MAX_PACKETS_PER_READ):
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return  # paho closed the socket and reported the disconnect
            if not client.buffered:
                sock = client.socket()
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                    return
        self._loop.call_soon(self._on_readable)  # more is buffered: let others run first

    def _on_writable(self) -> None:
        if self._client is not None:
            self._client.loop_write()

    def _misc(self) -> None:
        self._misc_timer = None
        client = self._client
        if client is None or client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return
        if client.socket() is not None and self._loop is not None:
            self._misc_timer = self._loop.call_later(MISC_INTERVAL, self._misc)

    def _cancel_misc(self) -> None:
        if self._misc_timer is not None:
            self._misc_timer.cancel()
            self._misc_timer = None


class Probe(Protocol):
    """A sans-I/O question to a broker that :func:`async_run_probe` asks (for instance
    ``protocol.venus_probe.GxProbe``: which GX is there)."""

    timeout: float
    """Seconds to wait for the answer."""
    nudge_after: float
    """Seconds after which :meth:`nudge` is published when no answer came."""
    details_timeout: float
    """Seconds to wait for the details, once found."""

    @property
    def subscriptions(self) -> list[str]:
        """Topic filters to subscribe."""
        ...

    @property
    def found(self) -> bool:
        """True once what the probe looks for arrived."""
        ...

    @property
    def complete(self) -> bool:
        """True once the optional details arrived too."""
        ...

    def receive(self, topic: str, payload: bytes) -> None:
        """Take one message."""
        ...

    def nudge(self) -> list[tuple[str, bytes]]:
        """Messages that may bring an answer that is late (published once)."""
        ...

    def detail_requests(self) -> list[tuple[str, bytes]]:
        """Messages that ask for the details, once found."""
        ...


async def async_run_probe(settings: MqttSettings, probe: Probe) -> bool:
    """Ask `probe`'s question on the broker of `settings`, then disconnect.

    Connects, subscribes ``probe.subscriptions`` and feeds it every message; when it has not
    ``found`` its answer after ``probe.nudge_after`` s, publishes ``probe.nudge()``. Once found
    (within ``probe.timeout`` s), publishes ``probe.detail_requests()`` and waits up to
    ``probe.details_timeout`` s for ``probe.complete``. Returns whether it was found. Raises
    MqttConnectError / MqttTlsError / MqttAuthError / MqttProtocolError.
    """
    found: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    complete = asyncio.Event()

    def on_message(topic: str, payload: bytes) -> None:
        probe.receive(topic, payload)
        if probe.found and not found.done():
            found.set_result(None)
        if probe.complete:
            complete.set()

    client = MqttClient(settings, probe.subscriptions, on_message)
    try:
        await client.async_connect()
        try:
            async with asyncio.timeout(probe.timeout):
                done, _ = await asyncio.wait({found}, timeout=probe.nudge_after)
                for topic, payload in [] if done else probe.nudge():
                    client.publish(topic, payload)
                await found
        except TimeoutError:
            return False
        for topic, payload in probe.detail_requests():
            client.publish(topic, payload)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(probe.details_timeout):
                await complete.wait()
    finally:
        await client.async_stop()
    return True
