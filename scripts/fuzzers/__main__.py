"""``scripts/fuzz``: long random exploration of the parsers and the trip detector (not CI).

Usage (from the repository)::

    scripts/fuzz                         every target, 20,000 examples per property, a random seed
    scripts/fuzz vedirect jbd            some targets (vedirect, vedirect_hex, jbd, venus, detector)
    scripts/fuzz --examples 100000       more examples per property
    scripts/fuzz --seed 1234             repeat a run (the seed is printed at the start)
    scripts/fuzz --noise-mb 50           MB of noise for the bounded-buffer checks

Prints a line per check as it ends, then a markdown table (target, check, examples, seconds,
result). Exits 1 when any check failed, after printing the falsifying input (Hypothesis shrinks
it first) and the seed to repeat the run.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import random
import sys
import time

from scripts.fuzzers._common import Options, Outcome, run_checks

TARGETS = ("vedirect", "vedirect_hex", "jbd", "venus", "detector")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen targets; return the exit code (0 all passed, 1 a check failed)."""
    parser = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", choices=TARGETS, default=[])
    parser.add_argument("--examples", type=int, default=20_000, help="examples per property")
    parser.add_argument("--seed", type=int, default=None, help="seed of the run (random if unset)")
    parser.add_argument("--noise-mb", type=int, default=50, help="MB of noise per parser")
    args = parser.parse_args(argv)
    if args.examples < 1 or args.noise_mb < 1:
        parser.error("--examples and --noise-mb must be >= 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    options = Options(examples=args.examples, seed=seed, noise_mb=args.noise_mb)
    targets = args.targets or list(TARGETS)
    print(
        f"fuzz: seed {seed} (repeat with --seed {seed}), {args.examples} examples per property,"
        f" {args.noise_mb} MB of noise; {platform.python_implementation()}"
        f" {platform.python_version()}",
        flush=True,
    )
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    for target in targets:
        module = importlib.import_module(f"scripts.fuzzers.{target}")
        outcomes += run_checks(target, module.checks(options), options)
    print()
    print("| target | check | examples | seconds | result |")
    print("|---|---|---:|---:|---|")
    for o in outcomes:
        unit = " MB" if o.check == "noise" else (" cases" if o.check.startswith("linear") else "")
        result = "pass" if o.ok else "**FAIL**"
        print(f"| {o.target} | {o.check} | {o.examples:,}{unit} | {o.seconds:.1f} | {result} |")
    failed = [o for o in outcomes if not o.ok]
    elapsed = time.perf_counter() - start
    if failed:
        names = ", ".join(f"{o.target}/{o.check}" for o in failed)
        print(f"\nfuzz: {len(failed)} failed ({names}) in {elapsed:.0f} s; seed {seed}")
        return 1
    print(f"\nfuzz: all {len(outcomes)} checks passed in {elapsed:.0f} s; seed {seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
