"""What a probe raises: the config flows' test-before-configure failures, one class per form error.

A probe (`sources.<type>.async_probe…`) connects to a port, a battery or a GX, reads it and lets
go, before the flow creates the entry. It turns whatever went wrong underneath (transport and
protocol exceptions) into one of these, so the flows import only sources/ and show
`errors["base"] = err.reason` (or abort with it), a translation key of strings.json.

`CannotConnect` is everything that is not a rejected login; `InvalidAuth` is a rejected login.
The subclasses say which of the distinct form errors it is; catch `ProbeError` for any of them.
"""

from __future__ import annotations

from typing import ClassVar

from ..transport.serial import SerialPortError, SerialPortNotFound, SerialPortPermissionDenied


class ProbeError(Exception):
    """A probe failed; `reason` is the translation key of the form error to show."""

    reason: ClassVar[str] = "cannot_connect"


class CannotConnect(ProbeError):
    """The device could not be reached or read."""

    reason = "cannot_connect"


class InvalidAuth(ProbeError):
    """The device rejected the credentials (a JBD module's FF AA password)."""

    reason = "invalid_auth"


# --- serial ports ---------------------------------------------------------------------------------


class PortNotFound(CannotConnect):
    """No serial port at that path (cable unplugged, wrong path)."""

    reason = "port_not_found"


class PortPermissionDenied(CannotConnect):
    """The port exists but Home Assistant may not open it (dialout group, container mapping)."""

    reason = "permission_denied"


class PortCannotOpen(CannotConnect):
    """The port could not be opened for another reason (busy, not a tty, I/O error)."""

    reason = "cannot_open"


def port_error(err: SerialPortError) -> CannotConnect:
    """The probe error for a serial port that did not open (transport.serial's exceptions)."""
    if isinstance(err, SerialPortNotFound):
        return PortNotFound(str(err))
    if isinstance(err, SerialPortPermissionDenied):
        return PortPermissionDenied(str(err))
    return PortCannotOpen(str(err))


# --- what came back (or did not) ----------------------------------------------------------------


class NoData(CannotConnect):
    """The port opened, but no data of the expected protocol arrived in time (VE.Direct)."""

    reason = "no_data"


class ChecksumFailed(CannotConnect):
    """Data arrived but none of it verified: wrong baud rate, noise, a damaged cable (VE.Direct)."""

    reason = "checksum_failed"


class NoAnswer(CannotConnect):
    """The device sent nothing in answer to a request (JBD)."""

    reason = "no_response"


class BadData(CannotConnect):
    """Bytes arrived, but no valid answer among them (JBD)."""

    reason = "bad_data"


class NotInRange(CannotConnect):
    """No Bluetooth adapter or proxy hears the device right now."""

    reason = "not_in_range"


class NotJBD(CannotConnect):
    """Connected, but the device has no JBD BMS service."""

    reason = "not_jbd"
