"""The delivery service, calls, the media relay and the recorder in a real ``enseal server run``
process over real TLS sockets, with real enseal.mls groups on the client side: group creation,
commits with Welcomes and application messages both ways over the device WebSocket, first commit
wins, forged and stale commits refused, mailbox resume without loss or duplication, SIGKILL after
an acknowledged post loses nothing, call signalling over WebSockets with the ring timeout, relay
byte counters and capture, recording refused under E2EE and produced (sealed) without it."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from enseal.media import (
    AUDIO_MATCH_THRESHOLD,
    GeneratedAudioSource,
    MediaKind,
    OpusEncoder,
    Packetiser,
    audio_similarity,
    generated_signal,
    sframe_metadata,
)
from enseal.server.launcher import RunningServer, init_data_dir, launch_server
from enseal.server.recording_format import RECORDING_MAGIC, parse_records
from enseal.server.relay import read_capture
from enseal.sframe import MlsSFrameKeys
from enseal.signalling import Call, CallAccept, CallConnected, CallEnd, EndReason, MediaOffer, message_to_json
from enseal.wire.binary import decode_b64url, encode_b64url

from .actors import DeviceActor, error_code, expect
from .live import ConnectionClosed, DeviceSocket, Live, WebSocketRelayChannel
from .mls_clients import MlsClient

pytestmark = pytest.mark.slow

RING_TIMEOUT = 2.0
CANARY = b"CANARY-7f3a9c-the-eagle-lands-at-midnight"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str, Path]]:
    root = tmp_path_factory.mktemp("delivery") / "data"
    initialised = init_data_dir(root)
    capture = root / "relay.capture"
    running = launch_server(root, relay_capture=capture, ring_timeout_seconds=RING_TIMEOUT)
    try:
        yield running, initialised.bootstrap_token.text(), capture
    finally:
        running.stop()


_operators: dict[str, dict[str, str]] = {}


async def _live(server: tuple[RunningServer, str, Path]) -> Live:
    running, token, _ = server
    if running.url not in _operators:
        live = await Live.bootstrap(running, token)
        _operators[running.url] = live.operator
        return live
    return Live(
        server=running,
        operator=_operators[running.url],
        client=httpx.AsyncClient(base_url=running.url, verify=running.ssl_context(), timeout=20),
    )


def _add(client: MlsClient) -> Any:
    from enseal.mls.framing import MLSMessage
    from enseal.mls.proposals import Add
    from enseal.mls.wire import deserialize

    return Add(key_package=deserialize(MLSMessage, client.new_key_package()).body)  # type: ignore[arg-type]


async def _group_of_two(live: Live, tenant: str) -> tuple[MlsClient, MlsClient, Any]:
    alice = MlsClient(await live.device(f"alice@{tenant}"))
    bob = MlsClient(await live.device(f"bob@{tenant}"))
    group = alice.create_group(await live.server_info())
    await alice.register_group(live.client, group, users=[f"bob@{tenant}"])
    await alice.post_commit(live.client, group, proposals=[_add(bob)])
    return alice, bob, group


def test_groups_commits_and_messages_over_real_tls(server: tuple[RunningServer, str, Path]) -> None:
    async def scenario() -> None:
        live = await _live(server)
        running = live.server
        alice, bob, group = await _group_of_two(live, "tls")
        gid = group.group_id.hex()
        bob_ws = await DeviceSocket.open(running, bob.device)
        welcome = await bob_ws.next_of("group.welcome")
        bob.take(welcome["type"], welcome["data"])
        await bob_ws.ack(welcome["mailbox_seq"])
        bobs = bob.groups[gid]
        assert bobs.epoch_authenticator == group.epoch_authenticator
        alice_ws = await DeviceSocket.open(running, alice.device)
        await alice.send(live.client, group, b"hello over TLS", "a1")
        frame = await bob_ws.next_of("group.message")
        assert frame["data"]["sender"] == alice.device.identity.decode() and frame["id"] == str(frame["mailbox_seq"])
        bob.take(frame["type"], frame["data"])
        await bob.send(live.client, bobs, b"and back", "b1")
        frame = await alice_ws.next_of("group.message")
        alice.take(frame["type"], frame["data"])
        assert bob.received == [b"hello over TLS"] and alice.received == [b"and back"]
        # Two commits for one epoch: the first wins, the second gets 409 with the current epoch.
        first, _ = alice.commit_body(group, force_path=True)
        second, _ = bob.commit_body(bobs, force_path=True)
        path = f"/v1/groups/{gid}/handshake"
        results = await asyncio.gather(
            live.client.post(path, json=first, headers=alice.headers),
            live.client.post(path, json=second, headers=bob.headers),
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["error"] == {**loser.json()["error"], "code": "commit_conflict", "current_epoch": 2}
        winner_is_alice = results[0].status_code == 201
        (group if winner_is_alice else bobs).merge_pending_commit()
        (bobs if winner_is_alice else group).discard_pending_commit()
        follower_ws, follower = (bob_ws, bob) if winner_is_alice else (alice_ws, alice)
        frame = await follower_ws.next_of("group.handshake")
        follower.take(frame["type"], frame["data"])
        assert group.epoch == bobs.epoch == 2 and group.epoch_authenticator == bobs.epoch_authenticator
        # A stale commit (the loser's, resent) and a forged one are refused with their reasons.
        stale = await live.client.post(
            path, json=second if winner_is_alice else first, headers=bob.headers if winner_is_alice else alice.headers
        )
        assert error_code(stale, 409) == "commit_conflict"
        forged_body, _ = alice.commit_body(group, force_path=True)
        raw = bytearray(decode_b64url(forged_body["message"]))
        raw[-80] ^= 0x40
        forged = await live.client.post(
            path, json=dict(forged_body, message=encode_b64url(bytes(raw))), headers=alice.headers
        )
        assert error_code(forged, 400) == "invalid_signature"
        group.discard_pending_commit()
        for ws in (alice_ws, bob_ws):
            await ws.close()
        await live.close()

    asyncio.run(scenario())


def test_mailbox_resume_delivers_exactly_the_missing_messages_once(server: tuple[RunningServer, str, Path]) -> None:
    async def scenario() -> None:
        live = await _live(server)
        running = live.server
        alice, bob, group = await _group_of_two(live, "resume")
        await bob.drain(live.client)  # the Welcome
        for n in range(12):
            await alice.send(live.client, group, f"message {n}".encode(), f"m{n}")
        socket = await DeviceSocket.open(running, bob.device)
        received = [await socket.next_of("group.message") for _ in range(5)]
        await socket.ack(received[2]["mailbox_seq"])
        assert (await socket.next_of("ack"))["data"] == {"ref": str(received[2]["mailbox_seq"])}
        await socket.ws.close()  # disconnect mid-stream: entries 4 and 5 were seen, not acknowledged
        for frame in received:
            bob.take(frame["type"], frame["data"])
        # Resume after the last entry processed: exactly the remaining seven, once, in order.
        socket = await DeviceSocket.open(running, bob.device, after=received[-1]["mailbox_seq"])
        rest = [await socket.next_of("group.message") for _ in range(7)]
        assert await socket.quiet(0.7) == []
        seqs = [f["mailbox_seq"] for f in received + rest]
        assert seqs == list(range(seqs[0], seqs[0] + 12))
        for frame in rest:
            bob.take(frame["type"], frame["data"])
        assert bob.received == [f"message {n}".encode() for n in range(12)]
        await socket.ack(rest[-1]["mailbox_seq"])
        await socket.next_of("ack")
        await socket.close()
        # Without ?after the server resumes after the last acknowledged entry: nothing is left.
        socket = await DeviceSocket.open(running, bob.device)
        assert [f for f in await socket.quiet(0.7) if f.get("mailbox_seq")] == []
        await socket.ws.send(b"binary is not a frame")  # refused with an error event; the socket stays
        assert (await socket.next_of("error"))["data"]["code"] == "bad_request"
        await socket.ws.send('{"v": 1, "type": "ping", "ref": "still-here"}')
        assert (await socket.next_of("pong"))["data"] == {"ref": "still-here"}
        await socket.close()
        page = expect(await live.client.get("/v1/mailbox", headers=bob.headers), 200)
        assert page["entries"] == [] and page["acked_seq"] == page["last_seq"] == seqs[-1]
        await live.close()

    asyncio.run(scenario())


def test_sigkill_after_an_acknowledged_post_loses_nothing(tmp_path: Path) -> None:
    initialised = init_data_dir(tmp_path / "data")
    first = launch_server(initialised.data_dir.root)

    async def before() -> tuple[MlsClient, MlsClient, Any, dict[str, str]]:
        live = await Live.bootstrap(first, initialised.bootstrap_token.text())
        alice, bob, group = await _group_of_two(live, "durable")
        accepted = await alice.send(live.client, group, b"acknowledged, then the server died", "k1")
        assert accepted["recipients"] == 1
        await live.close()
        return alice, bob, group, live.operator

    try:
        alice, bob, group, operator = asyncio.run(before())
    finally:
        first.kill()  # SIGKILL right after the acknowledgement
    assert first.process.returncode == -9
    second = launch_server(initialised.data_dir.root, port=first.port)

    async def after() -> None:
        live = Live(
            server=second,
            operator=operator,
            client=httpx.AsyncClient(base_url=second.url, verify=second.ssl_context(), timeout=20),
        )
        await bob.drain(live.client)
        assert bob.received == [b"acknowledged, then the server died"]
        body = expect(await live.client.get(f"/v1/groups/{group.group_id.hex()}", headers=alice.headers), 200)
        assert body["epoch"] == 1 and len(body["members"]) == 2
        await alice.post_commit(live.client, group, force_path=True)
        await live.close()

    try:
        asyncio.run(after())
    finally:
        second.stop()


# -- calls ------------------------------------------------------------------------------------------


def _invite(callee: str) -> tuple[Call, dict[str, Any]]:
    call, invite = Call.place(
        callee=callee, media=MediaOffer(), e2ee_capable=True, now=0.0, rng=random.Random().randbytes
    )
    return call, message_to_json(invite)


async def _signal(live: Live, device: DeviceActor, message: Any, status: int = 200) -> Any:
    response = await live.client.post(
        f"/v1/calls/{message.call_id}/signal", json=message_to_json(message), headers=device.headers
    )
    return expect(response, status)


def _audio_datagrams(keys: MlsSFrameKeys, seconds: float, *, seed: int) -> list[bytes]:
    encoder = OpusEncoder(stream_id=1)
    packetiser = Packetiser(kind=MediaKind.AUDIO, stream_id=1)
    out: list[bytes] = []
    for pcm in GeneratedAudioSource(seconds, seed=seed):
        for frame in encoder.encode(pcm):
            out += packetiser.packetise(frame, keys.protect(frame.payload, sframe_metadata(frame)))
    return out


def test_standard_call_over_the_relay_is_counted_captured_and_recorded(
    server: tuple[RunningServer, str, Path],
) -> None:
    async def scenario() -> None:
        live = await _live(server)
        running, _, capture_path = server
        alice = await live.device("alice@calls")
        bob = await live.device("bob@calls")
        alice_ws, bob_ws = await DeviceSocket.open(running, alice), await DeviceSocket.open(running, bob)
        call, invite = _invite("bob@calls")
        placed = expect(await live.client.post("/v1/calls", json=invite, headers=alice.headers), 201)
        assert placed["encryption"] == "standard"
        assert (await alice_ws.next_of("call.ringing"))["data"]["call"]["encryption"] == "standard"
        ring = await bob_ws.next_of("call.invite")
        assert ring["data"]["message"]["encryption"] == "standard" and ring["data"]["call"]["reasons"]
        await _signal(live, bob, CallAccept(call_id=call.call_id, media=MediaOffer()))
        assert (await alice_ws.next_of("call.accept"))["data"]["sender"] == bob.identity.decode()
        key_a = base64.b64decode((await alice_ws.next_of("call.media_key"))["data"]["message"]["media_key"])
        key_b = base64.b64decode((await bob_ws.next_of("call.media_key"))["data"]["message"]["media_key"])
        assert key_a == key_b and len(key_a) == 16
        recording = expect(
            await live.client.post(
                f"/v1/calls/{call.call_id}/features", json={"feature": "recording"}, headers=alice.headers
            ),
            200,
        )
        for ws in (alice_ws, bob_ws):
            assert (await ws.next_of("call.recorder"))["data"]["present"] is True
        alice_relay = await WebSocketRelayChannel.open(running, alice, call.call_id)
        bob_relay = await WebSocketRelayChannel.open(running, bob, call.call_id)
        await _signal(live, alice, CallConnected(call_id=call.call_id))
        sent = _audio_datagrams(MlsSFrameKeys(base_key=key_a, epoch=0, own_leaf_index=0), 2.0, seed=5)
        canary = MlsSFrameKeys(base_key=key_a, epoch=0, own_leaf_index=0).protect(CANARY)
        for datagram in [*sent, canary]:
            await alice_relay.send(datagram)
        got = [await asyncio.wait_for(bob_relay.recv(), 10) for _ in range(len(sent) + 1)]
        assert got == [*sent, canary]
        reply = [b"\x00" * 40, b"\x01" * 50]
        for datagram in reply:
            await bob_relay.send(datagram)
        assert [await asyncio.wait_for(alice_relay.recv(), 10) for _ in reply] == reply
        stats = expect(await live.client.get(f"/v1/calls/{call.call_id}/relay-stats", headers=bob.headers), 200)
        total = sum(len(d) for d in [*sent, canary])
        assert stats["caller"]["bytes_in"] == total and stats["callee"]["bytes_out"] == total
        assert stats["callee"]["bytes_in"] == 90 and stats["caller"]["datagrams_out"] == 2
        admin_stats = expect(
            await live.client.get(f"/v1/admin/calls/{call.call_id}/relay-stats", headers=live.operator), 200
        )
        assert admin_stats == stats
        await _signal(live, bob, CallEnd(call_id=call.call_id, reason=EndReason.HUNG_UP))
        with pytest.raises(ConnectionClosed):  # the relay closes when the call ends
            await asyncio.wait_for(alice_relay.recv(), 10)
        assert alice_relay.close_code == 4410
        await bob_relay.close()
        listed = expect(await live.client.get(f"/v1/calls/{call.call_id}/recordings", headers=bob.headers), 200)
        (entry,) = listed["recordings"]
        assert entry["recording_id"] == recording["recording_id"] and entry["state"] == "complete"
        assert entry["frames"] == 100  # two seconds of 20 ms Opus frames from the caller
        frames = await live.client.get(f"/v1/recordings/{entry['recording_id']}", headers=alice.headers)
        records = list(parse_records(expect_bytes(frames).removeprefix(RECORDING_MAGIC)))
        assert {r.sender for r in records} == {0} and len(records) == 100
        wav = expect_bytes(
            await live.client.get(f"/v1/recordings/{entry['recording_id']}?format=wav", headers=bob.headers)
        )
        samples = np.frombuffer(wav[44:], dtype="<i2")
        assert audio_similarity(generated_signal(2.0, 5), samples) >= AUDIO_MATCH_THRESHOLD
        stranger = await live.device("eve@calls")
        response = await live.client.get(f"/v1/recordings/{entry['recording_id']}", headers=stranger.headers)
        assert error_code(response, 403) == "forbidden"
        # The relay carried ciphertext only; the capture holds every datagram it forwarded.
        captured = [d for c, _, d in read_capture(capture_path.read_bytes()) if c == call.call_id]
        assert captured == [*sent, canary, *reply]
        assert CANARY not in capture_path.read_bytes()
        for ws in (alice_ws, bob_ws):
            await ws.close()
        await live.close()
        stored = b"".join(p.read_bytes() for p in running.data_dir.root.glob("enseal.db*"))
        assert CANARY not in stored and CANARY.decode() not in running.log()

    asyncio.run(scenario())


def expect_bytes(response: httpx.Response) -> bytes:
    assert response.status_code == 200, response.text
    return response.content


def test_e2ee_call_refuses_recording_and_the_ring_timeout_ends_calls(server: tuple[RunningServer, str, Path]) -> None:
    async def scenario() -> None:
        live = await _live(server)
        running = live.server
        alice = await live.device("alice@secure")
        bob = await live.device("bob@secure")
        policy = {"name": "E2EE", "calls": "user_override", "meetings": "user_override"}
        await live.admin("POST", "/v1/tenants/secure/policies", 201, json=policy)
        await live.admin(
            "PUT", "/v1/tenants/secure/policy-assignments", json={"target": {"kind": "tenant"}, "policy": "E2EE"}
        )
        for device in (alice, bob):
            expect(await live.client.put("/v1/me/settings", json={"e2ee_calls": True}, headers=device.headers), 200)
        alice_ws, bob_ws = await DeviceSocket.open(running, alice), await DeviceSocket.open(running, bob)
        call, invite = _invite("bob@secure")
        placed = expect(await live.client.post("/v1/calls", json=invite, headers=alice.headers), 201)
        assert placed["encryption"] == "end_to_end"
        await bob_ws.next_of("call.invite")
        await _signal(live, bob, CallAccept(call_id=call.call_id, media=MediaOffer(), key_package=b"kp"))
        refused = await live.client.post(
            f"/v1/calls/{call.call_id}/features", json={"feature": "recording"}, headers=bob.headers
        )
        assert error_code(refused, 403) == "policy_denied"
        assert refused.json()["error"]["reasons"][0]["code"] == "recording_needs_media"
        assert "call.media_key" not in [f["type"] for f in await alice_ws.quiet(0.5)]
        await _signal(live, alice, CallEnd(call_id=call.call_id, reason=EndReason.HUNG_UP))
        # A call nobody answers ends as timed out on both sides after the ring timeout.
        call, invite = _invite("bob@secure")
        expect(await live.client.post("/v1/calls", json=invite, headers=alice.headers), 201)
        await bob_ws.next_of("call.invite")
        ended = await alice_ws.next_of("call.end", timeout=RING_TIMEOUT + 5)
        assert ended["data"]["message"]["reason"] == "timed_out"
        assert (await bob_ws.next_of("call.end", timeout=5))["data"]["message"]["reason"] == "timed_out"
        for ws in (alice_ws, bob_ws):
            await ws.close()
        await live.close()

    asyncio.run(scenario())
