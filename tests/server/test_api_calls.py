"""Call signalling routing in-process: ring every device of the callee, first accept wins,
decline, cancel, busy, hang up, ring timeout; the policy decision with its reasons on both
sides; the service's media key for standard calls only; features refused under E2EE."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest

from enseal.server.calls import expire_due_calls
from enseal.server.fanout import Subscription
from enseal.server.recorder import media_key_name
from enseal.signalling import (
    Call,
    CallAccept,
    CallConnected,
    CallEnd,
    CallWelcome,
    EndReason,
    MediaOffer,
    message_from_json,
    message_to_json,
)
from enseal.storage import NotFound

from .actors import DeviceActor, error_code, expect
from .conftest import Api

pytestmark = pytest.mark.anyio

E2EE_POLICY = {"name": "E2EE", "calls": "user_override", "meetings": "user_override"}


class Listener:
    """What the fan-out delivers to one device (as its WebSocket would get it)."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    @classmethod
    async def of(cls, api: Api, device: DeviceActor) -> Listener:
        return cls(await api.state.fanout.subscribe(device.device_id))

    async def events(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while True:
            try:
                notice = await asyncio.wait_for(self.subscription.next(), 0.05)
            except TimeoutError:
                return out
            assert notice is not None
            out.append((notice.type, notice.data))

    async def types(self) -> list[str]:
        return [type_ for type_, _ in await self.events()]


async def _allow_e2ee(api: Api, tenant: str = "acme") -> None:
    await api.admin("POST", f"/v1/tenants/{tenant}/policies", 201, json=E2EE_POLICY)
    await api.admin(
        "PUT", f"/v1/tenants/{tenant}/policy-assignments", 200, json={"target": {"kind": "tenant"}, "policy": "E2EE"}
    )


async def _opt_in(api: Api, *devices: DeviceActor) -> None:
    for device in devices:
        expect(await api.client.put("/v1/me/settings", json={"e2ee_calls": True}, headers=device.headers), 200)


def _invite(callee: str, *, e2ee_capable: bool = True) -> tuple[Call, dict[str, Any]]:
    call, invite = Call.place(
        callee=callee, media=MediaOffer(), e2ee_capable=e2ee_capable, now=0.0, rng=random.Random().randbytes
    )
    return call, message_to_json(invite)


async def _place(
    api: Api, caller: DeviceActor, callee: str, status: int = 201, **kwargs: Any
) -> tuple[Call, dict[str, Any]]:
    call, invite = _invite(callee, **kwargs)
    body = expect(await api.client.post("/v1/calls", json=invite, headers=caller.headers), status)
    return call, body


async def _signal(api: Api, device: DeviceActor, message: Any, status: int = 200) -> Any:
    response = await api.client.post(
        f"/v1/calls/{message.call_id}/signal", json=message_to_json(message), headers=device.headers
    )
    return expect(response, status) if status == 200 else error_code(response, status)


async def test_standard_call_rings_every_device_first_accept_wins_and_the_service_keys_it(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob_phone = await api.device("bob@acme")
    code = (await api.admin("POST", "/v1/tenants/acme/users/bob/enrollment-codes", 201))["enrollment_code"]
    bob_laptop = await api.device("bob@acme", code=code)
    listen = {
        name: await Listener.of(api, d) for name, d in (("alice", alice), ("phone", bob_phone), ("laptop", bob_laptop))
    }
    call, body = await _place(api, alice, "bob@acme")
    assert body["state"] == "outgoing ringing" and body["encryption"] == "standard"
    assert "calls_policy_disabled" in {r["code"] for r in body["reasons"]}
    assert sorted(body["ringing_device_ids"]) == sorted([bob_phone.device_id, bob_laptop.device_id])
    alice_events = await listen["alice"].events()
    assert [t for t, _ in alice_events] == ["call.ringing"]
    assert alice_events[0][1]["call"]["reasons"] == body["reasons"]
    for name in ("phone", "laptop"):
        ((type_, data),) = await listen[name].events()
        invite = message_from_json(data["message"])
        assert type_ == "call.invite" and invite.encryption is not None and invite.encryption.value == "standard"
        assert data["sender"] == alice.identity.decode()
    accept = CallAccept(call_id=call.call_id, media=MediaOffer())
    answered = await _signal(api, bob_laptop, accept)
    assert answered["state"] == "connecting" and answered["answered_device_id"] == bob_laptop.device_id
    assert await _signal(api, bob_phone, accept, 409) == "conflict"
    phone_events = await listen["phone"].events()
    assert [(t, d["message"]["reason"]) for t, d in phone_events] == [("call.end", "answered_elsewhere")]
    keys = {}
    for name in ("alice", "laptop"):
        events = dict(await listen[name].events())
        keys[name] = events["call.media_key"]["message"]["media_key"]
    assert keys["alice"] == keys["laptop"]
    async with api.state.store.transaction() as tx:
        assert len(await tx.sealed.open_named(media_key_name(call.call_id))) == 16
    connected = await _signal(api, alice, CallConnected(call_id=call.call_id))
    assert connected["state"] == "active"
    assert [t for t, _ in await listen["laptop"].events()] == ["call.connected"]
    ended = await _signal(api, bob_laptop, CallEnd(call_id=call.call_id, reason=EndReason.HUNG_UP))
    assert ended["state"] == "ended" and ended["end_reason"] == "hung_up"
    assert [(t, d["message"]["reason"]) for t, d in await listen["alice"].events()] == [("call.end", "hung_up")]
    async with api.state.store.transaction() as tx:
        with pytest.raises(NotFound):
            await tx.sealed.open_named(media_key_name(call.call_id))


async def test_e2ee_call_never_gets_a_media_key_and_refuses_recording(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    await _allow_e2ee(api)
    await _opt_in(api, alice, bob)
    alice_listens, bob_listens = await Listener.of(api, alice), await Listener.of(api, bob)
    call, body = await _place(api, alice, "bob@acme")
    assert body["encryption"] == "end_to_end"
    assert [r["code"] for r in body["reasons"]] == ["call_e2ee_conditions_met"]
    await bob_listens.events()
    await alice_listens.events()
    without_package = CallAccept(call_id=call.call_id, media=MediaOffer())
    assert await _signal(api, bob, without_package, 400) == "invalid_message"
    accept = CallAccept(call_id=call.call_id, media=MediaOffer(), key_package=b"\x00\x01\x00\x05kp")
    await _signal(api, bob, accept)
    assert [t for t, _ in await alice_listens.events()] == ["call.accept"]
    await _signal(api, alice, CallWelcome(call_id=call.call_id, welcome=b"welcome bytes"))
    assert [t for t, _ in await bob_listens.events()] == ["call.welcome"]
    response = await api.client.post(
        f"/v1/calls/{call.call_id}/features", json={"feature": "recording"}, headers=alice.headers
    )
    assert error_code(response, 403) == "policy_denied"
    assert [r["code"] for r in response.json()["error"]["reasons"]] == ["recording_needs_media"]
    for feature, code in (
        ("call_transfer", "call_transfer_under_e2ee"),
        ("forward_to_voicemail", "forward_to_voicemail_needs_media"),
    ):
        response = await api.client.post(
            f"/v1/calls/{call.call_id}/features", json={"feature": feature}, headers=bob.headers
        )
        assert error_code(response, 403) == "policy_denied" and response.json()["error"]["reasons"][0]["code"] == code
    async with api.state.store.transaction() as tx:
        with pytest.raises(NotFound):
            await tx.sealed.open_named(media_key_name(call.call_id))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tenant_off", "tenant_forbids_e2ee"),
        ("policy_disabled", "calls_policy_disabled"),
        ("not_opted_in", "calls_not_opted_in"),
        ("compliance", "compliance_recording"),
        ("device", "device_without_e2ee"),
    ],
)
async def test_policy_cases_give_a_standard_call_with_the_reason_on_both_sides(
    api: Api, case: str, expected: str
) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme", compliance_recording=case == "compliance", supports_e2ee=case != "device")
    if case != "policy_disabled":
        await _allow_e2ee(api)
    if case in ("not_opted_in", "compliance", "device"):
        await _opt_in(api, alice)  # Bob does not or cannot: under compliance recording the setting is refused
    if case == "device":
        await _opt_in(api, bob)
    if case == "tenant_off":
        await api.admin("PATCH", "/v1/tenants/acme", 200, json={"e2ee": "forbidden"})
    bob_listens = await Listener.of(api, bob)
    _, body = await _place(api, alice, "bob@acme")
    assert body["encryption"] == "standard"
    assert expected in {r["code"] for r in body["reasons"]}, body["reasons"]
    if body["ringing_device_ids"]:
        ((type_, data),) = await bob_listens.events()
        assert type_ == "call.invite" and expected in {r["code"] for r in data["call"]["reasons"]}


async def test_decline_cancel_and_busy(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    carol = await api.device("carol@acme")
    bob_listens, alice_listens = await Listener.of(api, bob), await Listener.of(api, alice)
    # Declined by the callee: the caller is told.
    call, _ = await _place(api, alice, "bob@acme")
    declined = await _signal(api, bob, CallEnd(call_id=call.call_id, reason=EndReason.DECLINED))
    assert declined["end_reason"] == "declined"
    assert ("call.end", "declined") in [(t, d["message"].get("reason")) for t, d in await alice_listens.events()]
    # Cancelled by the caller: the ringing devices are told.
    await bob_listens.events()
    call, _ = await _place(api, alice, "bob@acme")
    await _signal(api, alice, CallEnd(call_id=call.call_id, reason=EndReason.CANCELLED))
    assert ("call.end", "cancelled") in [(t, d["message"].get("reason")) for t, d in await bob_listens.events()]
    # Busy: Bob is in a call with Alice; Carol's call to Bob ends at once as busy.
    call, _ = await _place(api, alice, "bob@acme")
    await _signal(api, bob, CallAccept(call_id=call.call_id, media=MediaOffer()))
    _, busy = await _place(api, carol, "bob@acme")
    assert busy["state"] == "ended" and busy["end_reason"] == "busy" and busy["ringing_device_ids"] == []
    # Messages for a call that is over are refused, and outsiders cannot see it.
    assert await _signal(api, bob, CallEnd(call_id=busy["call_id"], reason=EndReason.DECLINED), 404) == "not_found"
    await _signal(api, alice, CallEnd(call_id=call.call_id, reason=EndReason.HUNG_UP))
    assert await _signal(api, alice, CallEnd(call_id=call.call_id, reason=EndReason.HUNG_UP), 409) == "conflict"
    assert error_code(await api.client.get(f"/v1/calls/{call.call_id}", headers=carol.headers), 404) == "not_found"


async def test_ring_timeout_ends_the_call_for_both_sides(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    alice_listens, bob_listens = await Listener.of(api, alice), await Listener.of(api, bob)
    call, _ = await _place(api, alice, "bob@acme")
    await alice_listens.events()
    await bob_listens.events()
    assert await expire_due_calls(api.state) == 0
    api.clock.advance(timedelta(seconds=api.state.config.ring_timeout_seconds + 1))
    assert await expire_due_calls(api.state) == 1
    for listener in (alice_listens, bob_listens):
        assert [(t, d["message"]["reason"]) for t, d in await listener.events()] == [("call.end", "timed_out")]
    body = expect(await api.client.get(f"/v1/calls/{call.call_id}", headers=alice.headers), 200)
    assert body["state"] == "ended" and body["end_reason"] == "timed_out"


async def test_recording_is_allowed_without_e2ee_and_both_sides_are_told(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    alice_listens, bob_listens = await Listener.of(api, alice), await Listener.of(api, bob)
    call, _ = await _place(api, alice, "bob@acme")
    early = await api.client.post(
        f"/v1/calls/{call.call_id}/features", json={"feature": "recording"}, headers=alice.headers
    )
    assert error_code(early, 409) == "conflict"  # nothing to record before the call is answered
    await _signal(api, bob, CallAccept(call_id=call.call_id, media=MediaOffer()))
    await alice_listens.events()
    await bob_listens.events()
    result = expect(
        await api.client.post(f"/v1/calls/{call.call_id}/features", json={"feature": "recording"}, headers=bob.headers),
        200,
    )
    assert result["allowed"] and result["service_role"] == "recorder" and result["recording_id"]
    for listener in (alice_listens, bob_listens):
        ((type_, data),) = await listener.events()
        assert type_ == "call.recorder" and data["present"] and data["recording_id"] == result["recording_id"]
    body = expect(await api.client.get(f"/v1/calls/{call.call_id}", headers=alice.headers), 200)
    assert body["recording"] and body["recording_id"] == result["recording_id"]
    transfer = expect(
        await api.client.post(
            f"/v1/calls/{call.call_id}/features", json={"feature": "call_transfer"}, headers=bob.headers
        ),
        200,
    )
    assert transfer["allowed"] and [r["code"] for r in transfer["reasons"]] == ["feature_allowed_without_e2ee"]


async def test_bad_signalling_is_refused_with_a_reason(api: Api) -> None:
    alice = await api.device("alice@acme")
    await api.device("bob@acme")
    assert (
        error_code(await api.client.post("/v1/calls", json={"type": "call.invite"}, headers=alice.headers), 400)
        == "invalid_message"
    )
    call, invite = _invite("bob@acme")
    stamped = dict(invite, encryption="end_to_end")
    assert error_code(await api.client.post("/v1/calls", json=stamped, headers=alice.headers), 400) == "invalid_message"
    _, self_call = _invite("alice@acme")
    assert error_code(await api.client.post("/v1/calls", json=self_call, headers=alice.headers), 403) == "forbidden"
    _, nobody = _invite("nobody@acme")
    assert error_code(await api.client.post("/v1/calls", json=nobody, headers=alice.headers), 404) == "not_found"
    expect(await api.client.post("/v1/calls", json=invite, headers=alice.headers), 201)
    assert error_code(await api.client.post("/v1/calls", json=invite, headers=alice.headers), 409) == "already_exists"
    ringing = {"v": 1, "type": "call.ringing", "call_id": call.call_id, "encryption": "standard"}
    response = await api.client.post(f"/v1/calls/{call.call_id}/signal", json=ringing, headers=alice.headers)
    assert error_code(response, 403) == "forbidden"
