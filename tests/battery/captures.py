"""Batteries as the bank maths sees them, decoded from the real JBD captures in ../shared/fixtures.

`FORE` is the first 0x03 / 0x04 answer of the app's btsnoop capture (4S 280 Ah, 13.70 V, cells
3.417-3.432 V, 19.1-19.5 °C), `AFT` the first of the V1.3 module's capture (4S 200 Ah, 13.93 V,
cell 3 at 3.530 V, 28.0-28.6 °C). Values are keyed like the JBD source's (sources/jbd.py), in SI
units, decoded by `protocol.jbd`. Pure: reading the files is the only I/O.
"""

from __future__ import annotations

from functools import cache
import json
from typing import Any

from custom_components.victron_venus.protocol import jbd
from tests.fakes import jbd_transcript
from tests.shared import fixture_path

APP_CAPTURE = "syssi_btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.att.txt"
V13_CAPTURE = "syssi_JBD-SP04S034L4S200A-V1.3-btsnoop_hci.att.txt"


@cache
def _transcript_frame(name: str, register: int) -> bytes:
    transcript = jbd_transcript.load(fixture_path("jbd", name))
    return next(f.frame for f in transcript.frames if f.frame[1] == register)


def json_frame(note_start: str, register: int) -> bytes:
    """The first response frame for `register` of the jbd_frames.json group whose note starts so."""
    groups: list[dict[str, Any]] = json.loads(fixture_path("jbd", "jbd_frames.json").read_text())
    for group in groups:
        if group["note"].startswith(note_start):
            for frame in group["frames"]:
                if frame["kind"] == "response" and frame["reg"] == register:
                    return bytes.fromhex(frame["hex"])
    raise LookupError(note_start)


def basic(frame: bytes) -> jbd.BasicInfo:
    """A 0x03 frame decoded."""
    record = jbd.parse_frame(frame)
    assert isinstance(record, jbd.BasicInfo)
    return record


def cells(frame: bytes) -> list[float]:
    """A 0x04 frame decoded: cell voltages (V)."""
    record = jbd.parse_frame(frame)
    assert isinstance(record, jbd.CellVoltages)
    return list(record.voltages)


def member_data(capture: str, **extra: Any) -> dict[str, Any]:
    """A battery's values from a capture's first 0x03 and 0x04 answers (plus `extra`)."""
    info = basic(_transcript_frame(capture, jbd.REG_BASIC_INFO))
    return {
        "voltage": info.voltage,
        "current": info.current,
        "power": round(info.power, 2),
        "soc": info.soc,
        "remaining_capacity": info.remaining_capacity,
        "nominal_capacity": info.nominal_capacity,
        "cell_count": info.cell_count,
        "cells": cells(_transcript_frame(capture, jbd.REG_CELL_VOLTAGES)),
        "temperatures": list(info.temperatures),
        "charge_fet": info.charge_fet,
        "discharge_fet": info.discharge_fet,
        **extra,
    }


def fore(**extra: Any) -> dict[str, Any]:
    """The app capture's battery (see the module docstring)."""
    return member_data(APP_CAPTURE, **extra)


def aft(**extra: Any) -> dict[str, Any]:
    """The V1.3 capture's battery (see the module docstring)."""
    return member_data(V13_CAPTURE, **extra)
