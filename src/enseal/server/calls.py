"""1:1 call signalling routing (docs/protocol.md, "Calls"; decision record 0807).

The server tracks each call with ``enseal.signalling``'s transition table from the caller's side
(what the caller's device sends is local, what the callee's devices send and what the server
decides -- busy, timeouts -- is remote), stored in the ``calls`` table and changed only under the
call's row lock, so first-accept-wins and busy hold on every node. It decides the call's
encryption with ``enseal.policy.decide_call`` and stamps it on what it forwards; for a standard
call it generates the SFrame base key, keeps it sealed and hands it to the two devices; for an
E2EE call it never has one.

Every function returns after the transaction committed and then sends the events (best effort,
over the fan-out): each is ``data = {call_id, message, sender, call}``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from enseal.errors import EnsealError
from enseal.policy import Encryption, Feature, ServiceRole, decide_call, decide_feature, decide_service_participant
from enseal.server.authentication_service import identity_of
from enseal.server.errors import Forbidden, InvalidGroupMessage, reason_bodies
from enseal.server.fanout import Notice
from enseal.server.parties import party_of
from enseal.server.principals import DevicePrincipal
from enseal.server.recorder import MEDIA_KEY_PURPOSE, media_key_name
from enseal.server.state import ServerState
from enseal.signalling import (
    CALL_TRANSITIONS,
    SERVER_ONLY_END_REASONS,
    SERVER_ONLY_MESSAGES,
    CallAccept,
    CallCandidates,
    CallConnected,
    CallEncryption,
    CallEnd,
    CallEvent,
    CallInvite,
    CallMediaKey,
    CallMessage,
    CallRinging,
    CallState,
    CallWelcome,
    EndReason,
    MalformedSignallingMessage,
    message_from_json,
    message_to_json,
)
from enseal.signalling.messages import MEDIA_KEY_SIZES
from enseal.storage import CallRecord, Conflict, NotFound, Transaction
from enseal.wire import EventType, UserAddress
from enseal.wire.calls import CallBody, CallFeatureResult

log = logging.getLogger("enseal.server.calls")

MEDIA_KEY_SIZE: Final = min(MEDIA_KEY_SIZES)
"""The SFrame base key of a standard call: AES_128_GCM_SHA256_128's key size."""
CALL_HISTORY: Final = timedelta(days=7)
"""Ended calls are kept this long (metadata only), then deleted."""


@dataclass(slots=True)
class Outbox:
    """Events to send once the transaction committed."""

    events: list[tuple[list[str], str, dict[str, Any]]] = field(default_factory=list)

    def add(self, devices: Sequence[str], message: CallMessage, *, sender: str | None, call: CallBody) -> None:
        if devices:
            data = {
                "call_id": message.call_id,
                "message": message_to_json(message),
                "sender": sender,
                "call": call.model_dump(mode="json"),
            }
            self.events.append((list(devices), _event_type(message), data))

    def notice(self, devices: Sequence[str], type_: str, data: dict[str, Any]) -> None:
        if devices:
            self.events.append((list(devices), type_, data))

    async def send(self, state: ServerState) -> None:
        for devices, type_, data in self.events:
            await state.fanout.publish(devices, Notice(type=type_, data=data))


def _event_type(message: CallMessage) -> str:
    return {
        CallInvite: EventType.CALL_INVITE,
        CallRinging: EventType.CALL_RINGING,
        CallAccept: EventType.CALL_ACCEPT,
        CallWelcome: EventType.CALL_WELCOME,
        CallMediaKey: EventType.CALL_MEDIA_KEY,
        CallCandidates: EventType.CALL_CANDIDATES,
        CallConnected: EventType.CALL_CONNECTED,
        CallEnd: EventType.CALL_END,
    }[type(message)].value


