"""Keep translations/en.json a copy of strings.json, the integration's one source of English text.

custom_components/victron_venus/strings.json is edited by hand. It holds every English text:
entity names (`entity.<platform>.<translation_key>.name`), enum and select states
(`entity.<platform>.<translation_key>.state.<option>`), selector labels
(`selector.<translation_key>.options.<value>`, for `SelectSelectorConfig(translation_key=...)`),
the config and options flows, repair issues, exceptions and the actions (services). No Python
module carries English names, state or option labels; tests/components/test_strings.py checks that
every row, option, form error, abort, issue and exception the code uses has its text here, and
that no module defines English text of its own.

Home Assistant reads a custom integration's English from translations/en.json, so that file is a
byte-for-byte copy:

    .venv/bin/python scripts/gen_strings.py          # copy strings.json to translations/en.json
    .venv/bin/python scripts/gen_strings.py --check  # exit 1 if en.json differs; writes nothing

The sync also rewrites strings.json in its one layout (2-space indent, UTF-8 as is, a final
newline) when it is laid out otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COMPONENT = REPO / "custom_components" / "victron_venus"
STRINGS = COMPONENT / "strings.json"
EN = COMPONENT / "translations" / "en.json"


def dump(strings: dict[str, Any]) -> str:
    """strings.json's text for `strings` (2-space indent, UTF-8 as is, a final newline)."""
    return json.dumps(strings, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Copy strings.json to en.json (or, with --check, only compare them). Exit status: 1 when
    --check finds en.json missing or different, else 0. Raises ValueError when strings.json is
    not valid JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if translations/en.json differs from strings.json",
    )
    args = parser.parse_args(argv)
    text = STRINGS.read_text(encoding="utf-8")
    strings = json.loads(text)
    if not args.check:
        new_text = dump(strings)
        if new_text != text:
            STRINGS.write_text(new_text, encoding="utf-8")
            text = new_text
        EN.parent.mkdir(exist_ok=True)
        if not EN.exists() or EN.read_text(encoding="utf-8") != text:
            EN.write_text(text, encoding="utf-8")
            print("gen_strings: translations/en.json updated", file=sys.stderr)
        return 0
    if not EN.exists() or EN.read_text(encoding="utf-8") != text:
        print(
            "gen_strings: translations/en.json differs from strings.json; run "
            ".venv/bin/python scripts/gen_strings.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
