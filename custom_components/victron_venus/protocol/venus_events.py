"""What :class:`.venus.VenusSession` reports: its events, and what it sends (pure).

Like h11's events: plain immutable records, compared by value. A session's owner dispatches on
their type (``match event: case ServiceRemoved(service, reason): ...``). ``C`` is the type of the
owner's per-device handle (``Service.coordinator``). Imports only the standard library and
:mod:`.venus_services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .venus_services import Service

__all__ = [
    "DATA_CHANGED",
    "DataChanged",
    "Event",
    "FullPublishCompleted",
    "GxBack",
    "GxLost",
    "GxRestarted",
    "LimitCleared",
    "LimitReached",
    "Outgoing",
    "PendingWrite",
    "ServiceAppeared",
    "ServiceRemoved",
    "ServiceSettled",
    "WriteConfirmed",
    "WriteTimedOut",
]

type Outgoing = tuple[str, bytes]
"""An MQTT message to publish: (topic, payload)."""

type JsonValue = Any
"""A decoded JSON value (as in :mod:`.venus`)."""


@dataclass(frozen=True, slots=True)
class DataChanged:
    """Services got new data: take them with :meth:`.venus.VenusSession.take_changed` (returned
    once per service until then, so once per burst of messages)."""


DATA_CHANGED: Final = DataChanged()
"""The one :class:`DataChanged` (it carries nothing)."""


@dataclass(frozen=True, slots=True)
class ServiceAppeared[C]:
    """The first topic of a service arrived (it becomes due as a device after ``settle`` s
    or at the next full publish)."""

    service: Service[C]


@dataclass(frozen=True, slots=True)
class ServiceSettled[C]:
    """A device service without a device had ``settle`` seconds to publish its name: create
    its device now and :meth:`.venus.VenusSession.attach` it (from
    :meth:`.venus.VenusSession.tick`, only while the devices stay under ``max_devices``)."""

    service: Service[C]


@dataclass(frozen=True, slots=True)
class ServiceRemoved[C]:
    """A service is gone (``reason``: empty payloads, or not in a full publish with our echo);
    the store has forgotten it; its ``coordinator`` (if any) is still attached."""

    service: Service[C]
    reason: str


@dataclass(frozen=True, slots=True)
class FullPublishCompleted[C]:
    """The GX finished the full publish we asked for.

    ``complete``: it carried our echo token, so everything the GX did not republish was removed
    (Venus OS before 3.50 sends no echo: then nothing is removed). ``new_devices``: device
    services with data and no device yet, in :func:`.venus_services.service_order`.
    """

    echo: str | None
    complete: bool
    new_devices: tuple[Service[C], ...]


@dataclass(frozen=True, slots=True)
class GxLost:
    """The GX counts as lost (connection down, or nothing for ``gx_timeout`` s): every device
    is unavailable. ``first``: it was not lost already (log it once)."""

    reason: str
    first: bool = True


@dataclass(frozen=True, slots=True)
class GxBack:
    """Data flows again after :class:`GxLost`."""


@dataclass(frozen=True, slots=True)
class GxRestarted:
    """``N/<id>/keepalive``: the GX's MQTT plugin (re)started; a full publish was requested."""


@dataclass(frozen=True, slots=True)
class LimitReached:
    """A cap was reached (``limit``: :data:`.venus_services.LIMIT_DEVICES` or ``LIMIT_DATA``);
    reported once until :class:`LimitCleared`."""

    limit: str


@dataclass(frozen=True, slots=True)
class LimitCleared:
    """After a full publish with our echo, the GX's own data fits the cap ``limit`` again."""

    limit: str


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A write sent to the GX, waiting for its ``N/`` topic to report ``value``.

    ``key`` is (service type, instance, D-Bus path); ``deadline`` the time (the session's clock)
    after which it times out; ``accept``: other values whose report confirms it too (a select
    whose one option stands for several device states, e.g. the ESS mode), empty for most.
    """

    key: tuple[str, int | str, str]
    value: JsonValue
    topic: str
    payload: bytes
    deadline: float
    accept: frozenset[JsonValue] = frozenset()


@dataclass(frozen=True, slots=True)
class WriteConfirmed:
    """The GX published the written value on the written path."""

    write: PendingWrite


@dataclass(frozen=True, slots=True)
class WriteTimedOut:
    """No confirmation before the deadline; ``reported`` is the path's value as the GX last
    published it (None when unknown). ``answered``: the GX published the path after the write,
    with another value (it refused or changed the value) - False when it said nothing."""

    write: PendingWrite
    reported: JsonValue
    answered: bool = False


type Event[C] = (
    DataChanged
    | ServiceAppeared[C]
    | ServiceSettled[C]
    | ServiceRemoved[C]
    | FullPublishCompleted[C]
    | GxLost
    | GxBack
    | GxRestarted
    | LimitReached
    | LimitCleared
    | WriteConfirmed
    | WriteTimedOut
)
"""What :class:`VenusSession` reports."""
