"""aiobmsble's own test frames, re-expressed as data: what each BMS family sends, byte for byte.

Source: the aiobmsble 0.31.0 sdist (PyPI; patman15/aiobmsble), Apache License 2.0, Copyright the
aiobmsble authors. Only data is taken (advertisements and notification bytes), no code. Apache-2.0
allows redistribution of the work and of derivatives with attribution; the library's LICENSE is
the one at https://www.apache.org/licenses/LICENSE-2.0 and this notice names what came from it:

* `ADVERTISEMENTS`: one real advertisement per family from the library's
  aiobmsble/test_data/<family>.json (its "advertisement" objects; the file and the bug report it
  came from are named beside each).
* `TRANSCRIPTS`: request -> the notifications the family's mock BMS in the library's
  tests/bms/test_<family>.py sends back, in order and in its chunk sizes (JK's interleaved
  "AT\\r\\n" and its delayed acknowledgement included). They were recorded once by running the
  library's BMS class against that mock; the frames themselves are the test file's constants.
  Hex strings, one list per request.
* `JBD_FRAMES`: tests/bms/test_jbd_bms.py, MockJBDBleakClient.RESP (0x03, 0x04, 0x05 answers of a
  4S JBD BMS), for the JBD-protocol rebrand test (our own JBD entry type reads it).

The expected values beside them are the library's own expectations for these frames
(`_RESULT_DEFS` of the same test files), restated as plain numbers.
"""

from __future__ import annotations

from typing import Any, Final

#: family -> (address, advertisement fields as aiobmsble/test_data/<family>.json has them)
ADVERTISEMENTS: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    # test_data/jikong_bms.json, third entry ("source LOG")
    "jikong_bms": (
        "C8:47:80:14:88:B7",
        {
            "local_name": "JK_B2A8S20P",
            "manufacturer_data": {2917: "88a0c847801488b7"},
            "service_uuids": [
                "00001800-0000-1000-8000-00805f9b34fb",
                "00001801-0000-1000-8000-00805f9b34fb",
                "0000180a-0000-1000-8000-00805f9b34fb",
                "0000180f-0000-1000-8000-00805f9b34fb",
                "0000fee7-0000-1000-8000-00805f9b34fb",
                "0000ffe0-0000-1000-8000-00805f9b34fb",
                "f000ffc0-0451-4000-b000-000000000000",
            ],
        },
    ),
    # test_data/daly_bms.json (BMS_BLE-HA issue 204, "16S LiFePo 250A BMS")
    "daly_bms": (
        "40:16:09:01:53:4C",
        {"local_name": "DL-40160901534C", "manufacturer_data": {258: "04"}, "service_uuids": []},
    ),
    # test_data/ant_bms.json (BMS_BLE-HA issue 366)
    "ant_bms": (
        "AA:BB:CC:90:00:01",
        {
            "local_name": "ANT-BLE24C-001",
            "manufacturer_data": {8979: "88a0aabbcc900001"},
            "service_uuids": ["0000ffe0-0000-1000-8000-00805f9b34fb"],
        },
    ),
    # test_data/seplos_bms.json (BMS_BLE-HA issue 24; OUI C0:D6:3C)
    "seplos_bms": (
        "C0:D6:3C:00:00:01",
        {
            "local_name": "SP05B2312190075       ",
            "manufacturer_data": {},
            "service_uuids": ["0000fff0-0000-1000-8000-00805f9b34fb"],
        },
    ),
    # test_data/jbd_bms.json (aiobmsble issue 804, "Supervolt 480 Ah Jumbo"): a JBD-protocol
    # rebrand whose name and address our JBD patterns do not know; the library's JBD matchers do
    "jbd_bms": (
        "FE:57:25:00:00:01",
        {
            "local_name": "SJ-480-B240023",
            "manufacturer_data": {},
            "service_uuids": ["0000ff00-0000-1000-8000-00805f9b34fb"],
        },
    ),
}

