"""``enseal verify USER``: the safety number of you and USER, in digits and as a QR code
(docs/security-codes.md), to compare in person or over a channel you trust."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from enseal.cli.client_context import ProfileOption, console, profile_directory, run, with_account
from enseal.cli.terminal_qr import QrCode


def verify(
    user: Annotated[str, typer.Argument(help="the other user, USER@TENANT")],
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="also draw the QR code")] = True,
    profile: ProfileOption = None,
) -> None:
    """Show the safety number of you and USER (the same 60 digits on both sides)."""

    async def compute(account: Any) -> Any:
        number, payload, devices = await account.safety_number(user)
        return account.address, number, payload, devices

    me, number, payload, devices = run(lambda: with_account(profile_directory(profile), compute))
    console.print(f"Safety number of [bold]{me}[/bold] and [bold]{user}[/bold]:")
    groups = number.groups
    for row in range(0, len(groups), 4):
        console.print("    " + "  ".join(groups[row : row + 4]), style="bold cyan")
    console.print(
        f"It covers {user}'s {len(devices)} device(s) and yours; it changes when either of you adds a device"
        " or a key changes. Compare it with the number on the other person's screen."
    )
    if qr:
        for line in QrCode(payload).terminal_lines():
            console.print(Text(line, style="black on white"))
