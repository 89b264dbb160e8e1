"""The Venus GX config flow against a real mosquitto and the GX simulator: every step, every error
(unreachable, TLS mismatch both ways, wrong pin, bad credentials, not a GX, missing CA, malformed
fingerprint), portal id given, already configured, reauth, reconfigure and options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import CONF_WRITE_INTERVAL, DOMAIN
from custom_components.victron_venus.descriptions.venus import SERVICE_TYPES
from custom_components.victron_venus.transport.mqtt import MqttClient, MqttSettings
from tests.components.venus_support import (  # fixtures are imported by name
    GX_PASSWORD,
    GX_USER,
    HOST,
    PASSWORD,
    PORTAL,
    USER,
    broker,
    fast,
    gx,
    setup_entry,
    simulator,
    tls_broker,
    tls_gx,
    wait_for,
)
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker, free_port

__all__ = ["broker", "fast", "gx", "tls_broker", "tls_gx"]

pytestmark = pytest.mark.usefixtures("fast")


async def _form(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "venus" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "venus"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "venus"
    return result


def _answer(port: int, **overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "host": f" {HOST} ",
        "port": port,
        "tls_mode": "off",
        "username": USER,
        "password": PASSWORD,
        "protocol": "3.1.1",
    }
    answer.update(overrides)
    answer = {k: v for k, v in answer.items() if v is not None}
    # the CA certificate and the fingerprint sit in the form's TLS section (issue 12)
    tls = {k: answer.pop(k) for k in ("ca_cert", "fingerprint") if k in answer}
    if tls:
        answer["tls"] = tls
    return answer


async def _submit(hass: HomeAssistant, flow_id: str, answer: dict[str, Any]) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(flow_id, answer)


async def test_user_flow_creates_entry_named_after_the_gx(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Connect, read the retained serial, model and firmware; unique id = portal id."""
    result = await _submit(hass, (await _form(hass))["flow_id"], _answer(broker.port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Ekrano GX"
    entry = result["result"]
    assert entry.unique_id == PORTAL
    assert result["data"] == {
        "entry_type": "venus",
        "host": HOST,
        "port": broker.port,
        "tls_mode": "off",
        "username": USER,
        "password": PASSWORD,
        "protocol": "3.1.1",
        "portal_id": PORTAL,
        "model": "Ekrano GX",
        "firmware": "v3.70~9",
    }
    assert result["options"] == {
        CONF_WRITE_INTERVAL: 5,
        "service_types": list(SERVICE_TYPES),
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_errors_are_distinct_and_the_form_recovers(
    hass: HomeAssistant, broker: MosquittoBroker, tls_broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Unreachable, wrong password, plain to a TLS port, TLS to a plain port, not a GX, missing
    CA, malformed fingerprint: each its own error; then the right answer creates the entry."""
    flow_id = (await _form(hass))["flow_id"]
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        (_answer(free_port()), {"base": "gx_cannot_connect"}),
        (_answer(broker.port, password="wrong"), {"base": "gx_invalid_auth"}),
        (_answer(tls_broker.port), {"base": "tls_error"}),  # plain MQTT to a TLS listener
        (_answer(broker.port, tls_mode="insecure"), {"base": "tls_error"}),  # TLS to plain
        (_answer(tls_broker.port, tls_mode="insecure"), {"base": "not_a_gx"}),  # no GX there
        (_answer(broker.port, tls_mode="ca", ca_cert="garbage"), {"base": "ca_required"}),
        (
            _answer(broker.port, tls_mode="pinned", fingerprint="12:34"),
            {"base": "invalid_fingerprint"},
        ),
    ]
    for answer, errors in cases:
        result = await _submit(hass, flow_id, answer)
        assert result["type"] is FlowResultType.FORM, answer
        assert result["errors"] == errors, answer
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["details"] == ""  # a form error: nothing was probed
    result = await _submit(hass, flow_id, _answer(broker.port, portal_id=PORTAL.upper()))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == PORTAL


async def test_tls_pinned_and_ca_modes(
    hass: HomeAssistant, tls_broker: MosquittoBroker, tls_gx: GxSimulator
) -> None:
    """A wrong pin is a TLS error showing the certificate's real fingerprint; the right pin (in
    openssl's colon form) and a custom CA both work, over MQTT 5."""
    cert = tls_broker.certificate
    assert cert is not None
    flow_id = (await _form(hass))["flow_id"]
    result = await _submit(
        hass, flow_id, _answer(tls_broker.port, tls_mode="pinned", fingerprint="ab" * 32)
    )
    assert result["errors"] == {"base": "tls_error"}
    assert result["description_placeholders"] is not None
    assert cert.sha256 in result["description_placeholders"]["details"]
    result = await _submit(
        hass, flow_id, _answer(tls_broker.port, tls_mode="ca", ca_cert=_other_ca(tls_broker))
    )
    assert result["errors"] == {"base": "tls_error"}  # a CA that did not sign it
    result = await _submit(
        hass,
        flow_id,
        _answer(tls_broker.port, tls_mode="pinned", fingerprint=cert.sha256_colons, protocol="5"),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["fingerprint"] == cert.sha256
    assert result["data"]["protocol"] == "5"
    await hass.async_block_till_done()

    flow_id = (await _form(hass))["flow_id"]
    result = await _submit(
        hass,
        flow_id,
        _answer(tls_broker.port, tls_mode="ca", ca_cert=cert.cert_path.read_text()),
    )
    assert result["type"] is FlowResultType.ABORT  # the same GX: already configured
    assert result["reason"] == "already_configured"


def _other_ca(broker: MosquittoBroker) -> str:
    from tests.fakes.mosquitto import generate_certificate

    folder = broker.directory / "other"
    folder.mkdir(exist_ok=True)
    return generate_certificate(folder).cert_path.read_text()


async def test_portal_id_without_retained_serial_uses_the_heartbeat(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """With the portal id given, a broker that lost the retained serial still works: a
    suppress-republish keep-alive makes the GX send its heartbeat."""
    cleaner = MqttClient(
        MqttSettings(HOST, broker.port, username=GX_USER, password=GX_PASSWORD), [], print
    )
    await cleaner.async_connect()
    cleaner.publish(f"N/{PORTAL}/system/0/Serial", b"", retain=True)  # forget the serial
    await cleaner.async_stop()
    flow_id = (await _form(hass))["flow_id"]
    result = await _submit(hass, flow_id, _answer(broker.port))
    assert result["errors"] == {"base": "not_a_gx"}
    result = await _submit(hass, flow_id, _answer(broker.port, portal_id=PORTAL))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # the probe's keep-alive (the entry then asks for its own full publish)
    assert gx.keepalive_requests[0] == b'{"keepalive-options":["suppress-republish"]}'


async def test_already_configured_updates_host_and_port(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """The same GX again (new address) aborts and moves the entry there."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=PORTAL, data={"entry_type": "venus", "host": "old", "port": 1}
    )
    entry.add_to_hass(hass)
    result = await _submit(hass, (await _form(hass))["flow_id"], _answer(broker.port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert (entry.data["host"], entry.data["port"]) == (HOST, broker.port)


async def test_reauth_asks_for_the_new_password(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Reauth: a wrong password shows invalid auth, the right one updates and reloads."""
    entry = await setup_entry(hass, broker)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["name"] == "Ekrano GX"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": USER, "password": "nope"}
    )
    assert result["errors"] == {"base": "gx_invalid_auth"}
    broker.users[USER] = "changed"
    broker.restart()
    await wait_for(lambda: gx.connects >= 2, timeout=10)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": USER, "password": "changed"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["password"] == "changed"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_moves_to_tls_and_refuses_another_gx(
    hass: HomeAssistant, broker: MosquittoBroker, tls_broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Reconfigure: an error re-shows the form; a broker with another GX aborts; the same GX
    over TLS is stored and the entry reloads."""
    entry = await setup_entry(hass, broker)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_venus"
    flow_id = result["flow_id"]
    result = await _submit(hass, flow_id, _answer(free_port()))
    assert result["errors"] == {"base": "gx_cannot_connect"}
    result = await _submit(hass, flow_id, _answer(broker.port, tls_mode="pinned"))
    assert result["errors"] == {"base": "invalid_fingerprint"}

    async with simulator(tls_broker, portal_id="0123456789ab"):
        result = await _submit(hass, flow_id, _answer(tls_broker.port, tls_mode="insecure"))
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "wrong_gx"

    async with simulator(tls_broker):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
        result = await _submit(
            hass, result["flow_id"], _answer(tls_broker.port, tls_mode="insecure")
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert (entry.data["port"], entry.data["tls_mode"]) == (tls_broker.port, "insecure")
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)


async def test_options_choose_service_types(
    hass: HomeAssistant, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Options: write interval and service types; the entry reloads with them."""
    entry = await setup_entry(hass, broker)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    assert {str(key) for key in schema} == {
        "recording",
        "write_interval",
        "service_types",
        "control",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"write_interval": 10, "service_types": ["battery", "gps"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        "recording": "detailed",  # the entry's policy (write interval 0 before: every change)
        "write_interval": 10,
        "service_types": ["battery", "gps"],
        "control": False,
    }
    assert entry.runtime_data.included == {"battery", "gps"}
