"""``python -m enseal.vectors PATH...``: run test-vector files and print a tally per file."""

from __future__ import annotations

import sys
from pathlib import Path

from enseal.vectors.outcome import Case
from enseal.vectors.registry import Tally, UnrecognisedVectorFile, load, run_file


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    if not paths:
        print("usage: python -m enseal.vectors [-v] PATH...", file=sys.stderr)
        return 2
    total = Tally()
    status = 0

    def report(case: Case, message: str) -> None:
        if verbose or message.startswith("FAILED"):
            print(f"  {case.case_id}: {message}", file=sys.stderr)

    for raw in paths:
        path = Path(raw)
        try:
            loaded = load(path)
        except UnrecognisedVectorFile as exc:
            print(f"{path.name}: unrecognised ({exc})")
            status = 1
            continue
        tally = run_file(loaded, report)
        print(f"{loaded.name}: {tally.line()}")
        total = total + tally
        if tally.failed:
            status = 1
    print(total.line())
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
