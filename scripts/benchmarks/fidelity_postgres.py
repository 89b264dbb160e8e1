"""The recorder fidelity benchmark (benchmarks/fidelity.py) with Home Assistant's recorder on
a real PostgreSQL: Debian's postgresql, a throw-away cluster on a loopback port
(scripts/benchmarks/postgres.py). Rows per policy and the tables' sizes there.

Run: ``.venv/bin/python -m scripts.benchmarks.fidelity_postgres [--hours 24]``.
"""

from __future__ import annotations

import sys

from scripts.benchmarks import fidelity


def main(argv: list[str] | None = None) -> None:
    """fidelity.main with --postgres."""
    fidelity.main(["--postgres", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
