"""Inputs ``scripts/fuzz vedirect_hex`` found that broke the HEX codec's documented contract.

``encode_value`` documents that it raises :class:`HexValueError` for "a non-finite number or one
out of range". A finite number too large for a float (an int beyond 1.8e308) or one whose scaled
raw value overflows to infinity (1e308 / 0.1) raised OverflowError instead: ``math.isfinite`` on
a huge int, ``(value - offset) / scale`` on a huge int, ``round`` of an infinite quotient (and
``str()`` of an int over 4,300 digits in the below-minimum message: ValueError).
Found with seed 1 (``roundtrip``: register 0x0104, value 10**400), shrunk by Hypothesis.
"""

import pytest

from custom_components.victron_venus.protocol import vedirect_hex as hexp


@pytest.mark.parametrize(
    ("register", "value"),
    [
        (0x0104, 10**400),  # group id, un8, scale 1: math.isfinite(10**400) raised
        (0x0104, -(10**400)),
        (0xEDF0, -(10**5000)),  # below the minimum 0: the message's str() of it raised too
        (0xEDF0, 10**400),  # battery maximum current, 0.1 A: int / float raised
        (0xEDF0, 1e308),  # 1e308 / 0.1 is inf: round(inf) raised
        (0x0FFC, -1e308),  # consumed Ah, sn32, 0.1 Ah
        (0x2210, 1e307),  # shutdown low voltage, 0.01 V (writable)
        (0xEDEC, 1.7e308),  # battery temperature, 0.01 K with an offset
    ],
    ids=[
        "un8 10**400",
        "un8 -10**400",
        "0.1 A -10**5000",
        "0.1 A 10**400",
        "0.1 A 1e308",
        "sn32 -1e308",
        "0.01 V 1e307",
        "offset 1.7e308",
    ],
)
def test_encode_value_huge_number_is_a_value_error(register: int, value: float) -> None:
    """A finite number far out of range is refused with HexValueError, never OverflowError."""
    with pytest.raises(hexp.HexValueError, match="does not fit"):
        hexp.encode_value(register, value)


def test_set_value_huge_number_is_a_value_error() -> None:
    """set_value goes through encode_value: the same refusal for a writable register."""
    with pytest.raises(hexp.HexValueError, match="does not fit"):
        hexp.set_value(0xEDF0, 1e308)
    with pytest.raises(hexp.HexValueError, match="does not fit"):
        hexp.set_value(0x2210, 10**400)


def test_encode_value_large_but_fitting_int_still_encodes() -> None:
    """The fix does not refuse what fits: the largest un32 raw value, a plain int."""
    assert hexp.encode_value(0x0120, 2**32 - 1) == b"\xff\xff\xff\xff"
    assert hexp.encode_value(0x0104, 255) == b"\xff"
