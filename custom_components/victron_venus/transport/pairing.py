"""MQTT token pairing with a GX (Venus OS >= 3.80): ask the GX for MQTT credentials of our own.

How it works (Venus OS's venus-platform "register token" pairing mode, victronenergy/venus issue
#1535; the GX advertises it over SSDP as ``X_MqttTokenPairing=1``; Home Assistant core's
victron_gx and the victron-mqtt library use it the same way):

1. The user puts the GX in pairing mode (its GUI's MQTT pairing option, or a double press of the
   GX button on devices without a screen); it lasts a short while.
2. We ``POST https://<gx>/auth/generate-token/`` with the form fields ``role`` (our role,
   ``homeassistant``) and ``device_id`` (alphanumeric: our installation's portal id). The GX's
   certificate is self-signed: the request does not verify it (as every GX client does).
3. In pairing mode the GX answers 200 with JSON ``{"token_name": "token/homeassistant/<id>",
   "password": "..."}`` (other keys may follow) and, if MQTT access was off, turns it to
   "paired devices only"; outside pairing mode it refuses (403, or 401).
4. Those are the MQTT username and password for the GX's TLS broker (port 8883).

Pure request/response over aiohttp; the caller passes the session (Home Assistant's, without
certificate verification).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import aiohttp

PAIRING_PATH: Final = "/auth/generate-token/"
ROLE: Final = "homeassistant"
HTTPS_PORT: Final = 443
TIMEOUT: Final = 10.0


class PairingError(Exception):
    """The GX could not be asked (network, TLS, a timeout, an answer that is not JSON)."""


class PairingRefused(PairingError):
    """The GX answered but refused (not in pairing mode: HTTP 403; or another non-200)."""

    def __init__(self, status: int, body: str) -> None:
        """`status`: the HTTP status; `body`: the start of its text."""
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


@dataclass(frozen=True, slots=True)
class PairingToken:
    """MQTT credentials the GX gave: the username (``token_name``) and the password."""

    token_name: str
    password: str


def pairing_url(host: str, port: int = HTTPS_PORT) -> str:
    """``https://<host>[:port]/auth/generate-token/`` (IPv6 literals bracketed)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}{'' if port == HTTPS_PORT else f':{port}'}{PAIRING_PATH}"


async def async_request_token(
    session: aiohttp.ClientSession,
    host: str,
    device_id: str,
    *,
    port: int = HTTPS_PORT,
    role: str = ROLE,
    timeout: float = TIMEOUT,
) -> PairingToken:
    """Ask the GX at `host` for MQTT credentials (see the module docstring).

    Raises ValueError for a `device_id` that is not alphanumeric (the GX takes only those),
    PairingRefused when the GX answers another status than 200 (not in pairing mode), and
    PairingError when it cannot be reached or its answer lacks the credentials.
    """
    if not device_id.isalnum():
        raise ValueError(f"device_id must be alphanumeric: {device_id!r}")
    try:
        async with session.post(
            pairing_url(host, port),
            data={"role": role, "device_id": device_id},
            ssl=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            if response.status != 200:
                raise PairingRefused(response.status, await response.text())
            answer: Any = await response.json(content_type=None)
    except PairingRefused:
        raise
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise PairingError(f"{type(err).__name__}: {err}") from err
    if not isinstance(answer, dict):
        raise PairingError("the GX's answer is not a JSON object")
    name, password = answer.get("token_name"), answer.get("password")
    if not isinstance(name, str) or not name or not isinstance(password, str) or not password:
        raise PairingError("the GX's answer has no token_name and password")
    return PairingToken(name, password)
