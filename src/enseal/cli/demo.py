"""``enseal demo``: the whole story of ARCHITECTURE.md section 4 on this machine, for real.

One command, no arguments. It starts an Enseal server in a temporary directory (SQLite, TLS 1.3,
its own CA, the relay capturing every byte it forwards), scripts the admin with the real
``enseal admin`` commands (a tenant, a policy, users alice, bob and carol), registers a device
for each through the client SDK, and then shows, step by step:

1. E2EE refused for a call while bob has not turned it on (the reasons, from both sides);
2. an end-to-end encrypted call alice -> bob: the same 20-digit code on both screens, real speech
   (espeak-ng) and video, peer to peer, checked on arrival;
3. end-to-end encrypted chat, 1:1 and in a group;
4. recording refused under E2EE (by the client and by the server) and allowed without it
   (alice -> carol, standard encryption, through the relay, the recorder joins);
5. a scan of the server's database, logs and every relayed byte for the demo's chat texts and
   the call's audio: none is found.

The exit status is non-zero if any step fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import typer
from rich.console import Console
from rich.panel import Panel

TENANT: Final = "acme"
PASSPHRASE: Final = "enseal demo passphrase"  # noqa: S105 - the demo's throw-away profiles
CHAT_CANARY: Final = "canary-chat-9c41 the launch code is 7781"
SPOKEN: Final = "Canary four seven one. This is Alice, and the harbour gate opens at dawn."
CALL_SECONDS: Final = 5.0
WINDOW: Final = 16
"""Bytes of an encoded frame that must not appear anywhere on the server."""


class StepFailed(Exception):
    """A step of the story did not do what it must."""


@dataclass
class Demo:
    folder: Path
    console: Console
    server: Any = None
    accounts: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    sent_frames: list[bytes] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    speech: Path | None = None
    results: list[tuple[str, bool, str]] = field(default_factory=list)

    # -- presentation ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.console.print(f"  {text}", markup=True, highlight=False)

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            raise StepFailed(what)
        self.say(f"[green]✓[/green] {what}")

    async def step(self, number: int, title: str, body: Callable[[], Awaitable[None]]) -> bool:
        self.console.rule(f"[bold]{number}. {title}[/bold]")
        started = time.monotonic()
        try:
            await body()
        except Exception as exc:  # the demo reports every failure and goes on
            detail = f"{type(exc).__name__}: {exc}"
            self.say(f"[bold red]✗ {detail}[/bold red]")
            self.results.append((title, False, detail))
            return False
        self.results.append((title, True, f"{time.monotonic() - started:.1f} s"))
        return True

    # -- the pieces -----------------------------------------------------------------------------

    def admin(self, *args: str) -> Any:
        """Run ``enseal admin --json ARGS`` (the real admin CLI, in this process) and return its JSON."""
        import click

        from enseal.cli.main import app

        self.say(f"[dim]$ enseal admin {shlex.join(args)}[/dim]")
        output = io.StringIO()
        errors = io.StringIO()
        os.environ["ENSEAL_ADMIN_PROFILE"] = str(self.folder / "admin")
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(errors):
                app(["admin", "--json", *args], standalone_mode=False)
        except (click.exceptions.Exit, click.ClickException, SystemExit) as exc:
            if getattr(exc, "exit_code", getattr(exc, "code", 1)) not in (0, None):
                raise StepFailed(f"enseal admin {shlex.join(args)}: {errors.getvalue().strip()}") from exc
        text = output.getvalue().strip()
        return json.loads(text) if text.startswith(("{", "[")) else text

    def media(self, user: str, *, direct: bool) -> Any:
        from enseal.client.call_driver import CallMedia

        return CallMedia(
            audio_file=self.speech if user == "alice" else None,
            record_audio=self.folder / f"{user}-received.wav",
            record_video=self.folder / f"{user}-received.mkv",
            direct=direct,
            plaintext_tap=self.sent_frames.append if user == "alice" else None,
        )

    async def call(
        self, caller: str, callee: str, *, direct: bool, feature: str | None, accept: bool = True
    ) -> tuple[Any, Any, Any, Any]:
        """Run a call between two of the demo's users, asking for ``feature`` once media flows
        (the callee declines if not ``accept``); returns both outcomes, the client's refusal (or
        None) and the server's answer."""
        from enseal.client.call_driver import answer_call, check_feature, place_call
        from enseal.client.errors import CallRefused, ServerRefused

        shown: list[str] = []
        feature_answer: list[Any] = []
        tasks: list[asyncio.Task[None]] = []
        encryption: list[Any] = []

        def progress(user: str) -> Callable[[Any], None]:
            def show(event: Any) -> None:
                from enseal.cli.call_cmd import label

                kind = type(event).__name__
                if kind == "Ringing":
                    encryption.append(event.encryption)
                    what = f"{user}'s device rings, {caller} calling" if event.incoming else f"{user} calls {callee}"
                    self.say(f"{what}: {label(event.encryption)}")
                    for reason in event.reasons:
                        self.say(f"    [dim]{user} sees: {reason.message}[/dim]")
                elif kind == "SecurityCodeReady":
                    shown.append(str(event.code))
                    self.say(f"{user}'s screen shows security code [bold cyan]{event.code}[/bold cyan]")
                elif kind == "RecorderNotice" and event.present:
                    self.say(f"{user}'s screen shows: the service's recorder joined (media moves to the relay)")
                elif kind == "MediaConnected" and user == caller:
                    path = "peer to peer (UDP)" if event.path.value == "direct" else "through the server's relay"
                    self.say(f"media connected {path}")
                    if feature is not None:
                        tasks.append(asyncio.create_task(ask(event.call_id)))

            return show

        async def ask(call_id: str) -> None:
            """The client's own answer, then the server's (asked anyway, to show it enforces too)."""
            assert feature is not None
            try:
                check_feature(feature, encryption[0] if encryption else None)
                feature_answer.append(None)
            except CallRefused as exc:
                feature_answer.append(exc)
            try:
                feature_answer.append(await self.sessions[caller].request_feature(call_id, feature))
            except ServerRefused as exc:
                feature_answer.append(exc)

        async def answer() -> Any:
            invite = await self.sessions[callee].signalling.next_invite()
            env = self.sessions[callee].call_environment()
            return await answer_call(
                env, invite, self.media(callee, direct=direct), progress=progress(callee), accept=accept
            )

        answering = asyncio.create_task(answer())
        env = self.sessions[caller].call_environment()
        try:
            placed = await place_call(
                env,
                f"{callee}@{TENANT}",
                self.media(caller, direct=direct),
                seconds=CALL_SECONDS,
                progress=progress(caller),
            )
            answered = await asyncio.wait_for(answering, 30)
        finally:
            if not answering.done():
                answering.cancel()
            with contextlib.suppress(BaseException):
                await answering
        await asyncio.gather(*tasks)
        if len(shown) == 2:
            self.check(shown[0] == shown[1], "both screens show the same security code")
        if feature is None:
            return placed, answered, None, None
        if len(feature_answer) != 2:
            raise StepFailed(f"the {feature} request was not answered during the call")
        return placed, answered, feature_answer[0], feature_answer[1]

    # -- the story ------------------------------------------------------------------------------

    async def start_server(self) -> None:
        from enseal.server.initialise import initialise_data_dir
        from enseal.server.launcher import launch_server

        initialised = await initialise_data_dir(self.folder / "server")
        self.token = initialised.bootstrap_token.text()
        self.capture = self.folder / "relay.capture"
        self.server = await asyncio.to_thread(launch_server, initialised.data_dir.root, relay_capture=self.capture)
        self.say(f"server at {self.server.url} (TLS 1.3, private CA), data in {initialised.data_dir.root}")
        self.check(True, "the server answers over TLS 1.3")

    async def administer(self) -> None:
        ca = str(self.server.data_dir.ca_certificate)
        os.environ["ENSEAL_BOOTSTRAP_TOKEN"] = self.token
        try:
            self.admin("bootstrap", "--server", self.server.url, "--ca", ca)
        finally:
            del os.environ["ENSEAL_BOOTSTRAP_TOKEN"]
        self.admin("tenant", "create", TENANT, "--kind", "commercial")
        self.admin("policy", "create", TENANT, "E2EE calls", "--calls", "user_override", "--meetings", "user_override")
        self.admin("policy", "assign", TENANT, "E2EE calls", "--tenant-wide")
        self.codes = {}
        for user in ("alice", "bob", "carol"):
            created = self.admin("user", "add", f"{user}@{TENANT}")
            self.codes[user] = created["enrollment"]["enrollment_code"]
        self.check(
            len(self.codes) == 3, "tenant acme, policy 'E2EE calls' (calls: user_override) for everyone, 3 users"
        )

    async def register(self) -> None:
        from enseal.client.account import Account
        from enseal.client.session import DeviceSession

        for user in ("alice", "bob", "carol"):
            account = await Account.register(
                self.folder / user,
                PASSPHRASE,
                server_url=self.server.url,
                ca_certificate=self.server.data_dir.ca_certificate,
                user=f"{user}@{TENANT}",
                enrollment_code=self.codes[user],
                device_name=f"{user}'s laptop",
            )
            self.accounts[user] = account
            session = DeviceSession(account)
            await session.start(connect_events=True)
            self.sessions[user] = session
            self.say(f"{account.identity.identity.decode()}  (Ed25519 identity key, profile encrypted with Argon2id)")
        self.check(True, "three devices enrolled with one-time codes, KeyPackages published, events connected")

    async def e2ee_refused(self) -> None:
        from enseal.signalling import CallEncryption
        from enseal.wire.policy import CallDecisionBody, CallDecisionRequest

        await self.accounts["alice"].set_e2ee_calls(True)
        self.say("alice turns on end-to-end encrypted calls; bob has not")
        for me, other in (("alice", "bob"), ("bob", "alice")):
            decision = await self.accounts[me].api.call(
                "POST", "/v1/decisions/call", CallDecisionBody, body=CallDecisionRequest(callee=f"{other}@{TENANT}")
            )
            self.say(f"{me} calling {other} would be: [yellow]{decision.encryption}[/yellow]")
            for reason in decision.reasons:
                self.say(f"    [dim]{reason.message}[/dim]")
            self.check(
                decision.encryption == "standard", f"E2EE is refused for {me} -> {other} while bob has not opted in"
            )
        self.say("alice calls bob anyway: the call rings as standard encryption, with the reason, on both sides")
        placed, answered, _, _ = await self.call("alice", "bob", direct=True, feature=None, accept=False)
        self.say(f"bob's answer: {placed.end_reason.value.replace('_', ' ') if placed.end_reason else 'none'}")
        self.check(
            placed.encryption is answered.encryption is CallEncryption.STANDARD
            and placed.reasons != () and answered.reasons != (),
            "both devices labelled the call standard encryption and showed why",
        )
        self.check(placed.security_code is None and answered.security_code is None, "no security code was shown")

    async def e2ee_call(self) -> None:
        from enseal.media import AUDIO_MATCH_THRESHOLD, audio_similarity
        from enseal.signalling import CallEncryption
        from enseal.wire.calls import RelayStatsBody

        await self.accounts["bob"].set_e2ee_calls(True)
        self.say("bob turns on end-to-end encrypted calls")
        placed, answered, refusal, server_said = await self.call("alice", "bob", direct=True, feature="recording")
        self.check(
            placed.encryption is answered.encryption is CallEncryption.END_TO_END, "the call is end-to-end encrypted"
        )
        self.check(
            placed.security_code is not None and str(placed.security_code) == str(answered.security_code),
            f"alice and bob both show {placed.security_code}",
        )
        self.check(placed.path is not None and placed.path.value == "direct", "media went peer to peer")
        stats = await self.accounts["alice"].api.call("GET", f"/v1/calls/{placed.call_id}/relay-stats", RelayStatsBody)
        relayed = stats.caller.bytes_in + stats.callee.bytes_in
        self.check(relayed == 0, f"the server's relay carried {relayed} bytes of this call")
        heard = audio_similarity(_pcm(self.speech), _pcm(self.folder / "bob-received.wav")) if self.speech else 1.0
        self.check(
            heard >= AUDIO_MATCH_THRESHOLD, f"bob heard alice: similarity {heard:.3f} >= {AUDIO_MATCH_THRESHOLD}"
        )
        video = answered.stats.video.frames_received if answered.stats else 0
        self.check(video > 0, f"bob received {video} video frames, alice {placed.stats.video.frames_received}")
        self.e2ee_refusal = (refusal, server_said)

    async def chat(self) -> None:
        alice, bob, carol = (self.sessions[u] for u in ("alice", "bob", "carol"))
        self.texts += [CHAT_CANARY, "see you at the harbour", "carol joins the plan"]
        await alice.send_text([f"bob@{TENANT}"], CHAT_CANARY)
        self.say(f"alice -> bob: {CHAT_CANARY}")
        await _until(lambda: any(m.text == CHAT_CANARY for m in bob.history(f"alice@{TENANT}")))
        self.check(True, "bob's device decrypted it (MLS, delivered through his mailbox)")
        await bob.send_text([f"alice@{TENANT}"], "see you at the harbour")
        await carol.send_text([f"alice@{TENANT}", f"bob@{TENANT}"], "carol joins the plan")
        group = f"bob@{TENANT},carol@{TENANT}"
        await _until(lambda: any(m.text == "carol joins the plan" for m in alice.history(group)))
        for message in alice.history(f"bob@{TENANT}") + alice.history(group):
            self.say(f"[dim]alice's history:[/dim] {'you' if message.outgoing else message.sender}: {message.text}")
        self.check(True, "1:1 and group chat arrive, decrypted only on the members' devices")

    async def recording(self) -> None:
        from enseal.client.errors import ServerRefused
        from enseal.signalling import CallEncryption
        from enseal.wire.calls import RecordingList

        refusal, server_said = self.e2ee_refusal
        self.check(
            refusal is not None and "not available" in str(refusal),
            f"during the E2EE call alice's client refused recording: {str(refusal).splitlines()[0]}",
        )
        self.check(
            isinstance(server_said, ServerRefused) and server_said.code == "policy_denied",
            f"and the server refused it too: {str(server_said).splitlines()[0]}",
        )
        self.say("carol has not opted in: alice calls carol with standard encryption, and asks to record")
        placed, answered, refusal, allowed = await self.call("alice", "carol", direct=True, feature="recording")
        self.check(
            placed.encryption is answered.encryption is CallEncryption.STANDARD,
            "the call is labelled standard encryption on both sides",
        )
        self.check(
            refusal is None and not isinstance(allowed, Exception) and allowed.allowed,
            f"recording allowed: the {getattr(allowed, 'service_role', None) or 'recorder'} joins, visibly",
        )
        switched = [o.stats.transport.path_switches for o in (placed, answered) if o.stats is not None]
        self.check(switched == [1, 1], "both devices moved the call from peer to peer to the relay, for the recorder")
        api = self.accounts["alice"].api
        listed = await api.call("GET", f"/v1/calls/{placed.call_id}/recordings", RecordingList)
        self.check(len(listed.recordings) == 1 and listed.recordings[0].frames > 0,
                   f"the recorder stored {listed.recordings[0].frames if listed.recordings else 0} frames, "
                   "sealed at rest")
        wav = await api.request("GET", f"/v1/recordings/{listed.recordings[0].recording_id}", params={"format": "wav"})
        (self.folder / "recording.wav").write_bytes(wav.content)
        if self.speech is not None:
            from enseal.media import AUDIO_MATCH_THRESHOLD, audio_similarity

            sent = _pcm(self.speech)
            recorded = audio_similarity(sent, _pcm(self.folder / "recording.wav"), max_lag=len(sent))
            self.check(recorded >= AUDIO_MATCH_THRESHOLD,
                       f"the recording holds alice's speech: similarity {recorded:.3f} >= {AUDIO_MATCH_THRESHOLD}")

    async def scan(self) -> None:
        root = self.server.data_dir.root
        files = [p for p in sorted(root.rglob("*")) if p.is_file()]
        files.append(self.server.log_path)
        stored = b"".join(p.read_bytes() for p in files)
        relayed = self.capture.read_bytes() if self.capture.exists() else b""
        self.say(f"scanning {len(files)} server files ({len(stored):,} bytes: database, WAL, logs, keys)")
        self.say(f"and the relay capture ({len(relayed):,} bytes: every datagram the relay forwarded)")
        everything = stored + relayed
        for text in self.texts:
            self.check(text.encode() not in everything, f"chat text not found: {text!r}")
        frames = [f for f in self.sent_frames if len(f) >= WINDOW]
        found = sum(1 for f in frames if f[:WINDOW] in everything or f[-WINDOW:] in everything)
        self.check(found == 0 and len(frames) > 0, f"none of the {len(frames)} encoded audio/video frames alice sent")
        if self.speech is not None:
            samples = _pcm(self.speech)
            voiced = [
                samples[i : i + 32].tobytes()
                for i in range(0, len(samples) - 32, 2048)
                if int(abs(samples[i : i + 32].astype("int32")).max()) > 1000
            ]
            found = sum(1 for window in voiced if window in everything)
            self.check(found == 0 and len(voiced) > 0, f"none of {len(voiced)} voiced runs of alice's speech samples")

    async def run(self) -> bool:
        self.speech = _speech(self.folder)
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("Start a server (SQLite, TLS 1.3, private CA)", self.start_server),
            ("Admin: tenant, E2EE policy, users (the admin CLI)", self.administer),
            ("Register alice's, bob's and carol's devices", self.register),
            ("E2EE refused while bob has not turned it on", self.e2ee_refused),
            ("End-to-end encrypted call alice -> bob, peer to peer", self.e2ee_call),
            ("End-to-end encrypted chat", self.chat),
            ("Recording: refused under E2EE, allowed without", self.recording),
            ("What did the server see?", self.scan),
        ]
        try:
            for number, (title, body) in enumerate(steps, 1):
                if not await self.step(number, title, body) and number <= 3:
                    break  # nothing after can run without a server and devices
        finally:
            for session in self.sessions.values():
                await session.close()
            for account in self.accounts.values():
                await account.close()
            if self.server is not None:
                await asyncio.to_thread(self.server.stop)
        return all(ok for _, ok, _ in self.results) and len(self.results) == len(steps)