#: family -> request (hex) -> the notifications it gets back (hex, in order)
TRANSCRIPTS: Final[dict[str, dict[str, list[str]]]] = {
    # tests/bms/test_jikong_bms.py: _PROTO_DEFS['JK02_32S'] through MockJikongBleakClient
    # (JK02_32S, SW V11.48, 8S)
    "jikong_bms": {
        "aa5590eb97000000000000000000000000000011": [
            "41540d0a",
            (
                "55aaeb9003a34a4b5f4232413853323050000000000031312e584100000031312e3438000000e4a746000700"
                "0000313276343230610000000000000000003132333400000000000000000000000032343037303400003430"
                "3430393243323236320030303000496e707574205573657264617461000031343037303300000000"
            ),
            (
                "00000000000000000000000000000000000000000000fef9ffff1f2d000200000000901f00000000c0d8e732"
                "0000000100000000000000000000070400000000000000000000000000004100000000000000000000000000"
                "00000000000000000000000000000000000009000000640000005f00000000000000000000000000"
            ),
            "00000000000000000000000000000000000000000000000000000000000000febf21060000000000000000d8",
            "aa5590ebc801010000000000000000000000004441540d0a",
        ],
        "aa5590eb96000000000000000000000000000010": [
            "41540d0a",
            (
                "41540d0a55aaeb9002adf30cf30cf30cf00cf10cf00cf10cf10c000000000000000000000000000000000000"
                "000000000000000000000000000000000000000000000000000000000000ff000000f20c0300000738003700"
                "36003700360037003600370000000000000000000000000000000000000000000000000000000000"
            ),
            (
                "00000000000000000000000000000000000000003601000000008d67000060db020069e4ffff1c0124010000"
                "000000000044802c02005034030015000000bc624400640000001ef368000101000000000000000000000000"
                "0000ff0001000000f1030000230029b43f40000000005a0a00000001000100060000ef3d08040000"
            ),
            (
                "0000360100000000f103643967001a0000008051010000000000000000000000000001feff7fdc0f01008003"
                "000000b4"
            ),
        ],
    },
    # tests/bms/test_daly_bms.py: _PROTO_DEFS[0xD2] through MockDalyBleakClient (4S)
    "daly_bms": {
        "d2030000003ed7b9": [
            (
                "d2037c101f10291033103d000000000000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000003c003d003e003f0000000000000000008c754e03"
                "84103d101f0000000000000d80000400040039000100000001102e0141002a0000000000000000a0df"
            ),
        ],
        "d203003e0009f7a3": [
            "d203120000000075300000004effffffffffffffff0b4e",
        ],
        "d20300a900208791": [
            (
                "d203405430304b5f3332313034325f3131000048322e305f313033525f333039463946323032343032323900"
                "00000000000000000000000000000000000000000000005541"
            ),
        ],
    },
    # tests/bms/test_ant_bms.py: MockANTBleakClient.RESP (22S)
    "ant_bms": {
        "7ea1010000be1855aa55": [
            "7ea11100009e0504041600000000000000000000",
            "88010000000000000000000000001e091b091e09",
            "1d091d091e0920091e098f088e0890082209eb08",
            "200920091f091e091f091e091f0921091f091d00",
            "1d001d001d001e001e00e01315000a0064000101",
            "000000b4c40486f197003aede8006a000000a1f2",
            "c0030000000022090c008e080a00940008090000",
            "6d006a00af02f3fa4c74e5002866ec00c35d6200",
            "ccb39200edc8aa55",
        ],
        "7ea1026c022058c4aa55": [
            "7ea1126c02203234424800000000000000000000",
            "000032344248554230302d323131303236415796",
            "ff0b000041f2aa55",
        ],
    },
    # tests/bms/test_seplos_bms.py: MockSeplosBleakClient.RESP, two packs (2 x 16S)
    "seplos_bms": {
        "00042000001a7bd0": [
            "00043414720000ffbdffff346400006d60000000d500006d600000",
            "00010000000000000708000007080000024001d00002000901df03",
            "e7b336",
        ],
        "0004210000167a29": [
            "00042c0cc90cc600020007147214720000000000fa00ee00f40000",
            "000101df01df000903e7010a010a010a000000005796",
        ],
        "000122000050379f": [
            "00010a010000000000000300007e35",
        ],
        "01041000001134c6": [
            "0104221472fd3034646d6000d501df03e700090cc70b9f0cc80cc6",
            "0ba50b99000000b400b46ff3",
        ],
        "01041100001a74fd": [
            "0104340cc80cc80cc80cc70cc70cc70cc70cc60cc60cc70cc70cc7",
            "0cc70cc80cc80cc80ba50b990b9a0ba40aab0aab0aab0aab0bc40b",
            "b5971f",
        ],
        "02041000001134f5": [
            "0204221473fd3134646d6000d501e003e7000a0cc70b9f0cc80cc6",
            "0ba50b99000000b400b4a6e2",
        ],
        "02041100001a74ce": [
            "0204340dc80dc80dc80dc70dc70dc70dc70dc60dc60dc70dc70dc7",
            "0dc70dc80dc80dc90ba50b990b9a0ba40aab0aab0aab0aab0bc40b",
            "b553f1",
        ],
    },
}

#: tests/bms/test_jbd_bms.py MockJBDBleakClient.RESP: answers to 0x03, 0x04 and 0x05 (whole frames)
JBD_FRAMES: Final[dict[str, str]] = {
    "basic": "dd03001d0618fee101f201f4002a2c7c00000000000080640304030b8b0b8a0b84f88477",
    "cells": "dd0400080d660d610d680d59fe3c77",
    "hardware": "dd05000a30313233343536373839fde977",
}

#: the ANT BMS's login for password "12345678" (tests/bms/test_ant_bms.py DEFAULT_PASS_MSG)
ANT_PASSWORD: Final = "12345678"
ANT_LOGIN: Final = "7ea123016a083132333435363738d9eeaa55"
