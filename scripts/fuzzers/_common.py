"""The fuzz harness: checks, Hypothesis settings, timing, memory, and the report.

A *target* (vedirect, vedirect_hex, jbd, venus, detector) is a module with
``checks(options) -> list[Check]``.
A check is one of three kinds:

* ``property``: a Hypothesis ``@given`` function run for ``--examples`` examples with a random
  seed (``--seed`` repeats a run). Its body raises ``AssertionError`` (or anything else) on a
  broken invariant; Hypothesis then shrinks the input and the harness prints the falsifying
  example and the blob to reproduce it.
* ``bounded``: one long run over ``--noise-mb`` MB of generated noise, checking after every chunk
  that the parser's buffers stay under their documented bounds.
* ``linear``: the same pathological input at 1 MB and 8 MB; the time ratio must stay under
  ``8 x LINEAR_FACTOR`` (a quadratic parser gives 64).

Nothing here is a test of the suite: the suite runs derandomized and small (tests/conftest.py);
this is exploration, run by hand or nightly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
import gc
import os
from pathlib import Path
import sys
import time
import traceback
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, Phase, seed as hypothesis_seed, settings  # noqa: E402

LINEAR_FACTOR = 3.0
"""8 MB may take at most 8 x this factor times as long as 1 MB (timing noise on a loaded box)."""
MB = 1_000_000


@dataclass
class Options:
    """Command line: examples per property, the run's seed, MB of noise for the bounded checks."""

    examples: int
    seed: int
    noise_mb: int


class Counter:
    """Counts the examples a property body ran to the end."""

    def __init__(self) -> None:
        self.n = 0

    def tick(self) -> None:
        self.n += 1


@dataclass
class Outcome:
    """What one check did: examples (or MB, or sizes), seconds, ok, a one-line note."""

    target: str
    check: str
    examples: int
    seconds: float
    ok: bool
    note: str = ""


@dataclass
class Check:
    """One check of a target; ``run(options)`` returns (examples, note) or raises on failure."""

    name: str
    run: Callable[[Options], tuple[int, str]]


def fuzz_settings(examples: int) -> settings:
    """Random (not derandomized), no database, no deadline, no health checks: pure exploration."""
    return settings(
        max_examples=examples,
        derandomize=False,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )


def run_property(test: Any, counter: Counter, options: Options, salt: int) -> tuple[int, str]:
    """Run a ``@given`` function with the run's seed (plus ``salt``, one per check)."""
    seeded = hypothesis_seed(options.seed + salt)(settings(fuzz_settings(options.examples))(test))
    seeded()
    return counter.n, ""


def retained(obj: object, limit: int = 200_000) -> tuple[int, int]:
    """(bytes of text, container entries) reachable from ``obj`` through attributes and containers.

    Generic on purpose, so it measures whatever the parser keeps without knowing its internals:
    bytes, bytearray, str and memoryview count their length; tuples, lists, deques, sets and dicts
    their entries (and what the entries hold); objects their ``__slots__`` and ``__dict__``.
    Modules, classes and functions are not followed. Stops after ``limit`` objects.
    """
    text = entries = 0
    seen: set[int] = set()
    stack = [obj]
    while stack and len(seen) < limit:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, (int, float, bool)):
            continue
        seen.add(id(item))
        if isinstance(item, (bytes, bytearray, str, memoryview)):
            text += len(item)
        elif isinstance(item, dict):
            entries += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (tuple, list, set, frozenset)) or type(item).__name__ == "deque":
            entries += len(item)  # type: ignore[arg-type]
            stack.extend(item)  # type: ignore[arg-type]
        elif isinstance(item, (type, ModuleType)) or callable(item):
            continue
        else:
            for cls in type(item).__mro__:
                for name in getattr(cls, "__slots__", ()):
                    value = getattr(item, name, None)
                    if value is not None:
                        stack.append(value)
            stack.extend(getattr(item, "__dict__", {}).values())
    return text, entries


