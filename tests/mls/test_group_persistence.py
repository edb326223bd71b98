"""Group.to_bytes / Group.from_bytes mid-scenario: the restored group encodes to the same bytes
and keeps working -- every interop scenario runs to its end with every member restored from
its bytes after every step -- and the parts of the state a restart must keep (cached proposals,
the keys of one's own Update, earlier epochs' keys, status, a committed ReInit) are kept."""

from __future__ import annotations

from typing import Any

import pytest

from enseal.errors import DecodeError, LocalProtocolError
from enseal.mls.code_points import WireFormat
from enseal.mls.group import ApplicationMessage, Group, GroupStatus
from enseal.mls.proposals import Remove
from enseal.types import LeafIndex

from .devices import NOW, Device, assert_agree, commit, deliver, make_group, others
from .scenario_runner import ScenarioRunner, load_scripts, seeded_rng
from .test_scenarios import FAMILIES, HANDSHAKES


def restore(device: Device) -> None:
    data = device.group.to_bytes()
    restored = Group.from_bytes(data, config=device.config)
    assert restored.to_bytes() == data
    assert restored.epoch_authenticator == device.group.epoch_authenticator
    device.group = restored


def restart_everyone(runner: ScenarioRunner, index: int, step: dict[str, Any]) -> None:
    """After each step every actor continues with a group restored from its bytes."""
    for actor in runner.actors.values():
        if actor.group is None or actor.group.has_pending_commit:
            continue
        data = actor.group.to_bytes()
        restored = Group.from_bytes(data, config=runner.config(actor))
        assert restored.to_bytes() == data
        assert restored.status is actor.group.status and restored.reinit == actor.group.reinit
        assert restored.pending_proposals == actor.group.pending_proposals
        actor.group = restored


SCRIPTS = [(family, name) for family in FAMILIES for name in load_scripts(family)]


@pytest.mark.parametrize("handshake", HANDSHAKES)
@pytest.mark.parametrize(("family", "name"), SCRIPTS, ids=[f"{f}/{n}" for f, n in SCRIPTS])
def test_scenario_with_restarts_after_every_step(family: str, name: str, handshake: str) -> None:
    runner = ScenarioRunner(
        1,
        handshake=HANDSHAKES[handshake],
        rng=seeded_rng("restarts", family, name, handshake),
        observers=[restart_everyone],
    )
    runner.run(load_scripts(family)[name])
    assert runner.checks > 0


def test_own_update_survives_a_restart() -> None:
    alice, bob, carol = devices = make_group()
    deliver(bob.group.propose_update(rng=bob.rng), [alice, carol])
    restore(bob)  # bob's new leaf key is in the bytes
    old_leaf_key = bob.group.tree.member_leaf(bob.group.own_leaf).encryption_key
    commit(alice, [bob, carol])
    assert bob.group.tree.member_leaf(bob.group.own_leaf).encryption_key != old_leaf_key
    assert_agree(devices)
    commit(carol, [alice, bob], force_path=True)  # bob decrypts the path with his new leaf key
    assert_agree(devices)


def test_cached_proposals_survive_a_restart() -> None:
    alice, bob, carol, dave = make_group(("alice", "bob", "carol", "dave"))
    devices = [alice, bob, carol]
    deliver(alice.group.propose_remove(LeafIndex(3), rng=alice.rng), [bob, carol, dave])
    before = bob.group.pending_proposals
    restore(bob)
    assert bob.group.pending_proposals == before
    commit(bob, [alice, carol, dave])  # commits alice's Remove of dave by reference
    assert bob.group.tree.leaf(LeafIndex(3)) is None and dave.group.status is GroupStatus.REMOVED
    assert_agree(devices)


def test_late_message_of_an_earlier_epoch_after_a_restart() -> None:
    alice, bob, carol = devices = make_group()
    late = alice.group.encrypt_application(b"sent before the commit", rng=alice.rng)
    commit(carol, [alice, bob], force_path=True)
    restore(bob)
    message = bob.group.process(late, now=NOW)
    assert isinstance(message, ApplicationMessage) and message.data == b"sent before the commit"
    assert_agree(devices)


def test_pending_commit_is_not_stored() -> None:
    alice, bob, carol = devices = make_group()
    alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    restore(alice)
    assert not alice.group.has_pending_commit
    commit(alice, [bob, carol], force_path=True)
    assert_agree(devices)


def test_removed_and_reinit_states_survive_a_restart() -> None:
    alice, bob, carol = make_group()
    commit(alice, [bob, carol], proposals=[Remove(removed=bob.group.own_leaf)])
    restore(bob)
    assert bob.group.status is GroupStatus.REMOVED
    with pytest.raises(LocalProtocolError, match="cannot send"):
        bob.group.encrypt_application(b"gone", rng=bob.rng)
    deliver(alice.group.propose_reinit(group_id=b"again", rng=alice.rng), [carol])
    commit(carol, [alice])
    restore(alice)
    restore(carol)
    assert alice.group.status is GroupStatus.REINIT_PENDING and alice.group.reinit is not None
    carol_bundle = carol.bundle()
    new_alice, output = alice.group.reinitialize(key_packages=[carol_bundle.key_package], rng=alice.rng, now=NOW)
    assert output.welcome is not None
    new_carol = Group.join(
        output.welcome, carol_bundle, now=NOW, resumption_sources={carol.group.group_id: carol.group}
    )
    assert new_carol.epoch_authenticator == new_alice.epoch_authenticator


@pytest.mark.parametrize("handshake", list(HANDSHAKES.values()), ids=list(HANDSHAKES))
def test_restored_group_is_identical_at_every_stage(handshake: WireFormat) -> None:
    devices = make_group(handshake=handshake)
    alice, bob, carol = devices
    for device in devices:
        restore(device)
    deliver(carol.group.propose_update(rng=carol.rng), [alice, bob])
    for device in devices:
        restore(device)
    commit(alice, others(devices, alice))
    for device in devices:
        restore(device)
    assert_agree(devices)


def test_unknown_format_is_refused() -> None:
    alice = make_group(("alice",))[0]
    data = alice.group.to_bytes().reveal()
    with pytest.raises(DecodeError, match="format version"):
        Group.from_bytes(b"\x09" + data[1:])
    with pytest.raises(DecodeError):
        Group.from_bytes(data + b"\x00")
