"""The MLS delivery service in-process, with real enseal.mls groups on the client side: groups,
commits with Welcomes, application messages both ways, first commit wins, forged and stale
commits refused with their reasons, authorization, external joins, the server's Remove
proposals, history and idempotent message ids."""

from __future__ import annotations

import random
from typing import Any

import pytest

from enseal.mls.group import Group
from enseal.mls.proposals import Remove
from enseal.types import LeafIndex
from enseal.wire.binary import encode_b64url

from .actors import error_code, expect
from .conftest import Api
from .mls_clients import MlsClient, now_s

pytestmark = pytest.mark.anyio


async def _client(api: Api, address: str, **flags: Any) -> MlsClient:
    return MlsClient(await api.device(address, **flags))


async def _server_info(api: Api) -> dict[str, Any]:
    return expect(await api.client.get("/v1/server/info"), 200)  # type: ignore[no-any-return]


async def _pair(api: Api) -> tuple[MlsClient, MlsClient, Group]:
    """Alice creates a group with Bob on its access list and adds Bob's device; Bob joins."""
    alice = await _client(api, "alice@acme")
    bob = await _client(api, "bob@acme")
    group = alice.create_group(await _server_info(api))
    created = await alice.register_group(api.client, group, users=["bob@acme"])
    assert created["epoch"] == 0 and created["users"] == ["alice@acme", "bob@acme"]
    assert [m["device_id"] for m in created["members"]] == [alice.device.device_id]
    added = await alice.post_commit(api.client, group, proposals=[_add(bob, group)])
    assert added["type"] == "commit" and added["epoch"] == 1
    assert added["welcome_recipients"] == [bob.device.device_id]
    await bob.drain(api.client)
    assert group.group_id.hex() in bob.groups
    return alice, bob, group


def _add(client: MlsClient, group: Group) -> Any:
    from enseal.mls.framing import MLSMessage
    from enseal.mls.proposals import Add
    from enseal.mls.wire import deserialize

    package = deserialize(MLSMessage, client.new_key_package()).body
    return Add(key_package=package)  # type: ignore[arg-type]


async def test_two_devices_create_a_group_commit_and_exchange_messages(api: Api) -> None:
    alice, bob, group = await _pair(api)
    bobs = bob.groups[group.group_id.hex()]
    assert bobs.epoch == group.epoch == 1
    assert bobs.epoch_authenticator == group.epoch_authenticator
    await alice.send(api.client, group, b"hello bob", "m1")
    await bob.drain(api.client)
    assert bob.received == [b"hello bob"]
    await bob.send(api.client, bobs, b"hello alice", "m1")
    await alice.drain(api.client)
    assert alice.received == [b"hello alice"]
    # Bob updates (a commit with a path); Alice follows it from her mailbox.
    await bob.post_commit(api.client, bobs, force_path=True)
    await alice.drain(api.client)
    assert group.epoch == bobs.epoch == 2 and group.epoch_authenticator == bobs.epoch_authenticator
    body = expect(await api.client.get(f"/v1/groups/{group.group_id.hex()}", headers=alice.headers), 200)
    assert body["epoch"] == 2 and [m["leaf_index"] for m in body["members"]] == [0, 1]
    history = expect(await api.client.get(f"/v1/groups/{group.group_id.hex()}/messages", headers=bob.headers), 200)
    assert [e["client_message_id"] for e in history["entries"]] == ["m1", "m1"]
    assert history["entries"][0]["sender"] == alice.device.identity.decode()


async def test_message_ids_are_idempotent(api: Api) -> None:
    alice, bob, group = await _pair(api)
    message = group.encrypt_application(b"once", rng=alice.device.rng)
    body = {"client_message_id": "same", "message": encode_b64url(message)}
    path = f"/v1/groups/{group.group_id.hex()}/messages"
    first = expect(await api.client.post(path, json=body, headers=alice.headers), 201)
    again = expect(await api.client.post(path, json=body, headers=alice.headers), 200)
    assert again["duplicate"] and again["group_seq"] == first["group_seq"]
    other = {
        "client_message_id": "same",
        "message": encode_b64url(group.encrypt_application(b"x", rng=alice.device.rng)),
    }
    assert error_code(await api.client.post(path, json=other, headers=alice.headers), 409) == "conflict"
    await bob.drain(api.client)
    assert bob.received == [b"once"]


