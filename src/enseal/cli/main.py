"""Entry point of the ``enseal`` command: the typer application and its sub-commands."""

from __future__ import annotations

import typer

from enseal.cli.bench import bench
from enseal.cli.demo import demo

app = typer.Typer(
    name="enseal",
    help="End-to-end encrypted calls, meetings and chat on MLS and SFrame.",
    no_args_is_help=True,
    add_completion=False,
)

app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(bench)
app.command("demo")(demo)


@app.callback()
def main() -> None:
    """End-to-end encrypted calls, meetings and chat on MLS and SFrame."""


@app.command()
def version() -> None:
    """Print the Enseal version."""
    from enseal import __version__

    typer.echo(__version__)
