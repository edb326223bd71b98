"""Chat end to end: a real server process over TLS and each device as its own ``enseal``
process. 1:1 and group chat, offline delivery, a second device of a user joining the existing
conversations, and no trace of the texts on the server."""

from __future__ import annotations

import pytest

from .conftest import Deployment

pytestmark = pytest.mark.slow

CANARY = "canary-chat-5d1e9b the vault code is 4471"


def test_chat_one_to_one_and_group_with_offline_delivery(deployment: Deployment) -> None:
    deployment.tenant("chat")
    alice = deployment.user("alice@chat")
    bob = deployment.user("bob@chat")
    carol = deployment.user("carol@chat")

    # bob is offline (no process of his runs) while alice writes
    assert "Sent to bob@chat" in deployment.enseal(alice, "chat", "send", "bob@chat", CANARY)
    assert f"alice@chat: {CANARY}" in deployment.enseal(bob, "chat", "read", "alice@chat")
    deployment.enseal(bob, "chat", "send", "alice@chat", "got it")
    read = deployment.enseal(alice, "chat", "read", "bob@chat")
    assert f"you: {CANARY}" in read and "bob@chat: got it" in read

    deployment.enseal(carol, "chat", "send", "alice@chat,bob@chat", "group hello from carol")
    deployment.enseal(alice, "chat", "send", "bob@chat,carol@chat", "alice answers the group")
    group = deployment.enseal(bob, "chat", "read", "alice@chat,carol@chat")
    assert "carol@chat: group hello from carol" in group and "alice@chat: alice answers the group" in group
    # the 1:1 history is kept apart, and nothing was shown twice
    one_to_one = deployment.enseal(bob, "chat", "read", "alice@chat")
    assert one_to_one.count(CANARY) == 1 and "group hello" not in one_to_one

    stored = deployment.server_bytes()
    for needle in (CANARY, "vault code", "group hello from carol", "got it"):
        assert needle.encode() not in stored


def test_a_new_device_joins_the_users_conversations(deployment: Deployment) -> None:
    deployment.tenant("multi")
    alice = deployment.user("alice@multi")
    bob = deployment.user("bob@multi")
    deployment.enseal(alice, "chat", "send", "bob@multi", "before the new phone")
    bob_phone = deployment.user("bob@multi", device="bob-phone@multi")

    listed = deployment.enseal(bob_phone, "chat", "list")
    assert "alice@multi" in listed
    deployment.enseal(alice, "chat", "send", "bob@multi", "after the new phone")
    on_phone = deployment.enseal(bob_phone, "chat", "read", "alice@multi")
    on_laptop = deployment.enseal(bob, "chat", "read", "alice@multi")
    assert "alice@multi: after the new phone" in on_phone and "alice@multi: after the new phone" in on_laptop
    # MLS forward secrecy: the phone joined after the first message and cannot read it
    assert "before the new phone" not in on_phone and "before the new phone" in on_laptop
    # both of bob's devices are covered by the safety number, and both sides compute the same one
    alice_view = deployment.enseal(alice, "verify", "bob@multi", "--no-qr")
    bob_view = deployment.enseal(bob_phone, "verify", "alice@multi", "--no-qr")
    assert "bob@multi's 2 device(s)" in alice_view
    digits = [line.strip() for line in alice_view.splitlines() if line.strip()[:5].isdigit()]
    assert len(digits) == 3 and all(line in bob_view for line in digits)