def call_body(call: CallRecord) -> CallBody:
    return CallBody.model_validate(
        {
            "call_id": call.call_id,
            "state": call.state,
            "encryption": call.encryption,
            "reasons": json.loads(call.reasons),
            "caller": call.caller.address,
            "caller_device_id": call.caller_device_id,
            "callee": call.callee.address,
            "ringing_device_ids": list(call.rung_devices),
            "answered_device_id": call.answered_device_id,
            "end_reason": call.end_reason,
            "recording": call.recording_id is not None and call.state != CallState.ENDED.value,
            "recording_id": call.recording_id,
            "created_at": call.created_at,
            "ring_deadline": call.deadline if call.state == CallState.OUTGOING_RINGING.value else None,
        }
    )


def decode_signal(payload: Any) -> CallMessage:
    try:
        return message_from_json(payload)
    except MalformedSignallingMessage as exc:
        raise InvalidGroupMessage(exc.reason, exc.detail) from exc


def _next_state(call: CallRecord, event: CallEvent) -> CallState:
    """The move ``enseal.signalling.CALL_TRANSITIONS`` allows, or 409 ``conflict``."""
    after = CALL_TRANSITIONS.get((CallState(call.state), event))
    if after is None:
        detail = f"{event.label} in state {call.state}" + (f" ({call.end_reason})" if call.end_reason else "")
        raise Conflict("the call's state does not allow this message", detail)
    return after


# -- placing a call ----------------------------------------------------------------------------------


async def place_call(state: ServerState, principal: DevicePrincipal, payload: Any) -> CallBody:
    invite = decode_signal(payload)
    if not isinstance(invite, CallInvite):
        raise InvalidGroupMessage("POST /v1/calls takes a call.invite; other messages go to /signal")
    if invite.encryption is not None:
        raise InvalidGroupMessage("the server decides a call's encryption; a device sends none")
    address = UserAddress.parse(invite.callee)
    now = state.clock()
    outbox = Outbox()
    caller_device = principal.device
    async with state.store.transaction() as tx:
        callee = await tx.users.get(address.tenant, address.name)
        if callee.id == principal.user.id:
            raise Forbidden("a call is between two users")
        await tx.calls.lock_users([principal.user.id, callee.id])
        caller = await tx.users.get_by_id(principal.user.id)
        devices = await tx.devices.list_for_user(callee, include_revoked=False)
        caller_party = await party_of(
            tx, caller, device_supports_e2ee=caller_device.supports_e2ee and invite.e2ee_capable
        )
        callee_party = await party_of(tx, callee, device_supports_e2ee=any(d.supports_e2ee for d in devices))
        decision = decide_call(caller=caller_party, callee=callee_party)
        e2ee = decision.encryption is Encryption.END_TO_END
        rung = [d.device_id for d in devices if d.supports_e2ee or not e2ee]
        busy = await tx.calls.occupying([caller.id, callee.id], now=now)
        reasons = json.dumps([r.model_dump(mode="json") for r in reason_bodies(decision.reasons)])
        end_reason: EndReason | None = None
        if busy:
            end_reason = EndReason.BUSY
        elif not rung:
            end_reason = EndReason.FAILED
        call = await tx.calls.create(
            call_id=invite.call_id,
            caller=caller,
            caller_device_id=caller_device.device_id,
            callee=callee,
            state=(CallState.ENDED if end_reason else CallState.OUTGOING_RINGING).value,
            encryption=decision.encryption.value,
            reasons=reasons,
            rung_devices=[] if end_reason else rung,
            deadline=None if end_reason else now + timedelta(seconds=state.config.ring_timeout_seconds),
            end_reason=end_reason.value if end_reason else None,
            now=now,
        )
    body = call_body(call)
    encryption = CallEncryption(decision.encryption.value)
    if end_reason is not None:
        outbox.add([caller_device.device_id], CallEnd(call_id=call.call_id, reason=end_reason), sender=None, call=body)
    else:
        outbox.add(
            [caller_device.device_id], CallRinging(call_id=call.call_id, encryption=encryption), sender=None, call=body
        )
        forwarded = dataclasses.replace(invite, encryption=encryption)
        outbox.add(list(call.rung_devices), forwarded, sender=identity_of(caller_device), call=body)
    await outbox.send(state)
    log.info("call %s placed: %s, %s", call.call_id[:8], call.encryption, call.state)
    return body


