"""This device online (ARCHITECTURE.md section 4, "Client SDK"): the asyncio session that drives
the chat engine (:mod:`~enseal.client.conversations`) and calls over HTTPS and WSS
(docs/protocol.md: "Groups and delivery", "Mailbox", "Calls").

* **Mailbox, exactly once.** Each mailbox entry is processed and the position of the last one
  processed is saved in the same profile transaction as the group state and history it changed;
  the server is acknowledged after that. On (re)connection the session asks for the entries
  after its saved position (``/v1/ws?after=N``, or ``GET /v1/mailbox?after=N``), so after a drop,
  a crash or a restart nothing is lost and nothing is processed twice.
* **Outbox.** An outgoing message is encrypted and saved in the outbox (with its
  ``client_message_id``) in the same transaction that saves the group's ratchet, then posted; the
  post is idempotent on the server, so a message whose answer was lost is posted again at the
  next start and delivered once.
* **Reconnect.** The WebSocket reconnects with capped exponential back-off; an expired token
  (close 4401) signs in again; a revoked device (4403) stops the session.
* **Several devices per user.** At start the session joins, by external commit, every chat group
  its user is on the access list of but this device is not in yet.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import pydantic
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from enseal.client.account import Account
from enseal.client.call_driver import CallEnvironment
from enseal.client.call_signalling import CallSignalling, SignalEnvelope
from enseal.client.conversations import (
    ChatEvent,
    ConversationJoined,
    Conversations,
    TextMessage,
    Undecryptable,
)
from enseal.client.errors import ConversationError, PolicyReason, ServerRefused, ServerUnreachable
from enseal.client.media import RelayConnector
from enseal.client.relay_channel import WebSocketRelayChannel
from enseal.errors import EnsealError
from enseal.mls.credential import Credential
from enseal.mls.extensions import ExternalSender
from enseal.mls.group import Group
from enseal.mls.wire import deserialize
from enseal.signalling import CallInvite, CallMessage, message_from_json, message_to_json
from enseal.wire.calls import CallBody, CallFeatureRequest, CallFeatureResult
from enseal.wire.events import EventEnvelope
from enseal.wire.groups import (
    CreateGroupRequest,
    GroupInfoBody,
    GroupList,
    HandshakeAccepted,
    HandshakeRequest,
    MessageAccepted,
    PostMessageRequest,
)
from enseal.wire.mailbox import GroupHandshakeData, GroupMessageData, GroupWelcomeData, MailboxPage, MailboxState
from enseal.wire.server_info import ServerInfo

CURSOR_RECORD: Final = "mailbox"
OUTBOX_RECORD: Final = "outbox"
MAX_OUTBOX: Final = 1_000
"""Messages waiting to be posted; sending more refuses until the server is reachable again."""
MAILBOX_PAGE: Final = 500
RECONNECT_MIN_SECONDS: Final = 0.5
RECONNECT_MAX_SECONDS: Final = 10.0
COMMIT_ATTEMPTS: Final = 3
"""Tries for a commit that loses its epoch to another member's (each after catching up)."""
MAX_WS_FRAME: Final = 4 * 1024 * 1024
CLOSE_TOKEN_EXPIRED: Final = 4401
CLOSE_REVOKED: Final = 4403

SessionEvent = ChatEvent
EventSink = Callable[[SessionEvent], None]


def _new_message_id(rng: Callable[[int], bytes]) -> str:
    return base64.urlsafe_b64encode(rng(16)).rstrip(b"=").decode("ascii")


def _split_identity(identity: str | None) -> tuple[str | None, str | None]:
    if not identity:
        return None, None
    user, _, device = identity.partition("/")
    return user, device or None


