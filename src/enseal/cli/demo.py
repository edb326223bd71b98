"""``enseal demo``: the end-to-end story of ARCHITECTURE.md §4, run on this machine.

Until the server and clients exist the demo runs what exists, for real: every official test
vector through Enseal's MLS and SFrame code.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

VECTOR_DIR = Path(__file__).resolve().parents[3] / "tests" / "vectors" / "data"


def demo() -> None:
    """Run the Enseal demo."""
    from enseal.vectors.registry import Tally, UnrecognisedVectorFile, load, run_file

    console = Console()
    console.print("[bold]Enseal demo[/bold]: the official MLS (RFC 9420) and SFrame (RFC 9605) vectors")
    total = Tally()
    for path in sorted(VECTOR_DIR.glob("*/*.json")):
        try:
            loaded = load(path)
        except UnrecognisedVectorFile:
            console.print(f"  {path.parent.name}/{path.name}: [yellow]not implemented yet[/yellow]")
            continue
        tally = run_file(loaded)
        total = total + tally
        style = "green" if not tally.failed else "red"
        console.print(f"  {path.parent.name}/{path.name}: [{style}]{tally.line()}[/{style}]")
    console.print(f"[bold]{total.line()}[/bold]")
    if total.failed:
        raise typer.Exit(1)
