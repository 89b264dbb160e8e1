"""A real MQTT broker for tests and for scripts/develop: mosquitto on a free 127.0.0.1 port.

Usable from a pytest fixture (request ``socket_enabled``: pytest-homeassistant-custom-component
blocks sockets and only allows the literal 127.0.0.1) and from a plain script::

    with MosquittoBroker(users={"venus": "s3cret"}, tls=True) as broker:
        broker.host, broker.port             # "127.0.0.1", 40123
        broker.certificate.cert_path         # self-signed EC P-256, SAN IP:127.0.0.1, CA:TRUE
        broker.certificate.sha256            # hex SHA-256 fingerprint of the DER certificate

Facts (../shared/reference/ha_testing.md §4): mosquitto 2 started as root drops privileges to
user ``mosquitto`` and then cannot read files in a 0700 directory such as pytest's tmp_path
("Unable to open pwfile", exit 13). We write ``user root`` into the config when running as
root, so mosquitto keeps the uid that created the files; readiness is polled with a TCP connect
every 5 ms (ready in < 10 ms). ``start_broker()`` falls back to an in-process amqtt broker only
when no mosquitto binary exists, and fails loudly when amqtt is missing too.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
import datetime as dt
import hashlib
import ipaddress
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from types import TracebackType
from typing import Any, Protocol, Self

HOST = "127.0.0.1"
READY_TIMEOUT = 5.0
MOSQUITTO_PATHS = (
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
)


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (PATH first, then the usual sbin folders), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_PATHS if os.access(p, os.X_OK)), None)


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --- passwords ----------------------------------------------------------------------------------


def mosquitto_password_hash(password: str, *, iterations: int = 101) -> str:
    """A mosquitto 2 password-file hash: ``$7$<iterations>$<b64 salt>$<b64 PBKDF2-SHA512>``.

    Same format mosquitto_passwd 2.0 writes (12-byte salt, 64-byte PBKDF2-HMAC-SHA512 digest,
    101 iterations by default); checked against mosquitto_passwd in tests.
    """
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def write_password_file(path: Path, users: dict[str, str], *, use_tool: bool | None = None) -> Path:
    """Write a mosquitto password file for ``users`` (name -> password).

    ``use_tool``: True = mosquitto_passwd (error if missing), False = hash in Python,
    None = mosquitto_passwd when installed, else Python.
    """
    tool = shutil.which("mosquitto_passwd") if use_tool is not False else None
    if use_tool and tool is None:
        raise FileNotFoundError("mosquitto_passwd is not installed")
    path.write_text("", encoding="utf-8")
    path.chmod(0o600)
    if tool is not None:
        for name, password in users.items():
            subprocess.run([tool, "-b", str(path), name, password], check=True, capture_output=True)
    else:
        lines = [
            f"{name}:{mosquitto_password_hash(password)}\n" for name, password in users.items()
        ]
        path.write_text("".join(lines), encoding="utf-8")
    return path


# --- TLS ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed server certificate that is also its own CA (pass cert_path as ca_certs)."""

    cert_path: Path
    key_path: Path
    sha256: str
    """Lower-case hex SHA-256 of the DER certificate (what a user pins), no separators."""

    @property
    def sha256_colons(self) -> str:
        """The fingerprint as ``AB:CD:...``, the way openssl and browsers print it."""
        return ":".join(self.sha256[i : i + 2] for i in range(0, len(self.sha256), 2)).upper()


