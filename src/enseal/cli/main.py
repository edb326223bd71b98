"""Entry point of the ``enseal`` command: the typer application and its sub-commands."""

from __future__ import annotations

import typer

from enseal.cli.account_cmd import register, settings_app
from enseal.cli.admin_cmd import admin_app
from enseal.cli.bench import bench
from enseal.cli.call_cmd import call, listen
from enseal.cli.chat_cmd import chat_app
from enseal.cli.demo import demo
from enseal.cli.server_cmd import server_app
from enseal.cli.verify_cmd import verify

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
app.add_typer(server_app, name="server")
app.add_typer(admin_app, name="admin")
app.command("register")(register)
app.add_typer(settings_app, name="settings")
app.command("verify")(verify)
app.add_typer(chat_app, name="chat")
app.command("call")(call)
app.command("listen")(listen)


@app.callback()
def main() -> None:
    """End-to-end encrypted calls, meetings and chat on MLS and SFrame."""


@app.command()
def version() -> None:
    """Print the Enseal version."""
    from enseal import __version__

    typer.echo(__version__)