async def test_first_commit_of_an_epoch_wins_the_second_gets_409(api: Api) -> None:
    alice, bob, group = await _pair(api)
    bobs = bob.groups[group.group_id.hex()]
    alice_body, _ = alice.commit_body(group, force_path=True)
    bob_body, _ = bob.commit_body(bobs, force_path=True)
    path = f"/v1/groups/{group.group_id.hex()}/handshake"
    expect(await api.client.post(path, json=alice_body, headers=alice.headers), 201)
    group.merge_pending_commit()
    response = await api.client.post(path, json=bob_body, headers=bob.headers)
    assert error_code(response, 409) == "commit_conflict"
    assert response.json()["error"]["current_epoch"] == 2
    bobs.discard_pending_commit()
    # The winner resending its own commit (a lost response) is not a conflict.
    again = expect(await api.client.post(path, json=alice_body, headers=alice.headers), 200)
    assert again["duplicate"] and again["epoch"] == 2
    await bob.drain(api.client)
    assert bobs.epoch == 2 and bobs.epoch_authenticator == group.epoch_authenticator


async def test_forged_stale_and_misattributed_commits_are_refused(api: Api) -> None:
    alice, bob, group = await _pair(api)
    path = f"/v1/groups/{group.group_id.hex()}/handshake"
    body, _ = alice.commit_body(group, force_path=True)
    # The message ends with signature<V> (65), confirmation_tag<V> (33), membership_tag<V> (33).
    for offset, code, reason in ((-80, "invalid_signature", ""), (-40, "invalid_message", "confirmation tag")):
        raw = bytearray(_b64(body["message"]))
        raw[offset] ^= 0x01
        forged = dict(body, message=encode_b64url(bytes(raw)))
        response = await api.client.post(path, json=forged, headers=alice.headers)
        assert error_code(response, 400) == code and reason in response.json()["error"]["reason"], response.text
    # Bob posting Alice's commit: the sender leaf is not his.
    assert error_code(await api.client.post(path, json=body, headers=bob.headers), 403) == "forbidden"
    expect(await api.client.post(path, json=body, headers=alice.headers), 201)
    group.merge_pending_commit()
    # A commit for an epoch that is over (stale): 409 with the current epoch.
    stale_body, _ = bob.commit_body(bob.groups[group.group_id.hex()], force_path=True)
    response = await api.client.post(path, json=stale_body, headers=bob.headers)
    assert error_code(response, 409) == "commit_conflict" and response.json()["error"]["current_epoch"] == 2
    # A PrivateMessage handshake or garbage: 400 with the rule.
    junk = {"message": encode_b64url(b"\x00\x01\x00\x01garbage")}
    assert error_code(await api.client.post(path, json=junk, headers=alice.headers), 400) == "invalid_message"
    # A commit without the new GroupInfo, or with a wrong one.
    fresh, _ = alice.commit_body(group, force_path=True)
    missing = {"message": fresh["message"]}
    response = await api.client.post(path, json=missing, headers=alice.headers)
    assert error_code(response, 400) == "invalid_message" and "GroupInfo" in response.json()["error"]["reason"]
    wrong = dict(fresh, group_info=encode_b64url(group.group_info(with_tree=True)))
    assert error_code(await api.client.post(path, json=wrong, headers=alice.headers), 400) == "invalid_message"
    expect(await api.client.post(path, json=fresh, headers=alice.headers), 201)
    group.merge_pending_commit()


def _b64(text: str) -> bytes:
    from enseal.wire.binary import decode_b64url

    return decode_b64url(text)


async def test_only_members_of_the_access_list_may_post(api: Api) -> None:
    alice, _, group = await _pair(api)
    mallory = await _client(api, "mallory@acme")
    path = f"/v1/groups/{group.group_id.hex()}"
    assert error_code(await api.client.get(path, headers=mallory.headers), 404) == "not_found"
    message = group.encrypt_application(b"x", rng=alice.device.rng)
    body = {"client_message_id": "m", "message": encode_b64url(message)}
    assert error_code(await api.client.post(f"{path}/messages", json=body, headers=mallory.headers), 404) == "not_found"
    # Adding a device of a user who is not on the access list is refused.
    body_add, _ = alice.commit_body(group, proposals=[_add(mallory, group)])
    group.discard_pending_commit()
    response = await api.client.post(f"{path}/handshake", json=body_add, headers=alice.headers)
    assert error_code(response, 403) == "forbidden"
    # Nor may outsiders fetch the GroupInfo for an external join.
    assert error_code(await api.client.get(f"{path}/group-info", headers=mallory.headers), 404) == "not_found"


async def test_a_group_must_list_the_server_as_external_sender(api: Api) -> None:
    alice = await _client(api, "alice@acme")
    group = Group.create(
        alice.device.suite,
        group_id=alice.device.rng(16),
        signer=alice.device.signing_key,
        credential=alice.credential,
        rng=alice.device.rng,
        now=now_s(),
    )
    body = {"kind": "chat", "group_info": encode_b64url(group.group_info(with_tree=True)), "users": []}
    response = await api.client.post("/v1/groups", json=body, headers=alice.headers)
    assert error_code(response, 400) == "invalid_message"
    assert "external_senders" in response.json()["error"]["reason"]