# -- messages of a call -------------------------------------------------------------------------------


def _role(call: CallRecord, device_id: str) -> str:
    if device_id == call.caller_device_id:
        return "caller"
    if device_id == call.answered_device_id:
        return "answerer"
    if device_id in call.rung_devices:
        return "rung"
    raise NotFound("no such call", call.call_id)


async def load_call(tx: Transaction, call_id: str, device_id: str, *, for_update: bool = False) -> CallRecord:
    """The call if ``device_id`` placed it, rang for it or answered it; 404 otherwise."""
    call = await tx.calls.get(call_id, for_update=for_update)
    _role(call, device_id)
    return call


async def signal(state: ServerState, principal: DevicePrincipal, call_id: str, payload: Any) -> CallBody:
    message = decode_signal(payload)
    if message.call_id != call_id:
        raise InvalidGroupMessage("the message is for another call", message.call_id)
    if isinstance(message, SERVER_ONLY_MESSAGES):
        raise Forbidden("only the server sends this message", type(message).__name__)
    if isinstance(message, CallInvite):
        raise InvalidGroupMessage("a call.invite places a new call: POST /v1/calls")
    if isinstance(message, CallEnd) and message.reason in SERVER_ONLY_END_REASONS:
        raise Forbidden("only the server ends a call for this reason", message.reason.value)
    device = principal.device
    await expire_call_if_due(state, call_id)
    outbox = Outbox()
    ended = False
    async with state.store.transaction() as tx:
        call = await load_call(tx, call_id, device.device_id, for_update=True)
        role = _role(call, device.device_id)
        now = state.clock()
        sender = identity_of(device)
        match message:
            case CallAccept():
                call = await _accept(state, tx, call, role, message, device.device_id, outbox, now)
            case CallWelcome():
                if role != "caller" or call.encryption != Encryption.END_TO_END.value:
                    raise Forbidden("only the caller of an end-to-end encrypted call sends a Welcome")
                _require_connected_state(call)
                outbox.add(_devices(call.answered_device_id), message, sender=sender, call=call_body(call))
            case CallCandidates():
                _require_party(role)
                _require_connected_state(call)
                outbox.add(_other_side(call, role), message, sender=sender, call=call_body(call))
            case CallConnected():
                _require_party(role)
                if role == "caller":
                    after = _next_state(call, CallEvent.MEDIA_UP)
                    call = await tx.calls.update(call_id, now=now, state=after.value, clear_deadline=True)
                else:
                    _next_state(call, CallEvent.CONNECTED_RECEIVED)
                outbox.add(_other_side(call, role), message, sender=sender, call=call_body(call))
            case CallEnd():
                call = await _end_by_device(tx, call, role, message, device.device_id, outbox, now)
                ended = True
    if ended:
        await _after_end(state, call)
    await outbox.send(state)
    return call_body(call)


def _devices(*device_ids: str | None) -> list[str]:
    return [d for d in device_ids if d is not None]


def _require_party(role: str) -> None:
    if role == "rung":
        raise Conflict("this device did not answer the call")


def _require_connected_state(call: CallRecord) -> None:
    if call.state not in (CallState.CONNECTING.value, CallState.ACTIVE.value):
        raise Conflict("the call is not connecting or active", call.state)


def _other_side(call: CallRecord, role: str) -> list[str]:
    return _devices(call.answered_device_id) if role == "caller" else [call.caller_device_id]


