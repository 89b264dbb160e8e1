"""Venus GX discovery (issue 10 §3): a fake SSDP advertisement of the boat GX, the confirm step with
the host filled in, discovery-update-info, and MQTT token pairing with the GX simulator's pairing
side (an HTTPS server that hands out credentials only in pairing mode, which then work on the
GX's real TLS broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from typing import Any

from homeassistant.config_entries import SOURCE_SSDP, ConfigFlowResult
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.flows import venus_discovery
from custom_components.victron_venus.transport import pairing
from tests.components.venus_support import (  # fixtures are imported by name
    HOST,
    PASSWORD,
    PORTAL,
    USER,
    broker,
    fast,
    gx,
    tls_broker,
    tls_gx,
    wait_for,
)
from tests.fakes.gx_pairing import PairingServer, advertisement
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker, free_port
from tests.shared import REPO

__all__ = ["broker", "fast", "gx", "tls_broker", "tls_gx"]

MANIFEST = REPO / "custom_components" / "victron_venus" / "manifest.json"


@pytest.fixture
async def pairing_server(tls_broker: MosquittoBroker) -> AsyncIterator[PairingServer]:
    server = PairingServer(tls_broker)
    await server.start()
    yield server
    await server.stop()


async def _discover(hass: HomeAssistant, **kwargs: Any) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_SSDP}, data=advertisement(**kwargs)
    )


def test_the_manifest_matches_a_gx_like_core_victron_gx() -> None:
    """Two matchers: Victron Energy with MQTT on the LAN, and with MQTT token pairing."""
    assert json.loads(MANIFEST.read_text())["ssdp"] == [
        {"manufacturer": "Victron Energy", "X_MqttOnLan": "1"},
        {"manufacturer": "Victron Energy", "X_MqttTokenPairing": "1"},
    ]


async def test_an_advertised_gx_is_added_with_its_host_filled_in(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A GX without token pairing: the connection form comes with the host from the
    advertisement; with the password it becomes an entry for the advertised portal id."""
    result = await _discover(hass, pairing=False)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ssdp_confirm"
    assert result["description_placeholders"] == {
        "name": "Ekrano GX",
        "host": HOST,
        "details": "",
    }
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema  # type: ignore[union-attr]
        if key.description
    }
    assert suggested == {"host": HOST, "port": 1883, "tls_mode": "off", "protocol": "3.1.1"}
    (flow,) = [f for f in hass.config_entries.flow.async_progress() if f["handler"] == DOMAIN]
    assert flow["context"]["title_placeholders"] == {"name": "Ekrano GX"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "host": HOST,
            "port": broker.port,
            "tls_mode": "off",
            "username": USER,
            "password": PASSWORD,
            "protocol": "3.1.1",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == PORTAL
    assert entry.data["host"] == HOST and entry.data["portal_id"] == PORTAL


async def test_a_known_gx_at_a_new_address_is_updated_not_duplicated(
    hass: HomeAssistant,
) -> None:
    """discovery-update-info: the entry of the advertised portal id gets the new host."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=PORTAL, title="Ekrano GX", data=entry_data_stub()
    )
    entry.add_to_hass(hass)
    result = await _discover(hass, host="192.168.1.31")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "192.168.1.31"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    again = await _discover(hass, host="192.168.1.31")  # same address: nothing to do
    assert again["reason"] == "already_configured"


def entry_data_stub() -> dict[str, object]:
    return {
        "entry_type": "venus",
        "host": "192.168.1.20",
        "port": 1883,
        "tls_mode": "off",
        "username": "",
        "password": "",
        "protocol": "3.1.1",
        "portal_id": PORTAL,
    }


async def test_an_advertisement_without_a_portal_id_is_not_used(hass: HomeAssistant) -> None:
    result = await _discover(hass, X_VrmPortalId="")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_a_gx_advert"


async def test_token_pairing_with_the_gx(  # noqa: PLR0917
    hass: HomeAssistant,
    fast: None,
    tls_broker: MosquittoBroker,
    tls_gx: GxSimulator,
    pairing_server: PairingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A GX with token pairing: the menu offers pairing; out of pairing mode the GX refuses
    (translated error, details); after the pairing button the GX hands out a token that works on
    its TLS broker, and the entry is made with it (TLS without certificate check)."""
    monkeypatch.setattr(venus_discovery, "PAIRING_HTTPS_PORT", pairing_server.port)
    monkeypatch.setattr(venus_discovery, "PAIRING_MQTT_PORT", tls_broker.port)
    result = await _discover(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["ssdp_token_pairing", "ssdp_confirm"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ssdp_token_pairing"}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "ssdp_token_pairing"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "pairing_refused"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert "HTTP 403: Pairing mode not enabled" in placeholders["details"]
    pairing_server.press_pairing_button()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    name = f"token/homeassistant/{PORTAL}"
    assert pairing_server.requests[-1] == {"role": "homeassistant", "device_id": PORTAL}
    assert (entry.data["username"], entry.data["password"]) == (name, pairing_server.tokens[name])
    assert (entry.data["tls_mode"], entry.data["port"]) == ("insecure", tls_broker.port)
    await hass.async_block_till_done()
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="data with the token")


async def test_pairing_errors(
    hass: HomeAssistant,
    fast: None,
    tls_broker: MosquittoBroker,
    pairing_server: PairingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing answers HTTPS: pairing_failed. The token comes but the GX's broker cannot be
    reached with it: the connection's own error, on the pairing form."""
    monkeypatch.setattr(venus_discovery, "PAIRING_HTTPS_PORT", free_port())
    result = await _discover(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ssdp_token_pairing"}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "pairing_failed"}
    monkeypatch.setattr(venus_discovery, "PAIRING_HTTPS_PORT", pairing_server.port)
    monkeypatch.setattr(venus_discovery, "PAIRING_MQTT_PORT", free_port())
    pairing_server.press_pairing_button()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "gx_cannot_connect"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["details"].startswith("\n\nDetails: ")


async def test_the_pairing_request_and_its_answers(
    hass: HomeAssistant, tls_broker: MosquittoBroker, pairing_server: PairingServer
) -> None:
    """transport/pairing.py against the fake GX: the form fields, a refusal, a bad device id,
    answers without credentials or not JSON."""
    from aiohttp import ClientSession

    async with ClientSession() as session:
        with pytest.raises(pairing.PairingRefused) as refused:
            await pairing.async_request_token(session, HOST, PORTAL, port=pairing_server.port)
        assert refused.value.status == 403
        with pytest.raises(ValueError, match="alphanumeric"):
            await pairing.async_request_token(session, HOST, "c0:61", port=pairing_server.port)
        pairing_server.press_pairing_button()
        token = await pairing.async_request_token(session, HOST, PORTAL, port=pairing_server.port)
        assert token.token_name == f"token/homeassistant/{PORTAL}"

        for reply, message in (
            ("[1, 2]", "not a JSON object"),
            ("{}", "no token_name and password"),
            ("no json", "JSONDecodeError"),
        ):
            pairing_server.reply = reply
            with pytest.raises(pairing.PairingError, match=message):
                await pairing.async_request_token(session, HOST, PORTAL, port=pairing_server.port)
    assert pairing.pairing_url("fe80::1") == "https://[fe80::1]/auth/generate-token/"
    assert (
        pairing.pairing_url("venus.local", 8443) == "https://venus.local:8443/auth/generate-token/"
    )