async def test_external_join_by_a_device_of_a_listed_user(api: Api) -> None:
    alice, bob, group = await _pair(api)
    code = expect(await api.client.post("/v1/tenants/acme/users/bob/enrollment-codes", headers=api.operator), 201)[
        "enrollment_code"
    ]
    laptop = MlsClient(await api.device("bob@acme", code=code))
    path = f"/v1/groups/{group.group_id.hex()}"
    info = expect(await api.client.get(f"{path}/group-info", headers=laptop.headers), 200)
    assert info["epoch"] == 1
    joined, commit = Group.join_external(
        _b64(info["group_info"]),
        signer=laptop.device.signing_key,
        credential=laptop.credential,
        rng=laptop.device.rng,
        now=now_s(),
    )
    body = {"message": encode_b64url(commit), "group_info": encode_b64url(joined.group_info(with_tree=True))}
    accepted = expect(await api.client.post(f"{path}/handshake", json=body, headers=laptop.headers), 201)
    assert accepted["epoch"] == 2 and accepted["added"] == [2]
    laptop.groups[joined.group_id.hex()] = joined
    await alice.drain(api.client)
    await bob.drain(api.client)
    assert group.epoch_authenticator == joined.epoch_authenticator == bob.groups[path[11:]].epoch_authenticator
    await laptop.send(api.client, joined, b"from the laptop", "l1")
    await alice.drain(api.client)
    assert alice.received == [b"from the laptop"]


async def test_revoking_a_device_makes_the_server_propose_its_removal(api: Api) -> None:
    alice, bob, group = await _pair(api)
    gid = group.group_id.hex()
    expect(
        await api.client.delete(f"/v1/tenants/acme/users/bob/devices/{bob.device.device_id}", headers=api.operator), 200
    )
    body = expect(await api.client.get(f"/v1/groups/{gid}", headers=alice.headers), 200)
    assert body["pending_removals"] == [1]
    entries = await alice.drain(api.client)
    assert [(e["type"], e["data"]["sender"]) for e in entries] == [("group.handshake", "server")]
    pending = group.pending_proposals
    assert len(pending) == 1 and pending[0].proposal == Remove(removed=LeafIndex(1))
    # A commit that leaves the server's proposal out is refused; one that includes it passes.
    body_without, _ = alice.commit_body(group, include_pending=False, force_path=True)
    group.discard_pending_commit()
    response = await api.client.post(f"/v1/groups/{gid}/handshake", json=body_without, headers=alice.headers)
    assert error_code(response, 409) == "conflict"
    accepted = await alice.post_commit(api.client, group)
    assert accepted["removed"] == [1]
    body = expect(await api.client.get(f"/v1/groups/{gid}", headers=alice.headers), 200)
    assert [m["leaf_index"] for m in body["members"]] == [0] and body["pending_removals"] == []


async def test_taking_a_user_off_the_access_list_removes_their_devices(api: Api) -> None:
    alice, bob, group = await _pair(api)
    gid = group.group_id.hex()
    body = expect(
        await api.client.patch(f"/v1/groups/{gid}/users", json={"remove": ["bob@acme"]}, headers=alice.headers), 200
    )
    assert body["users"] == ["alice@acme"] and body["pending_removals"] == [1]
    await alice.drain(api.client)
    assert (await alice.post_commit(api.client, group))["removed"] == [1]
    # Bob's device, off the list, learns of its removal and can no longer post.
    await bob.drain(api.client)
    assert bob.groups[gid].status.value == "removed"
    ciphertext = group.encrypt_application(b"not for bob to post", rng=alice.device.rng)
    message = {"client_message_id": "x", "message": encode_b64url(ciphertext)}
    response = await api.client.post(f"/v1/groups/{gid}/messages", json=message, headers=bob.headers)
    assert error_code(response, 404) == "not_found"


async def test_log_lists_handshakes_for_catching_up(api: Api) -> None:
    alice, bob, group = await _pair(api)
    gid = group.group_id.hex()
    await alice.post_commit(api.client, group, force_path=True)
    log = expect(await api.client.get(f"/v1/groups/{gid}/log?since_epoch=1", headers=bob.headers), 200)
    assert [(e["epoch"], e["type"]) for e in log["entries"]] == [(1, "commit")]
    assert log["epoch"] == 2 and not log["more"]
    everything = expect(await api.client.get(f"/v1/groups/{gid}/log?limit=1", headers=bob.headers), 200)
    assert everything["more"] and everything["entries"][0]["epoch"] == 0


