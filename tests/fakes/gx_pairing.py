"""A GX's side of MQTT token pairing (Venus OS >= 3.80), for the tests and scripts/develop.

An HTTPS server on 127.0.0.1 (the broker's self-signed certificate, as a GX has its own) that
answers ``POST /auth/generate-token/`` (form fields ``role`` and ``device_id``) the way
venus-platform's pairing mode does (victronenergy/venus #1535; the victron-mqtt library's
pairing tests show the answers):

* in pairing mode (`press_pairing_button`, for `duration` seconds): 200 with
  ``{"token_name": "token/<role>/<device_id>", "password": "<random>"}`` - and the token becomes
  a user of the GX's broker (mosquitto reloads its password file), so the credentials work at once;
* otherwise: 403 "Pairing mode not enabled"; a device id that is not alphanumeric: 400.

``advertisement(...)`` is the SSDP discovery a GX sends (Home Assistant's SsdpServiceInfo),
with the UPnP fields the manifest matches on.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from typing import Any

from aiohttp import web
from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo

from tests.fakes.mosquitto import MosquittoBroker, free_port

PORTAL = "c0619ab4e25c"


def advertisement(
    host: str = "127.0.0.1", portal: str = PORTAL, *, pairing: bool = True, **upnp: Any
) -> SsdpServiceInfo:
    """The SSDP advertisement of a GX at `host` (UPnP description fields of a Cerbo GX)."""
    fields = {
        "deviceType": "urn:schemas-upnp-org:device:Basic:1",
        "friendlyName": "Ekrano GX",
        "manufacturer": "Victron Energy",
        "modelName": "Ekrano GX",
        "serialNumber": "HQ2207VK7WA",
        "X_VrmPortalId": portal,
        "X_MqttOnLan": "1",
        **({"X_MqttTokenPairing": "1"} if pairing else {}),
        **upnp,
    }
    return SsdpServiceInfo(
        ssdp_usn=f"uuid:{portal}::upnp:rootdevice",
        ssdp_st="upnp:rootdevice",
        ssdp_location=f"http://{host}:80/description.xml",
        upnp=fields,
    )


class PairingServer:
    """The GX's /auth/generate-token/ on its HTTPS port (see the module docstring)."""

    def __init__(self, broker: MosquittoBroker, *, duration: float = 120.0) -> None:
        """Serve for `broker`'s GX (TLS with its certificate); pairing mode off."""
        assert broker.certificate is not None, "the GX's HTTPS needs the broker's certificate"
        self.broker = broker
        self.duration = duration
        self.port = free_port()
        self.requests: list[dict[str, str]] = []
        self.tokens: dict[str, str] = {}
        #: when set, every request gets this text with status 200 instead (a broken GX)
        self.reply: str | None = None
        self._until = 0.0
        self._runner: web.AppRunner | None = None

    @property
    def pairing(self) -> bool:
        """Whether pairing mode is on now."""
        return asyncio.get_running_loop().time() < self._until

    def press_pairing_button(self) -> None:
        """Pairing mode on for `duration` seconds (the GUI option or a double press)."""
        self._until = asyncio.get_running_loop().time() + self.duration

    async def start(self) -> None:
        """Listen on 127.0.0.1:`port` with TLS."""
        app = web.Application()
        app.router.add_post("/auth/generate-token/", self._generate)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert = self.broker.certificate
        assert cert is not None
        context.load_cert_chain(cert.cert_path, cert.key_path)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context).start()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _generate(self, request: web.Request) -> web.Response:
        form = await request.post()
        role, device_id = str(form.get("role", "")), str(form.get("device_id", ""))
        self.requests.append({"role": role, "device_id": device_id})
        if self.reply is not None:
            return web.Response(text=self.reply)
        if not self.pairing:
            return web.Response(status=403, text="Pairing mode not enabled")
        if not device_id.isalnum() or not role:
            return web.Response(status=400, text="Bad request")
        name, password = f"token/{role}/{device_id}", secrets.token_urlsafe(24)
        await asyncio.get_running_loop().run_in_executor(None, self.broker.add_user, name, password)
        self.tokens[name] = password
        return web.json_response({"token_name": name, "password": password})
