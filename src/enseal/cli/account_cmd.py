"""``enseal register`` and ``enseal settings``: enroll this device, and the user's own
"end-to-end encrypted calls" setting (docs/client.md)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from enseal.cli.client_context import ProfileOption, console, fail, passphrase, profile_directory, run, with_account

settings_app = typer.Typer(help="Your own settings.", no_args_is_help=True)

ENROLLMENT_CODE_ENV = "ENSEAL_ENROLLMENT_CODE"


def register(
    user: Annotated[str, typer.Argument(help="you, as USER@TENANT")],
    server: Annotated[str, typer.Option("--server", help="https://host:port of the Enseal server")],
    ca: Annotated[
        Path | None, typer.Option("--ca", help="the server's CA certificate (ca.pem)", exists=True, dir_okay=False)
    ] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help=f"the one-time enrollment code from your admin [env {ENROLLMENT_CODE_ENV}]"),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="a name for this device")] = None,
    profile: ProfileOption = None,
) -> None:
    """Enroll this device for USER@TENANT and create its encrypted profile."""
    from enseal.client.account import Account

    directory = profile_directory(profile)
    if ca is None:
        fail("give the server's CA certificate with --ca (the server trusts no public CA)")
    enrollment = code or os.environ.get(ENROLLMENT_CODE_ENV)
    if not enrollment:
        if not sys.stdin.isatty():
            fail(f"give the enrollment code with --code or in ${ENROLLMENT_CODE_ENV}")
        enrollment = str(typer.prompt("Enrollment code"))
    secret = passphrase(new=True)
    device_name = name or f"{user.partition('@')[0]} on {socket.gethostname()}"[:64]

    async def main() -> Any:
        with console.status(f"Registering {user} with {server} ..."):
            account = await Account.register(
                directory,
                secret,
                server_url=server,
                ca_certificate=ca,
                user=user,
                enrollment_code=enrollment,
                device_name=device_name,
            )
        try:
            policy = await account.my_policy()
        finally:
            await account.close()
        return account, policy

    account, policy = run(main)
    console.print(f"[green]Registered[/green] {account.identity.identity.decode()}  (profile {directory})")
    _print_policy(policy)


def _print_policy(policy: Any) -> None:
    opted = "on" if policy.e2ee_calls_opted_in else "off"
    offered = policy.e2ee_calls_setting
    console.print(
        f"End-to-end encrypted calls: [bold]{opted}[/bold]  "
        f"(policy {policy.effective_policy.policy.name!r}, tenant E2EE {policy.tenant_e2ee}"
        f"{', compliance recording' if policy.compliance_recording else ''})"
    )
    if not offered.allowed:
        console.print("  The setting is not offered to you:")
        for reason in offered.reasons:
            console.print(f"  - {reason.message}")


@settings_app.command("e2ee-calls")
def e2ee_calls(
    state: Annotated[str, typer.Argument(help="on or off", metavar="on|off")],
    profile: ProfileOption = None,
) -> None:
    """Turn end-to-end encrypted calls on or off for you (if your policy offers it)."""
    if state not in ("on", "off"):
        fail("say 'on' or 'off'")

    async def change(account: Any) -> Any:
        return await account.set_e2ee_calls(state == "on")

    policy = run(lambda: with_account(profile_directory(profile), change))
    _print_policy(policy)


@settings_app.command("show")
def show(profile: ProfileOption = None) -> None:
    """Show your settings and what your policy allows."""

    async def fetch(account: Any) -> Any:
        return await account.my_policy()

    _print_policy(run(lambda: with_account(profile_directory(profile), fetch)))