async def test_mutated_handshakes_and_messages_get_4xx_never_5xx(api: Api) -> None:
    """Bit flips and truncations of a real commit (with its GroupInfo and Welcome) and of a real
    application message reach deep into MLS decoding and validation: every one is a 4xx."""
    alice, _, group = await _pair(api)
    carol = await _client(api, "carol@acme")
    expect(
        await api.client.patch(
            f"/v1/groups/{group.group_id.hex()}/users", json={"add": ["carol@acme"]}, headers=alice.headers
        ),
        200,
    )
    body, _ = alice.commit_body(group, proposals=[_add(carol, group)])
    group.discard_pending_commit()
    message = group.encrypt_application(b"mutate me", rng=alice.device.rng)
    rng = random.Random(2026)
    path = f"/v1/groups/{group.group_id.hex()}"
    statuses: set[int] = set()
    for round_ in range(150):
        field = rng.choice(["message", "group_info", "welcome", "application"])
        original = _b64(body[field]) if field != "application" else message
        mutated = bytearray(original)
        if rng.random() < 0.2:
            mutated = mutated[: rng.randrange(len(mutated))]
        else:
            for _ in range(rng.randint(1, 3)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        if field == "application":
            request = {"client_message_id": f"r{round_}", "message": encode_b64url(bytes(mutated))}
            response = await api.client.post(f"{path}/messages", json=request, headers=alice.headers)
        else:
            request = dict(body, **{field: encode_b64url(bytes(mutated))})
            response = await api.client.post(f"{path}/handshake", json=request, headers=alice.headers)
        assert 400 <= response.status_code < 500 or response.status_code in (200, 201), response.text
        if response.status_code >= 400:
            assert response.json()["error"]["reason"]
        statuses.add(response.status_code)
    assert 400 in statuses


async def test_meeting_joiners_need_e2ee_available_to_them(api: Api) -> None:
    alice = await _client(api, "alice@acme")
    await api.user("dave@acme", compliance_recording=True)
    group = alice.create_group(await _server_info(api))
    await alice.register_group(api.client, group, kind="meeting", users=["dave@acme"])
    code = expect(await api.client.post("/v1/tenants/acme/users/dave/enrollment-codes", headers=api.operator), 201)
    dave = MlsClient(await api.device("dave@acme", code=code["enrollment_code"]))
    response = await api.client.get(f"/v1/groups/{group.group_id.hex()}/group-info", headers=dave.headers)
    assert error_code(response, 403) == "policy_denied"
    assert [r["code"] for r in response.json()["error"]["reasons"]] == ["compliance_recording"]
    body, _ = alice.commit_body(group, proposals=[_add(dave, group)])
    group.discard_pending_commit()
    response = await api.client.post(f"/v1/groups/{group.group_id.hex()}/handshake", json=body, headers=alice.headers)
    assert error_code(response, 403) == "policy_denied"


async def test_one_group_per_set_of_users_when_asked(api: Api) -> None:
    alice = await _client(api, "alice@acme")
    bob = await _client(api, "bob@acme")
    info = await _server_info(api)
    first = alice.create_group(info)
    body = {"kind": "chat", "group_info": encode_b64url(first.group_info(with_tree=True)), "users": ["bob@acme"]}
    expect(await api.client.post("/v1/groups", json=dict(body, one_per_users=True), headers=alice.headers), 201)
    second = bob.create_group(info)
    racing = {
        "kind": "chat",
        "group_info": encode_b64url(second.group_info(with_tree=True)),
        "users": ["alice@acme"],
        "one_per_users": True,
    }
    response = await api.client.post("/v1/groups", json=racing, headers=bob.headers)
    assert error_code(response, 409) == "already_exists"
    assert response.json()["error"]["detail"] == first.group_id.hex()
    # Without the flag, or for another kind, a second group is fine.
    expect(await api.client.post("/v1/groups", json=dict(racing, one_per_users=False), headers=bob.headers), 201)


async def test_another_users_devices_and_keys(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    listed = expect(await api.client.get("/v1/users/bob@acme/devices", headers=alice.headers), 200)["devices"]
    assert [(d["device_id"], d["signature_key"]) for d in listed] == [
        (bob.device_id, encode_b64url(bob.signing_key.public_key))
    ]
    assert error_code(await api.client.get("/v1/users/nobody@acme/devices", headers=alice.headers), 404) == "not_found"
    assert error_code(await api.client.get("/v1/users/bob@acme/devices"), 401) == "unauthenticated"