def module_caches(module: ModuleType) -> dict[str, dict[Any, Any]]:
    """The module-level dicts of ``module`` whose name starts with ``_`` (its memos and caches)."""
    return {
        name: value
        for name, value in vars(module).items()
        if name.startswith("_") and not name.startswith("__") and isinstance(value, dict)
    }


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with Path("/proc/self/statm").open() as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def best_seconds(func: Callable[[], object], repeat: int = 3, min_seconds: float = 0.3) -> float:
    """Best CPU time of one call over ``repeat`` rounds, each round at least ``min_seconds`` long
    (fast calls are repeated within a round, so a few milliseconds are still measured well).

    CPU time of this process (``time.process_time``), not wall time: other work on the machine
    then slows the measurement far less."""
    best = float("inf")
    spent = 0.0
    for _ in range(repeat):
        if spent > 20.0:  # a slow case: fewer rounds rather than minutes
            break
        gc.collect()
        calls = 0
        start = time.process_time()
        while True:
            func()
            calls += 1
            elapsed = time.process_time() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / calls)
        spent += elapsed
    return best


def linear_check(
    cases: Iterable[tuple[str, Callable[[int], Callable[[], object]]]],
    small: int = 1 * MB,
    large: int = 8 * MB,
    unit: str = "MB",
) -> tuple[int, str]:
    """Time each case at ``small`` and ``large`` input size; fail when the ratio is superlinear.

    A case is (name, make) where ``make(size)`` prepares the input of about ``size`` bytes (or
    ``unit``s: samples for the detector) and
    returns the function to time. Returns (cases, "name ratio, ..." note).
    """
    notes = []
    failures = []
    count = 0
    ratio_limit = (large / small) * LINEAR_FACTOR
    for name, make in cases:
        t_small = best_seconds(make(small))
        t_large = best_seconds(make(large))
        ratio = t_large / max(t_small, 1e-9)
        notes.append(f"{name} {t_small * 1e3:.0f}/{t_large * 1e3:.0f} ms x{ratio:.1f}")
        count += 1
        if ratio > ratio_limit:
            failures.append(
                f"{name}: {_size(small, unit)} in {t_small:.3f} s, {_size(large, unit)} in"
                f" {t_large:.3f} s, ratio {ratio:.1f} > {ratio_limit:.0f}"
            )
    if failures:
        raise AssertionError("superlinear time: " + "; ".join(failures))
    return count, "; ".join(notes)


def _size(size: int, unit: str) -> str:
    return f"{size / MB:g} MB" if unit == "MB" else f"{size:,} {unit}"


def run_checks(target: str, checks: list[Check], options: Options) -> list[Outcome]:
    """Run every check of a target, printing a line for each as it ends."""
    outcomes = []
    for check in checks:
        print(f"fuzz: {target} / {check.name} ...", flush=True)
        start = time.perf_counter()
        try:
            examples, note = check.run(options)
            ok = True
        except BaseException as err:  # report every failure, go on with the other checks
            if isinstance(err, KeyboardInterrupt):
                raise
            examples, ok = 0, False
            note = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            print(f"fuzz: FAILED {target} / {check.name} (seed {options.seed})", flush=True)
            traceback.print_exception(err, file=sys.stdout)
        seconds = time.perf_counter() - start
        outcome = Outcome(target, check.name, examples, seconds, ok, note)
        status = "ok" if ok else "FAILED"
        print(
            f"fuzz: {target} / {check.name}: {examples} in {seconds:.1f} s, {status}"
            + (f" ({note})" if note else ""),
            flush=True,
        )
        outcomes.append(outcome)
    return outcomes


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` in chunks of the given sizes (cycled); the last chunk takes the rest."""
    if not sizes:
        return [data] if data else []
    chunks = []
    pos = 0
    i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        chunks.append(data[pos : pos + size])
        pos += size
        i += 1
    return chunks
