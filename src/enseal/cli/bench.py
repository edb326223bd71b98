"""``enseal bench NAME [ARGS]``: run a benchmark script from the checkout's ``bench/`` folder.

Benchmarks are measurements, not tests: each ``bench/NAME.py`` prints JSON on stdout (with
``--json``) and a human table on stderr.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import typer

BENCH_DIR = Path(__file__).resolve().parents[3] / "bench"


def available() -> list[str]:
    if not BENCH_DIR.is_dir():
        return []
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


def bench(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Benchmark to run (a file in bench/)."),
) -> None:
    """Run a benchmark: enseal bench NAME [--json] [options of that benchmark]."""
    names = available()
    if name not in names:
        typer.echo(f"unknown benchmark {name!r}; available: {', '.join(names) or 'none'}", err=True)
        raise typer.Exit(2)
    script = BENCH_DIR / f"{name}.py"
    sys.argv = [str(script), *ctx.args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise typer.Exit(code) from None
