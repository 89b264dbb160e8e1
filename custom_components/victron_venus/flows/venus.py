"""Venus GX config flow steps: connect to the GX's MQTT broker, reauth, reconfigure, options.

The user step connects with the given host, port, TLS mode and credentials and waits up to 10 s
for the GX's retained serial (``N/+/system/0/Serial``) before it creates the entry
(test-before-configure), with distinct errors: gx_cannot_connect (unreachable), tls_error (a TLS
/ plain port mismatch, an untrusted certificate or another fingerprint than the pinned one),
gx_invalid_auth (the broker refused the credentials) and not_a_gx (connected, but no GX serial).
(Error keys share one namespace with the other entry types' flows, hence the gx_ prefix where
JBD's cannot_connect / invalid_auth say something about Bluetooth.)
unique_id = the portal id. Reauth (the broker refused the stored password at runtime) asks for
new credentials; reconfigure changes the connection of the same GX.

No form ever sends a password to the browser (:data:`SECRET_FIELDS` are never suggested, not
even what was typed before an error): the reconfigure form shows an empty password field, and an
empty (or absent) password there keeps the stored one.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from ..const import CONF_ENTRY_TYPE, CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL, EntryType
from ..descriptions.venus import SERVICE_TYPES
from ..sources.venus import (
    CONF_PORTAL_ID,
    CONF_SERVICE_TYPES,
    DATA_FIRMWARE,
    DATA_MODEL,
    NotAGx,
    ProbeResult,
    async_probe,
)
from ..sources.venus_control import CONF_CONTROL
from ..transport.mqtt import (
    CONF_CA_CERT,
    CONF_FINGERPRINT,
    CONF_PROTOCOL,
    CONF_TLS_MODE,
    DEFAULT_PORT,
    MqttAuthError,
    MqttClosedError,
    MqttError,
    MqttProtocol,
    MqttTlsError,
    TlsMode,
    normalize_fingerprint,
    settings_from,
)

_LOGGER = logging.getLogger(__name__)

#: the connection fields, in form order
CONNECTION_FIELDS = (
    CONF_HOST,
    CONF_PORT,
    CONF_TLS_MODE,
    CONF_CA_CERT,
    CONF_FINGERPRINT,
    CONF_USERNAME,
    CONF_PASSWORD,
    CONF_PROTOCOL,
)
#: the section of the connection form holding the TLS details, and its fields
SECTION_TLS = "tls"
TLS_FIELDS = (CONF_CA_CERT, CONF_FINGERPRINT)
#: fields whose values never go back to the frontend (as a default or a suggested value)
SECRET_FIELDS = frozenset({CONF_PASSWORD})


def _suggested(values: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Suggested values of a form: `fields` present in `values`, never a secret or None."""
    return {
        key: values[key]
        for key in fields
        if key in values and key not in SECRET_FIELDS and values[key] is not None
    }


