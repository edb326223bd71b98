"""``enseal call`` and ``enseal listen``: 1:1 calls with real audio and video
(docs/client.md, "Calls").

``--record FILE`` writes what the other side sends: audio to FILE with the suffix ``.wav`` and
video to FILE with the suffix ``.mkv``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from enseal.cli.client_context import ProfileOption, console, fail, profile_directory, run, with_account
from enseal.cli.terminal_qr import QrCode

FEATURES = (
    "recording",
    "transcription",
    "live_captions",
    "call_transfer",
    "call_park",
    "call_merge",
    "add_participant_to_call",
    "forward_to_voicemail",
)


def record_paths(record: Path | None) -> tuple[Path | None, Path | None]:
    if record is None:
        return None, None
    return record.with_suffix(".wav"), record.with_suffix(".mkv")


def label(encryption: Any) -> str:
    from enseal.signalling import CallEncryption

    if encryption is CallEncryption.END_TO_END:
        return "[bold green]end-to-end encrypted[/bold green]"
    return "[bold yellow]standard encryption[/bold yellow] (the service can access the media)"


def show_progress(event: Any, *, qr: bool = False) -> None:
    from enseal.client.call_driver import (
        Answered,
        Ended,
        MediaConnected,
        RecorderNotice,
        Ringing,
        SecurityCodeReady,
    )

    match event:
        case Ringing():
            what = f"Incoming call from {event.peer}" if event.incoming else f"Ringing {event.peer}"
            console.print(f"{what}: {label(event.encryption)}", markup=True)
            for reason in event.reasons:
                console.print(f"  - {reason.message}")
        case Answered():
            console.print("Answered.")
        case SecurityCodeReady():
            console.print(f"Security code: [bold cyan]{event.code}[/bold cyan]  (compare it with the other side)")
            if qr:
                for line in QrCode(event.qr_payload).terminal_lines():
                    console.print(Text(line, style="black on white"))
        case MediaConnected():
            path = "peer to peer (direct UDP)" if event.path.value == "direct" else "through the server's relay"
            console.print(f"Media connected {path}. [dim](call {event.call_id})[/dim]", markup=True)
        case RecorderNotice(present=True):
            console.print("[yellow]The service's recorder joined the call[/yellow]: media now goes through the relay.")
        case RecorderNotice(present=False):
            console.print("The service's recorder left the call.")
        case Ended():
            by = "the other side" if event.by_peer else "you"
            console.print(f"Call ended: {event.reason.value.replace('_', ' ')} ({by}).")


def show_outcome(outcome: Any) -> None:
    stats = outcome.stats
    if stats is None:
        return
    transport = stats.transport
    console.print(
        f"Sent {stats.audio.frames_sent} audio and {stats.video.frames_sent} video frames; received "
        f"{stats.audio.frames_received} audio and {stats.video.frames_received} video frames "
        f"({stats.audio.frames_undecryptable + stats.video.frames_undecryptable} undecryptable). "
        f"Relay bytes sent: {transport.relay.bytes_sent}, direct bytes sent: {transport.direct.bytes_sent}."
    )


def call(
    user: Annotated[str, typer.Argument(help="whom to call, USER@TENANT")],
    send: Annotated[Path | None, typer.Option("--send", help="audio (or video) file to send", exists=True)] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="write what you receive to FILE.wav and FILE.mkv")
    ] = None,
    seconds: Annotated[float, typer.Option("--seconds", help="how long the call lasts once answered")] = 10.0,
    relay_only: Annotated[
        bool, typer.Option("--relay-only", help="offer no direct path: media through the relay")
    ] = False,
    request: Annotated[
        list[str] | None,
        typer.Option("--request", help=f"ask for a call feature once connected: {', '.join(FEATURES)}"),
    ] = None,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="draw the security code's QR code")] = False,
    profile: ProfileOption = None,
) -> None:
    """Call USER with real audio and video; hang up after --seconds."""
    for feature in request or ():
        if feature not in FEATURES:
            fail(f"unknown feature {feature!r}; one of {', '.join(FEATURES)}")
    audio_out, video_out = record_paths(record)

    async def main(account: Any) -> Any:
        from enseal.client.call_driver import CallMedia, MediaConnected, check_feature, place_call
        from enseal.client.errors import CallRefused, ServerRefused
        from enseal.client.session import DeviceSession

        media = CallMedia(audio_file=send, record_audio=audio_out, record_video=video_out, direct=not relay_only)
        async with DeviceSession(account) as session:
            await session.start(connect_events=True)
            encryption: Any = None
            requests: list[asyncio.Task[None]] = []

            async def ask(call_id: str, feature: str) -> None:
                try:
                    check_feature(feature, encryption)
                    result = await session.request_feature(call_id, feature)
                    console.print(
                        f"{feature}: [green]allowed[/green] ({result.service_role or 'service'} joins the call)"
                    )
                except (CallRefused, ServerRefused) as exc:
                    console.print(f"{feature}: [red]refused[/red] - {exc}")

            def progress(event: Any) -> None:
                nonlocal encryption
                show_progress(event, qr=qr)
                if hasattr(event, "encryption"):
                    encryption = event.encryption
                if isinstance(event, MediaConnected):
                    for feature in request or ():
                        requests.append(asyncio.create_task(ask(event.call_id, feature)))

            outcome = await place_call(session.call_environment(), user, media, seconds=seconds, progress=progress)
            await asyncio.gather(*requests)
            return outcome

    outcome = run(lambda: with_account(profile_directory(profile), main))
    show_outcome(outcome)
    if outcome.stats is None:
        raise typer.Exit(1)


def listen(
    auto_answer: Annotated[bool, typer.Option("--auto-answer", help="answer every call (else decline)")] = False,
    send: Annotated[Path | None, typer.Option("--send", help="audio (or video) file to send", exists=True)] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="write what you receive to FILE.wav and FILE.mkv")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="stop after the first call")] = False,
    relay_only: Annotated[
        bool, typer.Option("--relay-only", help="offer no direct path: media through the relay")
    ] = False,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="draw the security code's QR code")] = False,
    profile: ProfileOption = None,
) -> None:
    """Wait for calls (and show chat messages as they arrive)."""
    audio_out, video_out = record_paths(record)

    async def main(account: Any) -> Any:
        from enseal.cli.chat_cmd import print_messages
        from enseal.client.call_driver import CallMedia, answer_call
        from enseal.client.conversations import TextMessage
        from enseal.client.session import DeviceSession

        def on_event(event: Any) -> None:
            if isinstance(event, TextMessage) and not event.outgoing:
                print_messages([event], me=account.address)

        media = CallMedia(audio_file=send, record_audio=audio_out, record_video=video_out, direct=not relay_only)
        async with DeviceSession(account, on_event=on_event) as session:
            await session.start(connect_events=True)
            console.print(f"Listening as {account.address} (Ctrl-C to stop) ...")
            outcomes = []
            while True:
                invite = await session.signalling.next_invite()
                outcome = await answer_call(
                    session.call_environment(),
                    invite,
                    media,
                    progress=lambda e: show_progress(e, qr=qr),
                    accept=auto_answer,
                )
                show_outcome(outcome)
                outcomes.append(outcome)
                if once:
                    return outcomes

    run(lambda: with_account(profile_directory(profile), main))
