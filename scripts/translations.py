#!/usr/bin/env python3
"""Keep translations/<lang>.json in step with the English strings.json.

strings.json is the English source (translations/en.json is a copy of it). Every other
translations/<lang>.json must have exactly its keys, the same placeholders ({name}, [%key:...%])
in every text, and no empty text.

    .venv/bin/python scripts/translations.py --check [LANG ...]
        Lists, per language (default: every translations/*.json but en.json), the keys English
        has and the language lacks, the keys the language has and English does not, texts whose
        placeholders differ from the English ones and empty texts. Exit status 1 if anything is
        listed, 0 when every language is complete.
    .venv/bin/python scripts/translations.py --stub LANG
        Prints the keys LANG lacks, with their English text, as nested JSON: translate the
        values and merge them with --merge.
    .venv/bin/python scripts/translations.py --merge LANG FILE
        Merges FILE (a translated stub: nested JSON, any subset of the English keys) into
        translations/LANG.json and rewrites it in the key order of strings.json. Keys English no
        longer has are dropped from LANG.json and listed. A key of FILE that English does not
        have is an error (nothing is written).

A changed English text under an unchanged key is not detected (the key is still there): when you
reword a string, update its translations in the same commit.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
import re
import sys
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COMPONENT = REPO / "custom_components" / "victron_venus"
STRINGS = COMPONENT / "strings.json"
TRANSLATIONS = COMPONENT / "translations"

# {name}, {count, plural, ...} and Home Assistant's [%key:component::...%] references.
_PLACEHOLDER = re.compile(r"\{(\w+)(?=[\s,}])|(\[%key:[^%\]]+%\])")


@dataclass(frozen=True)
class Problem:
    """One defect of a translation file.

    kind is "missing" (English has the key, the language not), "extra" (the other way round),
    "placeholders" (the text's placeholders differ from the English text's), "empty" (blank
    text) or "not_text" (a text where English has a text, or a section where it has a section:
    reported as missing plus extra instead). key is the dotted path, e.g.
    "config.step.user.title"; detail is the English text, or what differs.
    """

    kind: str
    key: str
    detail: str = ""


def leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, value) for every non-mapping value of a nested strings tree."""
    for key, value in tree.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from leaves(value, path)
        else:
            yield ".".join(path), value


def placeholders(text: str) -> set[str]:
    """The placeholder names ("{name}" -> "name") and [%key:...%] references of a text."""
    return {name or reference for name, reference in _PLACEHOLDER.findall(text)}


def problems(english: Mapping[str, Any], translated: Mapping[str, Any]) -> list[Problem]:
    """Compare one language's tree with the English tree; an empty list means complete."""
    source = dict(leaves(english))
    target = dict(leaves(translated))
    found: list[Problem] = []
    for key, text in source.items():
        if key not in target:
            found.append(Problem("missing", key, str(text)))
            continue
        value = target[key]
        if not isinstance(value, str):
            found.append(Problem("not_text", key, f"{type(value).__name__}, not text"))
            continue
        if not value.strip():
            found.append(Problem("empty", key))
            continue
        want, have = placeholders(str(text)), placeholders(value)
        if want != have:
            lacking = ", ".join(sorted(want - have)) or "-"
            surplus = ", ".join(sorted(have - want)) or "-"
            found.append(Problem("placeholders", key, f"lacks {lacking}; adds {surplus}"))
    found.extend(Problem("extra", key) for key in target if key not in source)
    return found


def languages() -> list[str]:
    """Every language that has a translations/<lang>.json, English excepted."""
    return sorted(p.stem for p in TRANSLATIONS.glob("*.json") if p.stem != "en")


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not a JSON object")
    return data


def stub(english: Mapping[str, Any], translated: Mapping[str, Any]) -> dict[str, Any]:
    """The nested subset of `english` whose keys `translated` lacks (English texts as values)."""
    result: dict[str, Any] = {}
    for key, value in english.items():
        other = translated.get(key)
        if isinstance(value, Mapping):
            sub = stub(value, other if isinstance(other, Mapping) else {})
            if sub:
                result[key] = sub
        elif key not in translated:
            result[key] = value
    return result


def merge(
    english: Mapping[str, Any], current: Mapping[str, Any], update: Mapping[str, Any]
) -> dict[str, Any]:
    """English's key order and key set; values from `update`, else `current`. Keys neither has
    are left out (still missing)."""
    result: dict[str, Any] = {}
    for key, value in english.items():
        if isinstance(value, Mapping):
            old, new = current.get(key), update.get(key)
            sub = merge(
                value,
                old if isinstance(old, Mapping) else {},
                new if isinstance(new, Mapping) else {},
            )
            if sub:
                result[key] = sub
        elif isinstance(update.get(key), str):
            result[key] = update[key]
        elif isinstance(current.get(key), str):
            result[key] = current[key]
    return result


def check(langs: list[str]) -> int:
    """Print each language's problems; return the exit status (1 if any)."""
    english = _load(STRINGS)
    total = sum(1 for _ in leaves(english))
    status = 0
    for lang in langs:
        path = TRANSLATIONS / f"{lang}.json"
        if not path.exists():
            print(f"{lang}: no {path.relative_to(REPO)}")
            status = 1
            continue
        found = problems(english, _load(path))
        if not found:
            print(f"{lang}: complete ({total} keys)")
            continue
        status = 1
        counts = Counter(p.kind for p in found)  # in order of first appearance
        print(f"{lang}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        for p in found:
            detail = f"  {json.dumps(p.detail, ensure_ascii=False)}" if p.detail else ""
            print(f"  {p.kind:<12} {p.key}{detail}")
    return status


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", nargs="*", metavar="LANG", help="check these (default: all)")
    action.add_argument("--stub", metavar="LANG", help="print LANG's missing keys (English)")
    action.add_argument(
        "--merge", nargs=2, metavar=("LANG", "FILE"), help="merge a translated stub"
    )
    args = parser.parse_args(argv)
    if args.check is not None:
        return check(args.check or languages())
    english = _load(STRINGS)
    if args.stub:
        path = TRANSLATIONS / f"{args.stub}.json"
        current = _load(path) if path.exists() else {}
        print(json.dumps(stub(english, current), indent=2, ensure_ascii=False))
        return 0
    lang, file = args.merge
    path = TRANSLATIONS / f"{lang}.json"
    current = _load(path) if path.exists() else {}
    update = _load(Path(file))
    source = dict(leaves(english))
    unknown = [key for key, _ in leaves(update) if key not in source]
    if unknown:
        print("not in strings.json (nothing written):\n  " + "\n  ".join(unknown), file=sys.stderr)
        return 1
    dropped = [key for key, _ in leaves(current) if key not in source]
    merged = merge(english, current, update)
    path.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if dropped:
        print("dropped (no longer in strings.json):\n  " + "\n  ".join(dropped), file=sys.stderr)
    return check([lang])


if __name__ == "__main__":
    sys.exit(main())