def generate_certificate(directory: Path, common_name: str = "venus.local") -> Certificate:
    """Self-signed EC P-256 certificate with SAN IP:127.0.0.1, DNS:localhost and DNS:<cn>.

    CN defaults to venus.local like the GX's own /data/keys/mosquitto.crt (protocols.md §3.1).
    It carries CA:TRUE, keyCertSign, SKI and AKI so that Python's default context (which sets
    VERIFY_X509_STRICT since 3.13) accepts it as a trust anchor.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address(HOST)),
                    x509.DNSName("localhost"),
                    x509.DNSName(common_name),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return Certificate(cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex())


# --- brokers ------------------------------------------------------------------------------------


class Broker(Protocol):
    """What tests and scripts/develop use of a broker."""

    host: str
    port: int
    certificate: Certificate | None

    def start(self) -> Self: ...
    def stop(self) -> None: ...


class _BrokerBase:
    host: str
    port: int
    certificate: Certificate | None
    directory: Path
    _own_directory: bool

    def _setup(
        self,
        directory: Path | str | None,
        users: dict[str, str] | None,
        tls: bool,
        port: int | None,
    ) -> None:
        self.host = HOST
        self.port = port or free_port()
        self._own_directory = directory is None
        self.directory = Path(
            tempfile.mkdtemp(prefix="mosquitto-") if directory is None else directory
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {})
        self.tls = tls
        self.certificate = generate_certificate(self.directory) if tls else None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _cleanup_directory(self) -> None:
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


class MosquittoBroker(_BrokerBase):
    """mosquitto as a child process on ``127.0.0.1:<free port>``.

    Args:
        directory: where config, password file, certificate and log go (a temp dir, removed on
            stop, when None). pytest's ``tmp_path`` is fine, also as root.
        users: name -> password; when given, anonymous clients are refused.
        tls: serve MQTT over TLS with a fresh self-signed certificate (``.certificate``).
        port: fixed port (e.g. 1883 for scripts/develop); a free one when None.
        allow_anonymous: defaults to ``not users``.
        executable: mosquitto binary; found on PATH or in /usr/sbin when None.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        users: dict[str, str] | None = None,
        tls: bool = False,
        port: int | None = None,
        allow_anonymous: bool | None = None,
        executable: str | None = None,
        use_mosquitto_passwd: bool | None = None,
    ) -> None:
        """Prepare files; nothing runs until start()."""
        exe = executable or find_mosquitto()
        if exe is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.executable = exe
        self._setup(directory, users, tls, port)
        self.allow_anonymous = (not self.users) if allow_anonymous is None else allow_anonymous
        self._use_mosquitto_passwd = use_mosquitto_passwd
        self.config_path = self.directory / "mosquitto.conf"
        self.log_path = self.directory / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            "persistence false",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            # Without it, bursts of small packets wait ~40 ms for delayed ACKs (Nagle).
            "set_tcp_nodelay true",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.append("user root")  # keep root: the files live in 0700 directories
        if self.users:
            passwd = write_password_file(
                self.directory / "passwd", self.users, use_tool=self._use_mosquitto_passwd
            )
            lines.append(f"password_file {passwd}")
        if self.certificate is not None:
            lines += [
                f"certfile {self.certificate.cert_path}",
                f"keyfile {self.certificate.key_path}",
            ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def running(self) -> bool:
        """True while the mosquitto process is alive."""
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        """What mosquitto logged so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> Self:
        """Start mosquitto and wait until it accepts TCP connections (5 s deadline)."""
        if self.running:
            return self
        self._write_config()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise RuntimeError(f"mosquitto exited with {code}:\n{self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(
                        f"mosquitto not ready on {self.host}:{self.port}:\n{self.log_text()}"
                    ) from None
                time.sleep(0.005)

    def stop(self) -> None:
        """Terminate mosquitto (kill after 5 s) and remove the temp directory if we made it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self._cleanup_directory()

    def add_user(self, name: str, password: str) -> None:
        """Add a user to the password file and have mosquitto reload it (SIGHUP); returns once
        mosquitto logged the reload. The broker must have been started with users."""
        self.users = {**(self.users or {}), name: password}
        write_password_file(
            self.directory / "passwd", self.users, use_tool=self._use_mosquitto_passwd
        )
        if self._process is None or self._process.poll() is not None:
            return
        before = self.log_text().count("Reloading config")
        self._process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + READY_TIMEOUT
        while self.log_text().count("Reloading config") == before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"mosquitto did not reload:\n{self.log_text()}")
            time.sleep(0.005)

    def restart(self) -> None:
        """Stop and start on the same port and files (a GX reboot, as seen by clients)."""
        own, self._own_directory = self._own_directory, False
        try:
            self.stop()
        finally:
            self._own_directory = own
        self.start()


class AmqttBroker(_BrokerBase):
    """In-process amqtt broker on its own thread and event loop: the fallback without mosquitto.

    Only MQTT 3.1.1 (amqtt rejects MQTTv5). Supports anonymous access and TLS; password files
    are not implemented here (use mosquitto for auth tests).
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        users: dict[str, str] | None = None,
        tls: bool = False,
        port: int | None = None,
    ) -> None:
        """Prepare; requires the ``amqtt`` package (pip install amqtt)."""
        try:
            import amqtt.broker  # noqa: F401
        except ImportError as err:
            raise RuntimeError(
                "No MQTT broker available: mosquitto is not installed (apt-get install mosquitto)"
                " and the amqtt fallback is not installed either (pip install amqtt)"
            ) from err
        if users:
            raise NotImplementedError("password auth needs mosquitto; amqtt fallback is anonymous")
        self._setup(directory, users, tls, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None

    def start(self) -> Self:
        """Run the broker on a daemon thread; return when it accepts connections."""
        from amqtt.broker import Broker as _Amqtt

        listener: dict[str, Any] = {"type": "tcp", "bind": f"{self.host}:{self.port}"}
        if self.certificate is not None:
            listener |= {
                "ssl": True,
                "certfile": str(self.certificate.cert_path),
                "keyfile": str(self.certificate.key_path),
            }
        config = {
            "listeners": {"default": listener},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        loop = asyncio.new_event_loop()
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._broker = _Amqtt(config, loop=loop)
                loop.run_until_complete(self._broker.start())
            except BaseException as err:  # reported to start()
                errors.append(err)
                started.set()
                return
            started.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
        self._thread.start()
        started.wait(READY_TIMEOUT)
        if errors:
            raise RuntimeError(f"amqtt failed to start: {errors[0]!r}") from errors[0]
        return self

    def stop(self) -> None:
        """Shut the broker down and join its thread."""
        loop, thread, broker = self._loop, self._thread, self._broker
        self._loop = self._thread = self._broker = None
        if loop is not None and broker is not None:
            asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(READY_TIMEOUT)
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(READY_TIMEOUT)
        if loop is not None:
            loop.close()
        self._cleanup_directory()


def start_broker(
    directory: Path | str | None = None,
    *,
    users: dict[str, str] | None = None,
    tls: bool = False,
    port: int | None = None,
) -> MosquittoBroker | AmqttBroker:
    """Start mosquitto, or amqtt in-process only when no mosquitto binary exists."""
    if find_mosquitto() is not None:
        return MosquittoBroker(directory, users=users, tls=tls, port=port).start()
    return AmqttBroker(directory, users=users, tls=tls, port=port).start()
