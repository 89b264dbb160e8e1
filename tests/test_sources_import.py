"""Setting an entry up imports nothing inside the event loop (issue 8 §1).

Home Assistant imports a custom integration in its executor; anything imported later, from a
coroutine, is a blocking call on the loop ("Detected blocking call to import_module ...
sources/__init__.py ... inside the event loop", seen at every start of scripts/develop). So every
source module must be imported together with the integration's package, and looking a source up
must not import.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.shared import REPO

#: every module of the sources package, as the files on disk name them
SOURCE_MODULES = sorted(
    f"custom_components.victron_venus.sources.{path.stem}"
    for path in (REPO / "custom_components" / "victron_venus" / "sources").glob("*.py")
    if path.stem != "__init__"
)

_PROBE = """
import json, sys
import custom_components.victron_venus
from custom_components.victron_venus.const import EntryType
from custom_components.victron_venus.sources import source_class
loaded = sorted(k for k in sys.modules if k.startswith("custom_components.victron_venus.sources."))
before = set(sys.modules)
classes = {t.value: source_class(t).__name__ for t in EntryType}
print(json.dumps({"loaded": loaded, "classes": classes, "new": sorted(set(sys.modules) - before)}))
"""


def test_every_source_is_imported_with_the_integration() -> None:
    """A fresh interpreter: importing the package loads every source; lookups import nothing."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["loaded"] == SOURCE_MODULES
    assert found["new"] == []
    assert found["classes"] == {
        "vedirect": "VEDirectSource",
        "venus": "VenusSource",
        "jbd": "JBDSource",
        "ble_battery": "BLEBatterySource",
        "bank": "BankSource",
        "logbook": "LogbookSource",
    }