async def _accept(
    state: ServerState,
    tx: Transaction,
    call: CallRecord,
    role: str,
    accept: CallAccept,
    device_id: str,
    outbox: Outbox,
    now: datetime,
) -> CallRecord:
    if role == "caller":
        raise Conflict("the caller does not accept its own call")
    if role == "answerer" or call.answered_device_id is not None:
        raise Conflict("the call was already answered", "answered_elsewhere")
    after = _next_state(call, CallEvent.ACCEPT_RECEIVED)
    e2ee = call.encryption == Encryption.END_TO_END.value
    if e2ee and accept.key_package is None:
        raise InvalidGroupMessage("accepting an end-to-end encrypted call takes the device's KeyPackage")
    if not e2ee and accept.key_package is not None:
        raise InvalidGroupMessage("a standard-encryption call is accepted without a KeyPackage")
    call = await tx.calls.update(
        call.call_id,
        now=now,
        state=after.value,
        answered_device_id=device_id,
        deadline=now + timedelta(seconds=state.config.connect_timeout_seconds),
    )
    body = call_body(call)
    sender = identity_of(await tx.devices.get(device_id))
    outbox.add([call.caller_device_id], accept, sender=sender, call=body)
    others = [d for d in call.rung_devices if d != device_id]
    outbox.add(others, CallEnd(call_id=call.call_id, reason=EndReason.ANSWERED_ELSEWHERE), sender=None, call=body)
    if not e2ee:
        key = state.random_bytes(MEDIA_KEY_SIZE)
        await tx.sealed.seal(purpose=MEDIA_KEY_PURPOSE, plaintext=key, now=now, name=media_key_name(call.call_id))
        outbox.add(
            [call.caller_device_id, device_id],
            CallMediaKey(call_id=call.call_id, media_key=key),
            sender=None,
            call=body,
        )
    return call


_CALLER_ENDS: Final = {
    EndReason.CANCELLED: CallEvent.CANCEL,
    EndReason.HUNG_UP: CallEvent.HANG_UP,
    EndReason.FAILED: CallEvent.MEDIA_FAILED,
    EndReason.TIMED_OUT: CallEvent.RING_TIMEOUT,
}
_RUNG_ENDS: Final = {EndReason.DECLINED: CallEvent.DECLINED_RECEIVED, EndReason.BUSY: CallEvent.BUSY_RECEIVED}
_ANSWERER_ENDS: Final = {EndReason.HUNG_UP: CallEvent.HUNG_UP_RECEIVED, EndReason.FAILED: CallEvent.FAILED_RECEIVED}


async def _end_by_device(
    tx: Transaction, call: CallRecord, role: str, end: CallEnd, device_id: str, outbox: Outbox, now: datetime
) -> CallRecord:
    table = {"caller": _CALLER_ENDS, "rung": _RUNG_ENDS, "answerer": _ANSWERER_ENDS}[role]
    event = table.get(end.reason)
    if event is None:
        raise Conflict(f"a {role} device does not end a call as {end.reason.value}")
    _next_state(call, event)
    call = await tx.calls.update(call.call_id, now=now, state=CallState.ENDED.value, end_reason=end.reason.value)
    body = call_body(call)
    sender = identity_of(await tx.devices.get(device_id))
    if role == "caller":
        recipients = _devices(call.answered_device_id) if call.answered_device_id else list(call.rung_devices)
    else:
        recipients = [call.caller_device_id] + [d for d in call.rung_devices if d != device_id]
    outbox.add(recipients, end, sender=sender, call=body)
    return call


async def _expire_if_due(state: ServerState, tx: Transaction, call: CallRecord, outbox: Outbox) -> CallRecord:
    """Apply the ring or connect timeout if its deadline passed (the row is locked)."""
    now = state.clock()
    if call.deadline is None or call.deadline > now:
        return call
    if call.state == CallState.OUTGOING_RINGING.value:
        reason, event = EndReason.TIMED_OUT, CallEvent.TIMED_OUT_RECEIVED
        recipients = [call.caller_device_id, *call.rung_devices]
    elif call.state == CallState.CONNECTING.value:
        reason, event = EndReason.FAILED, CallEvent.FAILED_RECEIVED
        recipients = _devices(call.caller_device_id, call.answered_device_id)
    else:
        return call
    _next_state(call, event)
    call = await tx.calls.update(call.call_id, now=now, state=CallState.ENDED.value, end_reason=reason.value)
    outbox.add(recipients, CallEnd(call_id=call.call_id, reason=reason), sender=None, call=call_body(call))
    return call


