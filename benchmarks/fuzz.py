"""The long fuzz run: at least 100,000 examples over every parser that reads
what a server sends, and a count per parser of how many it tried and how
many crashed (anything but a result or an AgentFetchError). Must be 0.

The targets and their strategies are those of ``tests/fuzz`` (the bounded
run in every test session, and ``pytest -m fuzz``, which is this run too).

    python benchmarks/fuzz.py [--examples 100000] [--only NAME] [--seed N]

Exit status 1 when anything crashed; the first crash of each parser is shown.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuzz"))

from fuzz_targets import TARGETS, allocation, campaign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000, help="examples in all (default: 100000)")
    parser.add_argument("--only", help="run only the targets whose name contains this")
    parser.add_argument("--seed", type=int, help="a fixed seed, for a run that can be repeated")
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken PDFs are among the inputs

    shares = allocation(args.examples)
    targets = [t for t in TARGETS if not args.only or args.only.lower() in t.name.lower()]
    print(f"{'parser':48} {'tried':>8} {'crashed':>8} {'seconds':>8}")
    tried = crashed = 0
    started = time.perf_counter()
    for target in targets:
        begin = time.perf_counter()
        outcome = campaign(target, shares[target.name], seed=args.seed)
        tried += outcome.tried
        crashed += outcome.crashed
        print(f"{target.name:48} {outcome.tried:>8} {outcome.crashed:>8} {time.perf_counter() - begin:>8.1f}",
              flush=True)
        if outcome.first_crash:
            print(f"    first crash: {outcome.first_crash}", flush=True)
    print(f"{'total':48} {tried:>8} {crashed:>8} {time.perf_counter() - started:>8.1f}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
