"""Diagnostics download: the entry (secrets redacted), the source's counters and latest data.

Serial numbers are redacted wherever they appear, not only under their own keys (issue 8 §3):

* values of secret keys (`TO_REDACT`: credentials, the portal id, the title, a Bluetooth
  address) and of serial-like keys (`SER#`, `Serial`, `SerialNumber`, `N2kUniqueNumber`,
  `UniqueId`, `*_serial`, ... also as the last segment of a D-Bus path such as
  `gps/93/Serial`) become `**REDACTED**` (None and "" stay, as with `async_redact_data`);
* every serial, credential and address known to the integration (those values in any of its
  entries, their device identifiers and the registry's serial numbers; numeric serials also
  without their leading zeros) is cut out of every other string and key: a GX names its
  NMEA 2000 GPS service `com.victronenergy.gps.socketcan_vecan0_vi93_uc390008` after the
  GPS's unique number;
* a `/dev/serial/by-id/usb-<vendor>_<model>_<serial>-if00-port0` path keeps its shape with the
  cable's USB serial redacted (the serial is a BMV's identity; the path shows which cable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import re
from typing import Any, Final

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .coordinator import VictronConfigEntry

REDACTED: Final = "**REDACTED**"

#: Keys whose values never leave the machine: credentials and device serial numbers.
TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    "SER#",
    "serial",
    "unique_id",
    "portal_id",
    "title",
    "address",  # a JBD battery's Bluetooth address
    "discovery_keys",  # they hold the same address
}

#: A key (or the last segment of a D-Bus path used as a key) that names a serial number.
_SERIAL_KEY: Final = re.compile(
    r"(?:^|[/_])(?:ser#|serial|serial_?number|hqserialnumber|n2kuniquenumber|unique_?id|"
    r"unique_?number)$",
    re.IGNORECASE,
)

#: udev's name of a USB serial port: usb-<vendor>_<model>_<serial>-if<NN>[-port<N>]; the serial
#: is the last "_" part before "-if".
_BY_ID: Final = re.compile(r"(/dev/serial/by-id/[^/\s'\"]*?_)([^_/\s'\"]+)(-if[0-9A-Fa-f]{2})")

#: Secrets shorter than this are not cut out of other strings (too many false matches).
MIN_SECRET: Final = 4

#: Keys whose values are redacted but not cut out of other strings (common words: a title).
_NOT_SEARCHED: Final = {"title", "discovery_keys"}


def _secret_key(key: object) -> bool:
    """Whether the value under `key` is a secret (credential, serial, address)."""
    return isinstance(key, str) and (key in TO_REDACT or _SERIAL_KEY.search(key) is not None)


def _add_secret(found: set[str], value: object) -> None:
    """Add a secret value (str or int; numeric serials also without leading zeros)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return
    text = str(value).strip()
    if text == REDACTED:
        return
    for candidate in (text, text.lstrip("0") if text.isdigit() else text):
        if len(candidate) >= MIN_SECRET:
            found.add(candidate.lower())


def _collect(data: object, found: set[str]) -> None:
    """Every secret value under a secret key anywhere in `data` (dicts, lists)."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if _secret_key(key) and key not in _NOT_SEARCHED:
                if isinstance(value, (list, tuple, set)):
                    for item in value:
                        _add_secret(found, item)
                else:
                    _add_secret(found, value)
            _collect(value, found)
    elif isinstance(data, (list, tuple)):
        for item in data:
            _collect(item, found)


def known_secrets(hass: HomeAssistant, raw: Iterable[object]) -> set[str]:
    """Secrets (lower case) a download must not show: those under secret keys in the raw
    (unredacted) `raw` structures, and for every entry of the integration (a bank names its
    member batteries, a logbook follows other entries' entities) those in its data, its
    source's device identifiers and values, and its devices' registry serial numbers."""
    found: set[str] = set()
    for data in raw:
        _collect(data, found)
    registry = dr.async_get(hass)
    for other in hass.config_entries.async_entries(DOMAIN):
        _add_secret(found, other.unique_id)
        _collect(dict(other.data), found)
        source = getattr(other, "runtime_data", None)
        for coordinator in getattr(source, "devices", {}).values():
            _add_secret(found, coordinator.identifier)
            _add_secret(found, coordinator.device_info.get("serial_number"))
            _collect(dict(coordinator.data or {}), found)
        for device in dr.async_entries_for_config_entry(registry, other.entry_id):
            _add_secret(found, device.serial_number)
    return found


class Redactor:
    """Redacts a JSON-like structure: secret keys' values, secrets inside strings, by-id paths."""

    def __init__(self, secrets: Iterable[str]) -> None:
        """Build one case-insensitive pattern of every secret, longest first."""
        ordered = sorted(set(secrets), key=lambda s: (-len(s), s))
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE) if ordered else None
        )

    def text(self, text: str) -> str:
        """`text` with by-id serials and every known secret replaced by REDACTED."""
        text = _BY_ID.sub(lambda m: f"{m[1]}{REDACTED}{m[3]}", text)
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return text

    def __call__(self, data: Any) -> Any:
        """A redacted copy of `data` (dicts, lists, tuples, strings; other values as they are)."""
        if isinstance(data, Mapping):
            return {
                (self.text(key) if isinstance(key, str) else key): (
                    self._redact_value(value) if _secret_key(key) else self(value)
                )
                for key, value in data.items()
            }
        if isinstance(data, (list, tuple, set)):
            return [self(item) for item in data]
        if isinstance(data, str):
            return self.text(data)
        return data

    @staticmethod
    def _redact_value(value: Any) -> Any:
        """The value of a secret key: REDACTED; None and "" stay (as `async_redact_data`)."""
        if value is None or value == "":
            return value
        return REDACTED


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: VictronConfigEntry
) -> dict[str, Any]:
    """Everything useful for a bug report, with secrets and serials redacted."""
    source = entry.runtime_data
    source_data = source.diagnostics()
    entry_data = entry.as_dict()
    redact = Redactor(known_secrets(hass, (entry_data, source_data)))
    # device identifiers are serial numbers: replace them with their position
    devices = source_data.get("devices", {})
    source_data["devices"] = {f"device_{n}": value for n, value in enumerate(devices.values())}
    return {"entry": redact(entry_data), "source": redact(source_data)}