async def _after_end(state: ServerState, call: CallRecord) -> None:
    """The call ended: close its relay, finish its recording, forget its media key."""
    await state.relay.end_call(call.call_id)
    async with state.store.transaction() as tx:
        if call.recording_id is not None:
            await tx.recordings.finish(call.recording_id, now=state.clock())
        await tx.sealed.delete_named(media_key_name(call.call_id))


async def expire_call_if_due(state: ServerState, call_id: str) -> bool:
    """End the call (its own transaction) if its ring or connect timeout passed; whether it did."""
    outbox = Outbox()
    async with state.store.transaction() as tx:
        try:
            call = await tx.calls.get(call_id, for_update=True)
        except NotFound:
            return False
        call = await _expire_if_due(state, tx, call, outbox)
    if not outbox.events:
        return False
    await _after_end(state, call)
    await outbox.send(state)
    return True


async def expire_due_calls(state: ServerState) -> int:
    """End every call whose ring or connect timeout passed; returns how many ended."""
    async with state.store.transaction() as tx:
        due = await tx.calls.due(state.clock())
    return sum([await expire_call_if_due(state, call_id) for call_id in due])


async def end_calls_of_device(state: ServerState, device_id: str) -> None:
    """A revoked device's calls end: as cancelled or hung up by it (a device that only rang is
    left out: the call rings on the callee's other devices until it times out)."""
    async with state.store.transaction() as tx:
        call_ids = await tx.calls.of_device(device_id)
    for call_id in call_ids:
        outbox = Outbox()
        call: CallRecord | None = None
        try:
            async with state.store.transaction() as tx:
                call = await tx.calls.get(call_id, for_update=True)
                role = _role(call, device_id)
                if role == "rung":
                    continue
                reason = (
                    EndReason.CANCELLED
                    if role == "caller" and call.state == CallState.OUTGOING_RINGING.value
                    else EndReason.HUNG_UP
                )
                end = CallEnd(call_id=call_id, reason=reason)
                call = await _end_by_device(tx, call, role, end, device_id, outbox, state.clock())
        except EnsealError as exc:
            log.info("could not end call %s of a revoked device: %s", call_id[:8], exc)
            continue
        await _after_end(state, call)
        await outbox.send(state)


# -- features ---------------------------------------------------------------------------------------


async def request_feature(
    state: ServerState, principal: DevicePrincipal, call_id: str, feature_name: str
) -> CallFeatureResult:
    """``enseal.policy.decide_feature``: refused (403 policy_denied) under E2EE; a recording of a
    standard call starts the recorder, visible to both sides."""
    feature = Feature(feature_name)
    await expire_call_if_due(state, call_id)
    outbox = Outbox()
    async with state.store.transaction() as tx:
        call = await load_call(tx, call_id, principal.device.device_id, for_update=True)
        _require_party(_role(call, principal.device.device_id))
        encryption = Encryption(call.encryption)
        decision = decide_feature(feature, encryption=encryption)
        decision.require()
        if feature is Feature.RECORDING and call.recording_id is None:
            _require_connected_state(call)
            decide_service_participant(ServiceRole.RECORDER, encryption=encryption).require()
            recording_id = state.new_id()
            await tx.recordings.create(recording_id=recording_id, call_id=call_id, now=state.clock())
            call = await tx.calls.update(call_id, now=state.clock(), recording_id=recording_id)
            body = call_body(call)
            outbox.notice(
                _devices(call.caller_device_id, call.answered_device_id),
                EventType.CALL_RECORDER.value,
                {
                    "call_id": call_id,
                    "present": True,
                    "recording_id": recording_id,
                    "call": body.model_dump(mode="json"),
                },
            )
    if call.recording_id is not None and outbox.events:
        await state.relay.start_recording(call_id, call.recording_id)
    await outbox.send(state)
    return CallFeatureResult(
        call_id=call_id,
        feature=feature_name,  # type: ignore[arg-type]
        encryption=call.encryption,  # type: ignore[arg-type]
        allowed=decision.allowed,
        service_role=None if decision.service_role is None else decision.service_role.value,
        reasons=reason_bodies(decision.reasons),
        recording_id=call.recording_id if feature is Feature.RECORDING else None,
    )
