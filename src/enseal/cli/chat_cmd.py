"""``enseal chat send|read|list``: end-to-end encrypted chat (docs/client.md, "Chat").

A conversation is named by its other users: ``bob@acme`` is the 1:1 chat with Bob,
``bob@acme,carol@acme`` the group chat of the three of you.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from enseal.cli.client_context import ProfileOption, console, fail, profile_directory, run, with_account

chat_app = typer.Typer(help="End-to-end encrypted chat.", no_args_is_help=True)


def _users(conversation: str) -> list[str]:
    users = [u.strip() for u in conversation.split(",") if u.strip()]
    if not users or any("@" not in u for u in users):
        fail("name the other users as USER@TENANT, comma-separated for a group chat")
    return users


def print_messages(messages: list[Any], *, me: str) -> None:
    for message in messages:
        who = "you" if message.outgoing else message.sender
        style = "dim" if message.outgoing else "bold"
        console.print(f"[dim]{message.sent_at}[/dim] [{style}]{who}[/{style}]: {message.text}", markup=True)


@chat_app.command("send")
def send(
    to: Annotated[str, typer.Argument(help="USER@TENANT (or several, comma-separated, for a group chat)")],
    text: Annotated[str, typer.Argument(help="the message")],
    profile: ProfileOption = None,
) -> None:
    """Send an end-to-end encrypted message."""
    users = _users(to)

    async def main(account: Any) -> Any:
        from enseal.client.session import DeviceSession

        async with DeviceSession(account) as session:
            return await session.send_text(users, text)

    with console.status("Sending ..."):
        message = run(lambda: with_account(profile_directory(profile), main))
    console.print(f"[green]Sent[/green] to {message.conversation} (end-to-end encrypted, MLS)")


@chat_app.command("read")
def read(
    conversation: Annotated[str | None, typer.Argument(help="USER@TENANT[,USER@TENANT...]; all when left out")] = None,
    last: Annotated[int, typer.Option("--last", help="show at most this many messages per conversation")] = 50,
    profile: ProfileOption = None,
) -> None:
    """Fetch new messages (decrypted on this device) and show the history."""
    users = _users(conversation) if conversation else None

    async def main(account: Any) -> Any:
        from enseal.client.conversations import conversation_name
        from enseal.client.session import DeviceSession

        async with DeviceSession(account) as session:
            names = (
                [conversation_name(set(users) | {account.address}, account.address)]
                if users
                else sorted(session.conversations.names())
            )
            return account.address, {name: session.history(name, limit=last) for name in names}, session.warnings

    with console.status("Fetching messages ..."):
        me, histories, warnings = run(lambda: with_account(profile_directory(profile), main))
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if not any(histories.values()):
        console.print("No messages." if users is None else f"No messages with {conversation}.")
    for name, messages in histories.items():
        if not messages:
            continue
        console.rule(f"{name}  [dim](end-to-end encrypted)[/dim]")
        print_messages(messages, me=me)


@chat_app.command("list")
def list_conversations(profile: ProfileOption = None) -> None:
    """List your conversations on this device."""

    async def main(account: Any) -> Any:
        from enseal.client.session import DeviceSession

        async with DeviceSession(account) as session:
            return {name: len(session.history(name)) for name in session.conversations.names()}

    counts = run(lambda: with_account(profile_directory(profile), main))
    table = Table("conversation", "messages")
    for name, count in sorted(counts.items()):
        table.add_row(name, str(count))
    console.print(table)
