"""What every user command shares: which profile (``--profile DIR`` or ``ENSEAL_PROFILE``), its
passphrase (``ENSEAL_PASSPHRASE``, else a prompt on a terminal), running the SDK's coroutines,
and the error boundary: an expected failure (any :class:`~enseal.errors.EnsealError`) prints one
clear message and exits 1 (2 when the server cannot be reached), never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

T = TypeVar("T")

PROFILE_ENV = "ENSEAL_PROFILE"
PASSPHRASE_ENV = "ENSEAL_PASSPHRASE"  # noqa: S105 - the name of the variable, not a secret

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

ProfileOption = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        help=f"profile directory of this device [env {PROFILE_ENV}; default ~/.config/enseal/profile]",
        resolve_path=True,
    ),
]


def profile_directory(option: Path | None) -> Path:
    if option is not None:
        return option
    configured = os.environ.get(PROFILE_ENV)
    if configured:
        return Path(configured).resolve()
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "enseal" / "profile"


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/bold red] {message}", markup=True)
    raise typer.Exit(code)


def passphrase(*, new: bool) -> str:
    """The profile passphrase: ``ENSEAL_PASSPHRASE``, else asked on the terminal (twice for a
    new profile)."""
    configured = os.environ.get(PASSPHRASE_ENV)
    if configured:
        return configured
    if not sys.stdin.isatty():
        fail(f"the profile is encrypted with a passphrase: set {PASSPHRASE_ENV} (no terminal to ask on)")
    first = str(typer.prompt("Profile passphrase", hide_input=True))
    if new:
        if len(first) < 8:
            fail("choose a passphrase of at least 8 characters")
        if str(typer.prompt("Repeat the passphrase", hide_input=True)) != first:
            fail("the passphrases differ")
    return first


@contextlib.contextmanager
def error_boundary() -> Iterator[None]:
    """Turn expected failures into one message and an exit code."""
    from enseal.client.errors import ServerUnreachable
    from enseal.crypto.profile_key import WrongPassphrase
    from enseal.errors import EnsealError

    try:
        yield
    except WrongPassphrase:
        fail("wrong passphrase for this profile")
    except ServerUnreachable as exc:
        fail(str(exc), code=2)
    except EnsealError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an SDK coroutine inside the error boundary."""
    with error_boundary():
        return asyncio.run(main())
    raise AssertionError("unreachable")  # pragma: no cover - error_boundary exits


async def with_account(directory: Path, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the profile, run ``body(account)``, close it."""
    from enseal.client.account import Account

    account = Account.open(directory, passphrase(new=False))
    try:
        return await body(account)
    finally:
        await account.close()
