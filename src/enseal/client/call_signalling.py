"""Call signalling as this device's session sees it: the messages of
:mod:`enseal.signalling` with what the server stamps on them (who sent it, the policy reasons),
routed per call.

The session hands every signalling message it receives to :meth:`CallSignalling.deliver`. An
invite opens a queue for its call (so nothing that follows it is lost before the call is
answered) and goes to :meth:`CallSignalling.next_invite`; every other message goes to its call's
queue, or is dropped (and counted) if this device has no such call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from enseal.client.errors import PolicyReason
from enseal.signalling import CallInvite, CallMessage

MAX_OPEN_CALLS: Final = 16
"""Calls (ringing or active) one device tracks at once; more invites are dropped."""
MAX_QUEUED_MESSAGES: Final = 256
"""Signalling messages waiting for one call; beyond this the call's messages are dropped."""
MAX_WAITING_INVITES: Final = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalEnvelope:
    """A signalling message with what the server said about it."""

    message: CallMessage
    sender_user: str | None = None
    """The user whose device sent it (None: the server itself)."""
    sender_device: str | None = None
    reasons: tuple[PolicyReason, ...] = ()
    """Why the call has the encryption it has (on invites, ringing and policy refusals)."""


SendSignal = Callable[[CallMessage], Awaitable[None]]


class CallSignalling:
    """Routes signalling between the session and the calls of this device."""

    def __init__(self, send: SendSignal) -> None:
        self._send = send
        self._calls: dict[str, asyncio.Queue[SignalEnvelope]] = {}
        self._invites: asyncio.Queue[SignalEnvelope] = asyncio.Queue(MAX_WAITING_INVITES)
        self._recorder_watchers: dict[str, Callable[[bool], None]] = {}
        self._recorders: dict[str, bool] = {}
        self.dropped = 0

    def recorder_notice(self, call_id: str, present: bool) -> None:
        """The server says a recorder joined (or left) ``call_id`` (event ``call.recorder``)."""
        if call_id not in self._calls:
            return
        self._recorders[call_id] = present
        watcher = self._recorder_watchers.get(call_id)
        if watcher is not None:
            watcher(present)

    def watch_recorder(self, call_id: str, watcher: Callable[[bool], None]) -> None:
        """Call ``watcher(present)`` on each recorder notice of ``call_id`` (now, if one came)."""
        self._recorder_watchers[call_id] = watcher
        if call_id in self._recorders:
            watcher(self._recorders[call_id])

    async def send(self, message: CallMessage) -> None:
        await self._send(message)

    def open(self, call_id: str) -> asyncio.Queue[SignalEnvelope]:
        """The queue of ``call_id`` (created for an outgoing call before its invite is sent)."""
        queue = self._calls.get(call_id)
        if queue is None:
            if len(self._calls) >= MAX_OPEN_CALLS:
                raise asyncio.QueueFull(f"more than {MAX_OPEN_CALLS} calls at once")
            queue = self._calls[call_id] = asyncio.Queue(MAX_QUEUED_MESSAGES)
        return queue

    def close(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        self._recorder_watchers.pop(call_id, None)
        self._recorders.pop(call_id, None)

    def deliver(self, envelope: SignalEnvelope) -> None:
        call_id = envelope.message.call_id
        if isinstance(envelope.message, CallInvite) and call_id not in self._calls:
            try:
                self.open(call_id)
                self._invites.put_nowait(envelope)
            except asyncio.QueueFull:
                self.close(call_id)
                self.dropped += 1
            return
        queue = self._calls.get(call_id)
        if queue is None or queue.full():
            self.dropped += 1
            return
        queue.put_nowait(envelope)

    async def next_invite(self) -> SignalEnvelope:
        """The next call that rings on this device."""
        return await self._invites.get()
