"""Venus GX discovery: SSDP advertisements, a confirm step with the host filled in, token pairing.

A GX with MQTT on the LAN announces itself over SSDP (UPnP) with the manufacturer "Victron Energy"
and ``X_MqttOnLan=1``; Venus OS >= 3.80 also ``X_MqttTokenPairing=1`` (manifest.json ``ssdp``, the
same matchers as Home Assistant core's victron_gx). The advertisement's UPnP description gives the
portal id (``X_VrmPortalId``: our unique id), the GX's name (``friendlyName``) and model
(``modelName``); its location URL gives the address.

* A GX already set up with another address gets the new one (its entry reloads): no duplicate
  (discovery-update-info). Without a portal id the advertisement is not used.
* A GX with token pairing: a menu - pair (the user puts the GX in pairing mode, Home Assistant
  asks it for MQTT credentials of its own over HTTPS: transport/pairing.py, then connects with
  them over TLS on 8883) or enter the connection by hand.
* Otherwise, or by choice: the usual connection form with the host filled in; submitting it is
  the user step (flows/venus.py ``async_step_venus``) for this portal id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo

from ..sources.venus import CONF_PORTAL_ID
from ..transport.mqtt import CONF_PROTOCOL, CONF_TLS_MODE, DEFAULT_PORT, MqttProtocol, TlsMode
from ..transport.pairing import HTTPS_PORT, PairingError, PairingRefused, async_request_token
from .venus import VenusFlowMixin, connection_schema, validate_connection

#: where a paired GX is reached: its TLS broker (module attributes: tests use their own ports)
PAIRING_MQTT_PORT = 8883
PAIRING_HTTPS_PORT = HTTPS_PORT
UPNP_PORTAL_ID = "X_VrmPortalId"
UPNP_PAIRING = "X_MqttTokenPairing"


class VenusDiscoveryFlowMixin(VenusFlowMixin):
    """The Venus GX flow with its SSDP steps (see the module docstring)."""

    _gx_host: str | None = None
    _gx_portal: str | None = None
    _gx_name: str | None = None

    async def async_step_ssdp(self, discovery_info: SsdpServiceInfo) -> ConfigFlowResult:
        """A GX advertised itself: update a known one's address, else offer to add it."""
        host = urlparse(discovery_info.ssdp_location or "").hostname
        portal = str(discovery_info.upnp.get(UPNP_PORTAL_ID) or "").strip().lower()
        if not host or not portal.isalnum():
            return self.async_abort(reason="not_a_gx_advert")
        await self.async_set_unique_id(portal)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host})
        self._gx_host, self._gx_portal = host, portal
        self._gx_name = str(discovery_info.upnp.get("friendlyName") or host)
        self.context["title_placeholders"] = {"name": self._gx_name}
        if discovery_info.upnp.get(UPNP_PAIRING) == "1":
            return await self.async_step_ssdp_venus()
        return await self.async_step_ssdp_confirm()

    async def async_step_ssdp_venus(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A GX with token pairing: pair, or enter the connection by hand."""
        return self.async_show_menu(
            step_id="ssdp_venus",
            menu_options=["ssdp_token_pairing", "ssdp_confirm"],
            description_placeholders=self._placeholders(),
        )

    def _placeholders(self) -> dict[str, str]:
        return {"name": str(self._gx_name), "host": str(self._gx_host), "details": ""}

    async def async_step_ssdp_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The connection form with the advertised host filled in; then the user step."""
        if user_input is not None:
            return await self.async_step_venus({**user_input, CONF_PORTAL_ID: self._gx_portal})
        suggested = {
            CONF_HOST: self._gx_host,
            CONF_PORT: DEFAULT_PORT,
            CONF_TLS_MODE: TlsMode.OFF.value,
            CONF_PROTOCOL: MqttProtocol.V311.value,
        }
        return self.async_show_form(
            step_id="ssdp_confirm",
            data_schema=self.add_suggested_values_to_schema(
                connection_schema(with_portal_id=False), suggested
            ),
            description_placeholders=self._placeholders(),
        )

    async def async_step_ssdp_token_pairing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the GX (in pairing mode) for MQTT credentials, connect with them over TLS."""
        errors: dict[str, str] = {}
        placeholders = self._placeholders()
        if user_input is not None:
            assert self._gx_host is not None and self._gx_portal is not None
            session = async_get_clientsession(self.hass, verify_ssl=False)
            try:
                token = await async_request_token(
                    session, self._gx_host, self._gx_portal, port=PAIRING_HTTPS_PORT
                )
            except PairingRefused as err:
                errors["base"] = "pairing_refused"
                placeholders["details"] = f"\n\nDetails: {err}"
            except PairingError as err:
                errors["base"] = "pairing_failed"
                placeholders["details"] = f"\n\nDetails: {err}"
            else:
                data = {
                    CONF_HOST: self._gx_host,
                    CONF_PORT: PAIRING_MQTT_PORT,
                    CONF_TLS_MODE: TlsMode.INSECURE.value,
                    CONF_USERNAME: token.token_name,
                    CONF_PASSWORD: token.password,
                    CONF_PROTOCOL: MqttProtocol.V311.value,
                }
                probe, error, detail = await validate_connection(data, self._gx_portal)
                if probe is not None:
                    return await self.async_step_venus({**data, CONF_PORTAL_ID: self._gx_portal})
                errors["base"] = str(error)
                placeholders["details"] = f"\n\nDetails: {detail}" if detail else ""
        return self.async_show_form(
            step_id="ssdp_token_pairing", errors=errors, description_placeholders=placeholders
        )