def _select(options: list[str], translation_key: str) -> SelectSelector:
    """A dropdown of `options`, labelled by strings.json's selector.<translation_key>."""
    return SelectSelector(
        SelectSelectorConfig(
            options=options, translation_key=translation_key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def connection_schema(*, with_portal_id: bool, tls_open: bool = False) -> probatio.Schema:
    """The connection form: host, port, TLS mode, credentials, protocol; the CA certificate and
    the fingerprint in the section `tls`, collapsed unless `tls_open` (a mode that needs them)."""
    text = TextSelector()
    tls = {
        probatio.Optional(CONF_CA_CERT): TextSelector(TextSelectorConfig(multiline=True)),
        probatio.Optional(CONF_FINGERPRINT): text,
    }
    fields: dict[Any, Any] = {
        probatio.Required(CONF_HOST): text,
        probatio.Required(CONF_PORT, default=DEFAULT_PORT): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
        ),
        probatio.Required(CONF_TLS_MODE, default=TlsMode.OFF.value): _select(
            [mode.value for mode in TlsMode], "tls_mode"
        ),
        probatio.Optional(CONF_USERNAME): text,
        probatio.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        probatio.Required(CONF_PROTOCOL, default=MqttProtocol.V311.value): _select(
            [protocol.value for protocol in MqttProtocol], "mqtt_protocol"
        ),
        probatio.Optional(SECTION_TLS): section(probatio.Schema(tls), {"collapsed": not tls_open}),
    }
    if with_portal_id:
        fields[probatio.Optional(CONF_PORTAL_ID)] = text
    return probatio.Schema(fields)


def flat_connection(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The form's input with the TLS section's fields at the top level (the entry data's shape)."""
    flat = {k: v for k, v in user_input.items() if k != SECTION_TLS}
    flat.update(user_input.get(SECTION_TLS) or {})
    return flat


def tls_needed(values: Mapping[str, Any]) -> bool:
    """Whether the TLS mode in `values` needs the section's details (a CA or a pin)."""
    return values.get(CONF_TLS_MODE) in (TlsMode.CA.value, TlsMode.PINNED.value)


def connection_form(
    flow: ConfigFlow, values: Mapping[str, Any] | None, *, with_portal_id: bool
) -> probatio.Schema:
    """The connection form with `values` (flat: entry data or the last input) suggested, the TLS
    details inside their section, which is open when the TLS mode needs them."""
    values = values or {}
    fields = (*CONNECTION_FIELDS, CONF_PORTAL_ID) if with_portal_id else CONNECTION_FIELDS
    suggested: dict[str, Any] = _suggested(values, fields)
    suggested[SECTION_TLS] = {k: suggested.pop(k) for k in TLS_FIELDS if k in suggested}
    schema = connection_schema(with_portal_id=with_portal_id, tls_open=tls_needed(values))
    return flow.add_suggested_values_to_schema(schema, suggested)


def credentials_schema() -> probatio.Schema:
    """The reauth form: username and password."""
    return probatio.Schema(
        {
            probatio.Optional(CONF_USERNAME): TextSelector(),
            probatio.Optional(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
        }
    )


def clean_connection(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Entry data from a connection form (flat: the TLS section's fields at the top level), and
    its errors: a missing CA or a bad fingerprint as the form's error (base), since those fields
    sit in a section."""
    user_input = flat_connection(user_input)
    data: dict[str, Any] = {
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input.get(CONF_PORT, DEFAULT_PORT)),
        CONF_TLS_MODE: str(user_input.get(CONF_TLS_MODE, TlsMode.OFF)),
        CONF_USERNAME: user_input.get(CONF_USERNAME, ""),
        CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
        CONF_PROTOCOL: str(user_input.get(CONF_PROTOCOL, MqttProtocol.V311)),
    }
    errors: dict[str, str] = {}
    mode = TlsMode(data[CONF_TLS_MODE])
    if mode is TlsMode.CA:
        ca = str(user_input.get(CONF_CA_CERT, "")).strip()
        if "BEGIN CERTIFICATE" not in ca:
            errors["base"] = "ca_required"
        data[CONF_CA_CERT] = ca
    elif mode is TlsMode.PINNED:
        try:
            pin = str(user_input.get(CONF_FINGERPRINT, ""))
            data[CONF_FINGERPRINT] = normalize_fingerprint(pin)
        except ValueError:
            errors["base"] = "invalid_fingerprint"
    return data, errors


async def validate_connection(
    data: dict[str, Any], portal_id: str | None
) -> tuple[ProbeResult | None, str | None, str]:
    """Probe the GX: (result, None, "") or (None, error key, detail)."""
    mode = TlsMode(data[CONF_TLS_MODE])
    try:
        return await async_probe(settings_from(data), portal_id), None, ""
    except MqttAuthError as err:
        return None, "gx_invalid_auth", str(err)
    except MqttTlsError as err:
        return None, "tls_error", str(err)
    except MqttClosedError as err:
        return None, "tls_error" if mode is TlsMode.OFF else "gx_cannot_connect", str(err)
    except MqttError as err:
        return None, "gx_cannot_connect", str(err)
    except NotAGx as err:
        if err.others:
            return None, "wrong_gx", f"this broker has GX {', '.join(err.others)}"
        return None, "not_a_gx", str(err)


def _details(detail: str) -> dict[str, str]:
    return {"details": f"\n\nDetails: {detail}" if detail else ""}


class VenusFlowMixin(ConfigFlow):
    """The Venus GX steps of the integration's config flow."""

    async def async_step_venus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Host, port, TLS and credentials of the GX's MQTT broker; connect and read its serial."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None:
            data, errors = clean_connection(user_input)
            portal_id = str(user_input.get(CONF_PORTAL_ID) or "").strip().lower() or None
            if not errors:
                probe, error, detail = await validate_connection(data, portal_id)
                if probe is not None:
                    await self.async_set_unique_id(probe.portal_id)
                    self._abort_if_unique_id_configured(
                        updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
                    )
                    return self.async_create_entry(
                        title=probe.title,
                        data={
                            CONF_ENTRY_TYPE: EntryType.VENUS.value,
                            **data,
                            CONF_PORTAL_ID: probe.portal_id,
                            DATA_MODEL: probe.model,
                            DATA_FIRMWARE: probe.firmware,
                        },
                        options={
                            CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL,
                            CONF_SERVICE_TYPES: list(SERVICE_TYPES),
                        },
                    )
                assert error is not None
                errors["base"] = error
        values = flat_connection(user_input) if user_input is not None else None
        return self.async_show_form(
            step_id="venus",
            data_schema=connection_form(self, values, with_portal_id=True),
            errors=errors,
            description_placeholders=_details(detail),
        )

    async def async_step_reauth_venus(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The GX refused the stored credentials: ask for new ones."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New username and password (the GX's security-profile password), checked at once."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None:
            data = {
                **entry.data,
                CONF_USERNAME: user_input.get(CONF_USERNAME, ""),
                CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
            }
            probe, error, detail = await validate_connection(data, entry.unique_id)
            if probe is not None:
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates={
                        CONF_USERNAME: data[CONF_USERNAME],
                        CONF_PASSWORD: data[CONF_PASSWORD],
                    },
                )
            assert error is not None
            errors["base"] = error
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                credentials_schema(), _suggested(entry.data, (CONF_USERNAME,))
            ),
            errors=errors,
            description_placeholders={"name": entry.title, **_details(detail)},
        )

    async def async_step_reconfigure_venus(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new address, TLS mode or credentials for the same GX; an empty password keeps the
        stored one (the form never shows it)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None:
            data, errors = clean_connection(user_input)
            if not data[CONF_PASSWORD]:
                data[CONF_PASSWORD] = entry.data.get(CONF_PASSWORD, "")
            if not errors:
                probe, error, detail = await validate_connection(data, entry.unique_id)
                if error == "wrong_gx":
                    return self.async_abort(reason="wrong_gx")
                if probe is not None:
                    data[CONF_CA_CERT] = data.get(CONF_CA_CERT)
                    data[CONF_FINGERPRINT] = data.get(CONF_FINGERPRINT)
                    return self.async_update_reload_and_abort(entry, data_updates=data)
                assert error is not None
                errors["base"] = error
        values = flat_connection(user_input) if user_input is not None else entry.data
        return self.async_show_form(
            step_id="reconfigure_venus",
            data_schema=connection_form(self, values, with_portal_id=False),
            errors=errors,
            description_placeholders=_details(detail),
        )


@callback
def options_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """The Venus options beside the update interval: which service types become devices, and
    Control (off by default: whether Home Assistant may change settings of the GX)."""
    current = entry.options.get(CONF_SERVICE_TYPES, list(SERVICE_TYPES))
    return {
        probatio.Required(
            CONF_CONTROL, default=bool(entry.options.get(CONF_CONTROL, False))
        ): BooleanSelector(),
        probatio.Required(CONF_SERVICE_TYPES, default=list(current)): SelectSelector(
            SelectSelectorConfig(
                options=list(SERVICE_TYPES),
                translation_key="service_types",
                multiple=True,
                mode=SelectSelectorMode.LIST,
            )
        ),
    }