def _pcm(path: Path | None) -> Any:
    import numpy as np

    from enseal.media import AudioFileSource

    assert path is not None
    with AudioFileSource(path) as source:
        frames = [frame.samples for frame in source]
    return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)


def _speech(folder: Path) -> Path | None:
    """Alice's line spoken by espeak-ng (None without it: she then sends no audio)."""
    if shutil.which("espeak-ng") is None:
        return None
    path = folder / "alice-says.wav"
    subprocess.run(["espeak-ng", "-s", "170", "-w", str(path), SPOKEN], check=True, capture_output=True)  # noqa: S603,S607
    return path


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise StepFailed("timed out waiting for a message")
        await asyncio.sleep(0.05)


def demo() -> None:
    """Run the end-to-end demo: a server, three users, an E2EE call, chat, policy, and a scan."""
    console = Console(highlight=False)
    console.print(
        Panel.fit(
            "[bold]Enseal demo[/bold]: end-to-end encrypted calls and chat on MLS (RFC 9420) and SFrame (RFC 9605)\n"
            "A real server, real TLS, real MLS groups, real Opus/VP8 media; everything in a temporary directory."
        )
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="enseal-demo-") as folder:
        story = Demo(Path(folder), console)
        if story.speech is None and shutil.which("espeak-ng") is None:
            console.print("[yellow]espeak-ng is not installed: alice's call carries no speech[/yellow]")
        ok = asyncio.run(story.run())
    console.rule("[bold]Summary[/bold]")
    for title, passed, detail in story.results:
        mark = "[green]✓[/green]" if passed else "[red]✗[/red]"
        console.print(f"  {mark} {title}  [dim]{detail}[/dim]")
    console.print(f"Finished in {time.monotonic() - started:.0f} s.")
    if not ok:
        console.print("[bold red]The demo failed.[/bold red]")
        raise typer.Exit(1)
    console.print("[bold green]Every step passed.[/bold green]")
