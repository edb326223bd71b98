"""``enseal server init|run|rotate-kek``: formatting and wiring over :mod:`enseal.server`
(docs/server.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

server_app = typer.Typer(help="Run an Enseal server.", no_args_is_help=True)

DataOption = Annotated[Path, typer.Option("--data", help="the server's data directory", resolve_path=True)]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database URL (default: SQLite in the data dir), e.g. postgresql+asyncpg://..."),
]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)


@server_app.command("init")
def init(
    data: DataOption,
    hostname: Annotated[
        list[str] | None, typer.Option("--hostname", help="extra DNS name or IP for the certificate (repeatable)")
    ] = None,
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default 8443)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Create a data directory: config, private CA, server certificate, key-encryption key,
    database and a one-time admin bootstrap token."""
    import asyncio

    from enseal.crypto.pki import certificate_fingerprint
    from enseal.errors import EnsealError
    from enseal.server.initialise import initialise_data_dir

    try:
        done = asyncio.run(
            initialise_data_dir(data, hostnames=hostname or [], database_url=db or "", host=host, port=port)
        )
    except EnsealError as exc:
        raise _fail(str(exc)) from exc
    fingerprint = certificate_fingerprint(done.data_dir.ca_certificate.read_bytes())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "data_dir": str(done.data_dir.root),
                    "server_id": done.config.server_id,
                    "ca_certificate": str(done.data_dir.ca_certificate),
                    "ca_fingerprint_sha256": fingerprint,
                    "bootstrap_token": done.bootstrap_token.text(),
                }
            )
        )
        return
    typer.echo(f"Initialised Enseal server {done.config.server_id} in {done.data_dir.root}")
    typer.echo(f"  CA certificate (give to clients with --ca): {done.data_dir.ca_certificate}")
    typer.echo(f"  CA fingerprint (SHA-256): {fingerprint}")
    typer.echo(f"  listen on https://{done.config.host}:{done.config.port} (change in {done.data_dir.config})")
    typer.echo("")
    typer.echo("One-time admin bootstrap token (shown once; trade it for an operator key with")
    typer.echo("'enseal admin bootstrap --server URL --ca CA'):")
    typer.echo(f"  {done.bootstrap_token.text()}")


@server_app.command("run")
def run(
    data: DataOption,
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    nats_url: Annotated[
        str | None, typer.Option("--nats-url", help="NATS server for scale-out, e.g. nats://127.0.0.1:4222")
    ] = None,
    relay_capture: Annotated[
        Path | None,
        typer.Option("--relay-capture", help="append every datagram the media relay forwards to this file (audit)"),
    ] = None,
) -> None:
    """Serve HTTPS and WSS (TLS 1.3 only) until interrupted. Applies database migrations first."""
    from dataclasses import replace

    from enseal.errors import EnsealError
    from enseal.server.data_dir import DataDir, ServerConfig
    from enseal.server.runner import serve

    data_dir = DataDir(data)
    try:
        config = ServerConfig.load(data_dir).with_overrides(database_url=db, host=host, port=port)
    except EnsealError as exc:
        raise _fail(str(exc)) from exc
    if nats_url is not None:
        config = replace(config, nats_url=nats_url)
    if relay_capture is not None:
        config = replace(config, relay_capture=str(relay_capture))
    serve(data_dir, config, log_level=log_level)


@server_app.command("rotate-kek")
def rotate_kek(data: DataOption, db: DbOption = None) -> None:
    """Rewrap every data key under a new key-encryption key (atomically), then replace the KEK
    file. Stop the server first; records themselves are not re-encrypted."""
    import asyncio

    from enseal.crypto import system_random
    from enseal.errors import EnsealError
    from enseal.server.data_dir import DataDir, ServerConfig
    from enseal.storage import Database
    from enseal.storage import rotate_kek as rotate

    data_dir = DataDir(data)

    async def rotate_all() -> tuple[str, str]:
        config = ServerConfig.load(data_dir).with_overrides(database_url=db, host=None, port=None)
        database = Database(config.database_url_for(data_dir))
        try:
            await database.migrate()
            return await rotate(database, data_dir.kek, system_random)
        finally:
            await database.close()

    try:
        old, new = asyncio.run(rotate_all())
    except EnsealError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"Rotated the key-encryption key: {old} -> {new} ({data_dir.kek})")
