"""Probes raise `sources.errors` probe errors, one class per form error, so the VE.Direct, JBD and
bank flows import nothing below sources/: every raw transport and protocol failure of a JBD read
maps to its class and key, every key is a form error of strings.json, the VE.Direct probe of a
missing port says so, and the flows' imports are checked from their source."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bleak.exc import BleakError
import pytest

from custom_components.victron_venus.protocol import jbd
from custom_components.victron_venus.sources import errors, jbd as jbd_source, vedirect
from custom_components.victron_venus.transport.ble import (
    BleAuthError,
    BleConnectError,
    BleDeviceNotFound,
    BleNotJBD,
)
from custom_components.victron_venus.transport.jbd import LinkClosed, NoResponse
from custom_components.victron_venus.transport.serial import (
    SerialPortError,
    SerialPortNotFound,
    SerialPortPermissionDenied,
)
from tests.shared import REPO

INTEGRATION = REPO / "custom_components" / "victron_venus"


@pytest.mark.parametrize(
    ("raised", "bytes_seen", "expected", "reason"),
    [
        (BleDeviceNotFound("gone"), False, errors.NotInRange, "not_in_range"),
        (BleAuthError("nack"), False, errors.InvalidAuth, "invalid_auth"),
        (BleNotJBD("no ff01"), False, errors.NotJBD, "not_jbd"),
        (BleConnectError("slots"), False, errors.CannotConnect, "cannot_connect"),
        (SerialPortNotFound("x"), False, errors.PortNotFound, "port_not_found"),
        (SerialPortPermissionDenied("x"), False, errors.PortPermissionDenied, "permission_denied"),
        (SerialPortError("busy"), False, errors.PortCannotOpen, "cannot_open"),
        (NoResponse("silent"), False, errors.NoAnswer, "no_response"),
        (NoResponse("noise"), True, errors.BadData, "bad_data"),
        (jbd.StatusError(0x03, 0x80), False, errors.BadData, "bad_data"),
        (LinkClosed("lost"), False, errors.CannotConnect, "cannot_connect"),
        (TimeoutError(), False, errors.CannotConnect, "cannot_connect"),
        (BleakError("le-connection-abort-by-local"), False, errors.CannotConnect, "cannot_connect"),
    ],
)
def test_jbd_read_failures_map_to_probe_errors(
    raised: Exception, bytes_seen: bool, expected: type[errors.ProbeError], reason: str
) -> None:
    """Each failure of a battery read becomes its probe error class with its form error key;
    everything but a rejected password is a CannotConnect."""
    failure = jbd_source.probe_failure(raised, bytes_seen)
    assert type(failure) is expected
    assert failure.reason == reason
    assert isinstance(
        failure, errors.InvalidAuth if reason == "invalid_auth" else errors.CannotConnect
    )
    assert jbd_source.probe_error(raised, bytes_seen) == reason
    assert jbd_source.probe_failure(failure) is failure


def test_every_probe_error_is_a_form_error() -> None:
    """The key of every probe error class is a config-flow error of strings.json."""
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    form_errors = set(strings["config"]["error"])

    def classes(cls: type[errors.ProbeError]) -> list[type[errors.ProbeError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in classes(sub))]

    reasons = {cls.reason for cls in classes(errors.ProbeError)}
    assert reasons >= {
        "cannot_connect", "invalid_auth", "port_not_found", "permission_denied", "cannot_open",
        "no_data", "checksum_failed", "no_response", "bad_data", "not_in_range", "not_jbd",
    }  # fmt: skip
    assert reasons <= form_errors
    assert vedirect.NoVEDirectData.reason == "no_data"
    assert vedirect.VEDirectChecksumErrors.reason == "checksum_failed"


async def test_vedirect_probe_of_a_missing_port(tmp_path: Path) -> None:
    """The VE.Direct probe raises the probe error itself, not the transport's exception."""
    with pytest.raises(errors.PortNotFound) as caught:
        await vedirect.async_probe(str(tmp_path / "ttyUSB9"), timeout=0.1)
    assert caught.value.reason == "port_not_found"
    assert isinstance(caught.value.__cause__, SerialPortNotFound)


def _integration_imports(path: Path) -> set[str]:
    """The integration modules `path` (a flows/ module) imports, relative to the integration."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = "flows" if node.level == 1 else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module or "__init__")
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("custom_components.victron_venus."):
                    found.add(name.removeprefix("custom_components.victron_venus."))
    return found


@pytest.mark.parametrize("flow", ["jbd", "vedirect", "bank"])
def test_flows_import_nothing_below_sources(flow: str) -> None:
    """The JBD, VE.Direct and bank flows reach sources/ and const only: no transport, protocol,
    battery maths, entity or coordinator."""
    imported = _integration_imports(INTEGRATION / "flows" / f"{flow}.py")
    below = {
        module
        for module in imported
        if module.split(".")[0] in {"transport", "protocol", "battery", "entity", "coordinator"}
    }
    assert below == set()
    assert {m.split(".")[0] for m in imported} <= {"sources", "const", "flows", "__init__"}