class DeviceSession:
    """One device connected to its server. Use ``async with DeviceSession(account) as s``."""

    def __init__(self, account: Account, *, on_event: EventSink | None = None) -> None:
        self.account = account
        self.api = account.api
        self.store = account.store
        self.conversations = Conversations(account.store, account.identity, account.directory, account.key_packages)
        self.signalling = CallSignalling(self._send_signal)
        self._on_event = on_event or (lambda _event: None)
        cursor = self.store.get_json(CURSOR_RECORD) or {}
        self._cursor: int = int(cursor.get("processed", 0))
        self._external_sender: ExternalSender | None = None
        self._ws_task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._closing = False
        self._caught_up = asyncio.Event()
        self._server_last_seq = 0
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self.warnings: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> DeviceSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, *, connect_events: bool = False) -> None:
        """Catch up: flush the outbox, process the mailbox, join this user's groups this device
        is not in yet; with ``connect_events`` also open the event WebSocket (calls, live chat)."""
        info = await self.api.call("GET", "/v1/server/info", ServerInfo, auth=False)
        sender = info.external_sender
        self._external_sender = ExternalSender(
            signature_key=sender.signature_key, credential=deserialize(Credential, sender.credential)
        )
        await self.account.refresh_own_devices()
        await self.account.replenish_key_packages()
        await self.sync()
        await self.join_own_groups()
        await self.flush_outbox()
        if connect_events:
            await self.connect_events()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        for task in [self._ws_task, *self._background]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, EnsealError):
                    await task

    def _emit(self, event: SessionEvent) -> None:
        self._on_event(event)

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self._emit(Undecryptable(group_id="", reason=text))

    # -- processing mailbox entries --------------------------------------------------------------

    def _process(self, seq: int, kind: str, data: dict[str, Any]) -> list[ChatEvent]:
        """Apply one mailbox entry; saves the group, history and position together."""
        if seq <= self._cursor:
            return []  # already processed (a redelivery after a reconnect)
        now = int(time.time())
        events: list[ChatEvent] = []
        with self.store.transaction():
            try:
                events = self._apply(kind, data, now)
            except (EnsealError, pydantic.ValidationError) as exc:
                group_id = str(data.get("group_id", ""))
                events = [Undecryptable(group_id=group_id, reason=f"skipped a {kind}: {exc}")]
            for event in events:
                if isinstance(event, TextMessage):
                    self.store.append_history(event.conversation, event.to_entry())
            self._cursor = seq
            self.store.put_json(CURSOR_RECORD, {"processed": seq})
        for event in events:
            self._emit(event)
        return events

    def _apply(self, kind: str, data: dict[str, Any], now: int) -> list[ChatEvent]:
        conversations = self.conversations
        if kind == "group.welcome":
            welcome = GroupWelcomeData.model_validate(data)
            if welcome.kind != "chat" or conversations.knows(welcome.group_id):
                return []
            _, joined = conversations.join(welcome.welcome, sender=welcome.sender, now=now)
            return [joined]
        if kind == "group.handshake":
            handshake = GroupHandshakeData.model_validate(data)
            if not conversations.knows(handshake.group_id):
                return []
            group = conversations.load(handshake.group_id)
            return conversations.receive(group, handshake.message, now=now)
        if kind == "group.message":
            message = GroupMessageData.model_validate(data)
            if not conversations.knows(message.group_id):
                return []
            group = conversations.load(message.group_id)
            events = conversations.receive(group, message.message, now=now)
            conversations.save(group)  # the secret tree moved on
            return events
        return []

    async def sync(self) -> int:
        """Process every mailbox entry after the saved position (REST); returns how many."""
        processed = 0
        async with self._lock:
            while True:
                page = await self.api.call(
                    "GET", "/v1/mailbox", MailboxPage, params={"after": self._cursor, "limit": MAILBOX_PAGE}
                )
                if page.dropped_upto > self._cursor:
                    self._warn(f"the server dropped {page.dropped_upto - self._cursor} unread mailbox entries")
                    self._cursor = page.dropped_upto
                for entry in page.entries:
                    self._process(entry.mailbox_seq, entry.type, entry.data)
                    processed += 1
                if page.entries or page.acked_seq < self._cursor:
                    await self.api.call("POST", "/v1/mailbox/ack", MailboxState, body={"upto": self._cursor})
                if not page.more:
                    return processed

    # -- groups -----------------------------------------------------------------------------------

    async def _post_commit(self, group: Group, commit: bytes, group_info: bytes, welcome: bytes | None) -> bool:
        """Post our pending commit: True if it won the epoch (merged), False if another did."""
        group_id = group.group_id.hex()
        try:
            await self.api.call(
                "POST",
                f"/v1/groups/{group_id}/handshake",
                HandshakeAccepted,
                body=HandshakeRequest(message=commit, group_info=group_info, welcome=welcome),
            )
        except ServerRefused as exc:
            group.discard_pending_commit()
            if exc.code in ("commit_conflict", "conflict"):
                return False
            raise
        group.merge_pending_commit()
        self.conversations.save(group)
        return True

    async def _commit_pending(self, group_id: str) -> Group:
        """The group, after committing the proposals it holds (the server's Removes): RFC 9420
        section 12.4, a member commits observed proposals before sending application data."""
        for _ in range(COMMIT_ATTEMPTS):
            group = self.conversations.load(group_id)
            if not group.pending_proposals:
                return group
            output = group.commit(rng=self.account.rng, now=int(time.time()))
            if await self._post_commit(group, output.commit, output.group_info, output.welcome):
                return group
            await self.sync()
        raise ConversationError("could not commit the group's pending changes (other members kept committing)")

    async def create_conversation(self, users: Iterable[str]) -> Group:
        """A new chat group with every device of ``users`` and this user's other devices."""
        me = self.account.address
        everyone = sorted(set(users) | {me})
        assert self._external_sender is not None, "start() the session first"
        group = self.conversations.create(
            external_sender=self._external_sender, now=int(time.time()), rng=self.account.rng
        )
        key_packages: list[bytes] = []
        for user in everyone:
            claimed = await self.account.claim_key_packages(user)
            if user != me and not claimed:
                raise ConversationError(f"{user} has no device that can receive messages yet")
            key_packages += [c.key_package for c in claimed]
        try:
            await self.api.request(
                "POST",
                "/v1/groups",
                body=CreateGroupRequest(kind="chat", group_info=group.group_info(), users=everyone, one_per_users=True),
            )
        except ServerRefused as exc:
            if exc.code != "already_exists":
                raise
            # The other side created this conversation at the same moment: use theirs (its Welcome
            # is on its way; if not, this user is on its access list and joins it directly).
            return await self._existing_conversation(set(users))
        output = self.conversations.add_devices(group, key_packages, now=int(time.time()), rng=self.account.rng)
        if not await self._post_commit(group, output.commit, output.group_info, output.welcome):
            raise ConversationError("the new conversation's first commit was refused")
        return group

    async def _existing_conversation(self, users: set[str]) -> Group:
        await self.sync()
        group_id = self.conversations.find(users)
        if group_id is None:
            await self.join_own_groups()
            group_id = self.conversations.find(users)
        if group_id is None:
            raise ConversationError("the conversation exists on the server but this device cannot join it yet")
        return self.conversations.load(group_id)

    async def join_own_groups(self) -> list[ConversationJoined]:
        """Join, by external commit, the chat groups this user is in but this device is not."""
        listed = await self.api.call("GET", "/v1/groups", GroupList)
        joined = []
        for summary in listed.groups:
            if summary.kind != "chat" or summary.member or self.conversations.knows(summary.group_id):
                continue
            for _ in range(COMMIT_ATTEMPTS):
                info = await self.api.call("GET", f"/v1/groups/{summary.group_id}/group-info", GroupInfoBody)
                identity = self.account.identity
                group, commit = Group.join_external(
                    info.group_info,
                    signer=identity.signing_key,
                    credential=identity.credential,
                    rng=self.account.rng,
                    now=int(time.time()),
                    config=self.conversations.config,
                )
                try:
                    await self.api.call(
                        "POST",
                        f"/v1/groups/{summary.group_id}/handshake",
                        HandshakeAccepted,
                        body=HandshakeRequest(message=commit, group_info=group.group_info()),
                    )
                except ServerRefused as exc:
                    if exc.code in ("commit_conflict", "conflict"):
                        continue
                    raise
                self.conversations.save(group)
                event = ConversationJoined(
                    conversation=self.conversations.name_of(summary.group_id),
                    group_id=summary.group_id,
                    by=identity.address,
                )
                joined.append(event)
                self._emit(event)
                break
        return joined

    # -- chat ---------------------------------------------------------------------------------------

    async def send_text(self, users: Iterable[str], text: str) -> TextMessage:
        """Send ``text`` to the conversation with exactly ``users`` (creating it if needed)."""
        users = set(users)
        await self.sync()
        group_id = self.conversations.find(users)
        if group_id is None:
            group = await self.create_conversation(users)
            group_id = group.group_id.hex()
        group = await self._commit_pending(group_id)
        outbox = self.store.get_json(OUTBOX_RECORD) or []
        if len(outbox) >= MAX_OUTBOX:
            raise ConversationError(f"{MAX_OUTBOX} messages are waiting to be sent: reconnect first")
        message_id = _new_message_id(self.account.rng)
        ciphertext, message = self.conversations.encrypt_text(group, text, message_id=message_id, rng=self.account.rng)
        with self.store.transaction():
            self.conversations.save(group)
            outbox.append(
                {
                    "group_id": group_id,
                    "id": message_id,
                    "message": base64.b64encode(ciphertext).decode(),
                    "conversation": message.conversation,
                    "entry": message.to_entry(),
                }
            )
            self.store.put_json(OUTBOX_RECORD, outbox)
        await self.flush_outbox()
        return message

    async def flush_outbox(self) -> int:
        """Post what the outbox holds (idempotent on the server); returns how many were posted."""
        posted = 0
        while True:
            outbox = self.store.get_json(OUTBOX_RECORD) or []
            if not outbox:
                return posted
            item = outbox[0]
            try:
                await self.api.call(
                    "POST",
                    f"/v1/groups/{item['group_id']}/messages",
                    MessageAccepted,
                    body=PostMessageRequest(client_message_id=item["id"], message=base64.b64decode(item["message"])),
                )
            except ServerRefused as exc:
                if exc.status >= 500 or exc.code == "rate_limited":
                    raise
                self._warn(f"a message to {item['conversation']} was refused by the server: {exc}")
                item["entry"]["failed"] = str(exc)
            with self.store.transaction():
                self.store.append_history(item["conversation"], item["entry"])
                self.store.put_json(OUTBOX_RECORD, outbox[1:])
            posted += 1

    def history(self, conversation: str, *, limit: int | None = None) -> list[TextMessage]:
        return [TextMessage.from_entry(conversation, e) for e in self.store.history(conversation, limit=limit)]

    # -- the event WebSocket ------------------------------------------------------------------------

    async def connect_events(self, *, timeout: float = 15.0) -> None:
        """Open the event WebSocket (kept open, reconnecting) and wait until the mailbox caught up."""
        if self._ws_task is None:
            self._ws_task = asyncio.create_task(self._run_events())
        await asyncio.wait_for(self._caught_up.wait(), timeout)

    async def _run_events(self) -> None:
        delay = RECONNECT_MIN_SECONDS
        renew = False
        while not self._closing:
            try:
                token = await self.api.access_token(renew=renew)
                renew = False
                url = f"{self.api.ws_base}/v1/ws?after={self._cursor}"
                async with connect(
                    url,
                    ssl=self.api.tls,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    max_size=MAX_WS_FRAME,
                    proxy=None,
                ) as websocket:
                    self._ws = websocket
                    delay = RECONNECT_MIN_SECONDS
                    async for frame in websocket:
                        if isinstance(frame, str):
                            await self._on_frame(websocket, frame)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                if code == CLOSE_REVOKED:
                    self._warn("this device was revoked: the session stops")
                    return
                renew = code == CLOSE_TOKEN_EXPIRED
            except InvalidStatus as exc:
                renew = exc.response.status_code in (401, 403)
            except (OSError, InvalidHandshake, TimeoutError, ServerUnreachable):
                pass
            finally:
                self._ws = None
                self._caught_up.clear()
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _on_frame(self, websocket: ClientConnection, frame: str) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(frame)
        except pydantic.ValidationError:
            return  # not an event: ignored, as unknown types are
        kind, data = envelope.type, envelope.data
        if kind == "hello":
            mailbox = data.get("mailbox") or {}
            self._server_last_seq = int(mailbox.get("last_seq", 0))
            self._check_caught_up()
        elif envelope.mailbox_seq is not None:
            async with self._lock:
                self._process(envelope.mailbox_seq, kind, data)
            with contextlib.suppress(ConnectionClosed):
                await websocket.send(json.dumps({"v": 1, "type": "ack", "ref": str(self._cursor)}))
            self._server_last_seq = max(self._server_last_seq, envelope.mailbox_seq)
            self._check_caught_up()
        elif kind == "call.recorder":
            self.signalling.recorder_notice(str(data.get("call_id", "")), bool(data.get("present")))
        elif kind.startswith("call.") and "message" in data:
            self._on_call_event(data)
        elif kind == "key_packages.low":
            self._spawn(self.account.replenish_key_packages())
        elif kind == "mailbox.gap":
            self._warn(f"the server dropped unread mailbox entries up to {data.get('dropped_upto')}")

    def _check_caught_up(self) -> None:
        if self._cursor >= self._server_last_seq:
            self._caught_up.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _on_call_event(self, data: dict[str, Any]) -> None:
        try:
            message = message_from_json(data["message"])
        except EnsealError:
            return
        user, device = _split_identity(data.get("sender"))
        call = data.get("call") or {}
        reasons = tuple(
            PolicyReason(code=str(r.get("code")), message=str(r.get("message")), side=r.get("side"), user=r.get("user"))
            for r in call.get("reasons") or ()
            if isinstance(r, dict)
        )
        self.signalling.deliver(
            SignalEnvelope(message=message, sender_user=user, sender_device=device, reasons=reasons)
        )

    # -- calls ----------------------------------------------------------------------------------------

    async def _send_signal(self, message: CallMessage) -> None:
        body = message_to_json(message)
        if isinstance(message, CallInvite):
            await self.api.call("POST", "/v1/calls", CallBody, body=body)
        else:
            await self.api.call("POST", f"/v1/calls/{message.call_id}/signal", CallBody, body=body)

    def relay_connector(self, call_id: str) -> RelayConnector:
        async def open_relay() -> WebSocketRelayChannel:
            return await WebSocketRelayChannel.open(self.api, call_id)

        return open_relay

    async def e2ee_capable(self) -> bool:
        """The device supports E2EE and the user turned end-to-end encrypted calls on."""
        if not self.account.identity.supports_e2ee:
            return False
        return (await self.account.my_policy()).e2ee_calls_opted_in

    def call_environment(self) -> CallEnvironment:
        return CallEnvironment(
            identity=self.account.identity,
            directory=self.account.directory,
            signalling=self.signalling,
            rng=self.account.rng,
            relay=self.relay_connector,
            e2ee_capable=self.e2ee_capable,
        )

    async def request_feature(self, call_id: str, feature: str) -> CallFeatureResult:
        """Ask the service for a call feature (recording ...); 403 policy_denied under E2EE."""
        return await self.api.call(
            "POST",
            f"/v1/calls/{call_id}/features",
            CallFeatureResult,
            body=CallFeatureRequest.model_validate({"feature": feature}),
        )
