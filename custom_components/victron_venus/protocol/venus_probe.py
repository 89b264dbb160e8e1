"""Find a GX on an MQTT broker, sans-I/O: which GX answers, its model and firmware.

Pure: messages in (:meth:`GxProbe.receive`), messages to publish out; the config flow's
``sources.venus.async_probe`` does the connecting and the waiting. Facts: protocols.md §3.3 (the
retained ``N/<id>/system/0/Serial`` names the portal id; the heartbeat answers a keep-alive),
§3.5 (``R/`` reads work without a keep-alive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from .venus import (
    SERIAL_TOPIC_FILTER,
    MessageKind,
    Outgoing,
    keepalive_payload,
    keepalive_topic,
    parse_message,
    read_topic,
)
from .venus_services import PLATFORM_FIRMWARE, PLATFORM_MODEL

__all__ = ["GxProbe", "NotAGx", "ProbeResult"]

_DETAILS: Final = (PLATFORM_MODEL, PLATFORM_FIRMWARE)


class NotAGx(Exception):
    """The broker answered but nothing arrived on ``N/+/system/0/Serial`` in time.

    ``others``: portal ids of other GX devices seen on the broker while a given id was wanted.
    """

    def __init__(self, message: str, others: Sequence[str] = ()) -> None:
        """A probe that found no (or not the wanted) GX."""
        super().__init__(message)
        self.others = tuple(others)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the config flow learns from a GX: its portal id, model and firmware."""

    portal_id: str
    model: str | None = None
    firmware: str | None = None

    @property
    def title(self) -> str:
        """Entry title, also the GX device's name: its model ("Cerbo GX"), else "Venus GX"."""
        return self.model or "Venus GX"


class GxProbe:
    """The probe's state: subscribe :attr:`subscriptions`, feed every message to
    :meth:`receive`; once :attr:`portal_id` is known publish :meth:`detail_requests` and wait
    for :attr:`complete` (``transport.mqtt.async_run_probe`` does all that).

    With `wanted` given only that GX counts (others are noted in :attr:`others`), and its
    heartbeat answers too: publish :meth:`nudge` (a suppress-republish keep-alive) when the
    retained serial does not come, for brokers that do not retain it.
    """

    def __init__(
        self, wanted: str | None = None, timeout: float = 10.0, details_timeout: float = 2.0
    ) -> None:
        """A probe that has seen nothing yet; it waits `timeout` s for the GX, nudging it after
        :attr:`nudge_after` s, then `details_timeout` s for its model and firmware."""
        self.wanted = wanted
        self.timeout = timeout
        self.nudge_after = min(1.0, timeout / 2)
        self.details_timeout = details_timeout
        self.portal_id: str | None = None
        self.others: set[str] = set()
        self.details: dict[str, Any] = {}

    @property
    def subscriptions(self) -> list[str]:
        """The topic filters to subscribe before connecting."""
        found = [SERIAL_TOPIC_FILTER, *(f"N/+/platform/0/{path}" for path in _DETAILS)]
        return found if self.wanted is None else [*found, f"N/{self.wanted}/heartbeat"]

    @property
    def found(self) -> bool:
        """True once the GX answered (:attr:`portal_id` known)."""
        return self.portal_id is not None

    @property
    def complete(self) -> bool:
        """True once the GX's model and firmware both arrived."""
        return all(path in self.details for path in _DETAILS)

    def receive(self, topic: str, payload: bytes) -> None:
        """Take one message: the GX's serial or heartbeat (found), then its platform details."""
        message = parse_message(topic, payload)
        if message is None:
            return
        if self.wanted is not None and message.portal_id != self.wanted:
            self.others.add(message.portal_id)
        elif self.portal_id is not None:
            if message.service_type == "platform":
                self.details[message.path] = message.value
        elif (
            message.service_type == "system" and message.path == "Serial"
        ) or message.kind is MessageKind.HEARTBEAT:
            self.portal_id = message.portal_id

    def nudge(self) -> list[Outgoing]:
        """A keep-alive that makes the wanted GX publish its heartbeat (none without one)."""
        if self.wanted is None:
            return []
        return [(keepalive_topic(self.wanted), keepalive_payload(suppress_republish=True))]

    def detail_requests(self) -> list[Outgoing]:
        """Reads of the found GX's model and firmware (they work without a keep-alive)."""
        if self.portal_id is None:
            return []
        return [(read_topic(self.portal_id, "platform", 0, path), b"") for path in _DETAILS]

    def result(self) -> ProbeResult:
        """The found GX; raises NotAGx when none was found."""
        if self.portal_id is None:
            raise NotAGx(
                f"no GX serial on {SERIAL_TOPIC_FILTER} within {self.timeout:.0f} s",
                sorted(self.others),
            )
        model, firmware = (self.details.get(path) for path in _DETAILS)
        return ProbeResult(
            self.portal_id,
            model if isinstance(model, str) and model else None,
            firmware if isinstance(firmware, str) and firmware else None,
        )
