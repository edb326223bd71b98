"""The delivery service's view of a group (:class:`~enseal.mls.public_view.PublicGroupView`):
it follows every interop scenario with the members and agrees with them on epoch, GroupContext,
tree hash and roster; it refuses forged, stale and losing commits and leaves itself unchanged;
its own Remove (as external sender) is committed by members; it survives a restart."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from enseal.errors import LocalProtocolError, SignatureError, ValidationError, WrongEpochError
from enseal.mls.code_points import WireFormat
from enseal.mls.commit import Commit
from enseal.mls.extensions import ExternalSender, ExternalSenders, make_extension
from enseal.mls.framing import MLSMessage
from enseal.mls.group import Group, GroupStatus
from enseal.mls.proposals import Remove
from enseal.mls.public_view import PublicCommit, PublicGroupView, PublicProposal
from enseal.mls.wire import serialize
from enseal.types import LeafIndex

from .devices import (
    NOW,
    Device,
    assert_agree,
    commit,
    deliver,
    flip,
    frame,
    make_device,
    make_group,
    others,
    public_message,
    seal_public,
)
from .scenario_runner import ScenarioRunner, load_scripts, roster, seeded_rng
from .test_scenarios import DEEP_RANDOM_PREFIX, FAMILIES


class ServerView:
    """Follows a scenario like the delivery service: every handshake message of the current
    group goes through a PublicGroupView, which must then match the members."""

    def __init__(self) -> None:
        self.view: PublicGroupView | None = None
        self.lineage = -1
        self.commits = 0
        self.comparisons = 0

    def __call__(self, runner: ScenarioRunner, index: int, step: dict[str, Any]) -> None:
        record = runner.records[index].values
        if step["action"] == "reinit" and self.view is not None:
            self.apply(runner, [record["reinit_proposal"]], record["reinit_commit"])
        elif "commit" in record and self.lineage == runner.lineage:
            self.apply(runner, step.get("byReference", []), record["commit"])
        if runner.lineage != self.lineage:
            # A new group (createGroup, branch, reinit): follow it from a member's GroupInfo.
            self.view = PublicGroupView.from_group_info(runner.current_members()[0].live_group().group_info())
            self.lineage = runner.lineage
        self.compare(runner)

    def apply(self, runner: ScenarioRunner, by_reference: list[int], commit_message: bytes) -> None:
        assert self.view is not None
        for i in by_reference:
            assert isinstance(self.view.process(runner.records[i]["proposal"], now=NOW), PublicProposal)
        staged = self.view.process(commit_message, now=NOW)
        assert isinstance(staged, PublicCommit)
        self.view.merge(staged)
        self.commits += 1

    def compare(self, runner: ScenarioRunner) -> None:
        assert self.view is not None
        members = runner.current_members()
        group = members[0].live_group()
        if group.group_id != self.view.group_id or group.epoch != self.view.epoch:
            return  # the members are in a reinitialized group's old epoch, or have not merged yet
        assert self.view.group_context == group.group_context
        assert self.view.tree.tree_hash() == group.tree.tree_hash()
        assert sorted(identity.decode() for _, identity, _ in self.view.members()) == sorted(roster(group.tree))
        self.comparisons += 1


SCRIPTS = [(family, name) for family in FAMILIES for name in load_scripts(family)]


@pytest.mark.parametrize(("family", "name"), SCRIPTS, ids=[f"{f}/{n}" for f, n in SCRIPTS])
def test_view_follows_the_scenario(family: str, name: str) -> None:
    server = ServerView()
    runner = ScenarioRunner(1, rng=seeded_rng("view", family, name), observers=[server])
    runner.run(load_scripts(family)[name])
    assert server.comparisons == len(runner.records)
    commits = sum(
        1 for step in load_scripts(family)[name] if step["action"] in ("fullCommit", "externalJoin", "reinit")
    )
    assert server.commits == commits


def test_view_follows_deep_random() -> None:
    server = ServerView()
    runner = ScenarioRunner(1, rng=seeded_rng("view", "deep"), observers=[server])
    runner.run(load_scripts("deep_random")["random"][:DEEP_RANDOM_PREFIX])
    assert server.commits == 9
    assert server.view is not None and server.view.tree.member_count == 41


def view_of(devices: list[Device]) -> PublicGroupView:
    return PublicGroupView.from_group_info(devices[0].group.group_info())


def assert_view_refuses(view: PublicGroupView, message: bytes, error: type[Exception], rule: str) -> None:
    before = view.to_bytes()
    with pytest.raises(error, match=rule):
        view.process(message, now=NOW)
    assert view.to_bytes() == before


def test_view_refuses_a_forged_commit() -> None:
    devices = make_group()
    alice, bob, carol = devices
    view = view_of(devices)
    output = alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    message = public_message(output.commit)
    forged = replace(message, auth=replace(message.auth, signature=flip(message.auth.signature)))
    assert_view_refuses(view, serialize(MLSMessage(body=forged)), SignatureError, "§6.1")
    # A member's commit signed by someone else.
    mallory = make_device("mallory")
    impostor = seal_public(alice, frame(alice, Commit(proposals=())), signer=mallory.signer)
    assert_view_refuses(view, impostor, SignatureError, "§6.1")
    # A commit that removes its committer.
    bad = seal_public(bob, frame(bob, Commit(proposals=(Remove(removed=bob.group.own_leaf),))))
    assert_view_refuses(view, bad, ValidationError, "§12.2: commit contains a Remove of the committer")
    # The real one goes through.
    view.merge(view.process(output.commit, now=NOW))  # type: ignore[arg-type]
    alice.group.merge_pending_commit()
    deliver(output.commit, [bob, carol])
    assert view.epoch == alice.group.epoch and view.tree.tree_hash() == alice.group.tree.tree_hash()


def test_view_refuses_stale_and_losing_commits() -> None:
    devices = make_group()
    alice, bob, carol = devices
    view = view_of(devices)
    # Alice and bob commit for the same epoch; the first the server sees wins.
    first = alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    second = bob.group.commit(rng=bob.rng, now=NOW, force_path=True)
    staged_first = view.process(first.commit, now=NOW)
    staged_second = view.process(second.commit, now=NOW)
    assert isinstance(staged_first, PublicCommit) and isinstance(staged_second, PublicCommit)
    view.merge(staged_first)
    with pytest.raises(LocalProtocolError, match="stale commit"):
        view.merge(staged_second)
    assert_view_refuses(view, second.commit, WrongEpochError, "§12.4.2: message epoch differs")
    alice.group.merge_pending_commit()
    bob.group.discard_pending_commit()
    deliver(first.commit, [bob, carol])
    assert_agree(devices)
    # A commit of an epoch long gone.
    later = commit(carol, [alice, bob], force_path=True)
    view.merge(view.process(later.commit, now=NOW))  # type: ignore[arg-type]
    assert_view_refuses(view, first.commit, WrongEpochError, "§12.4.2: message epoch differs")
    assert view.epoch == carol.group.epoch
    assert view.tree.tree_hash() == carol.group.tree.tree_hash()


def test_view_refuses_private_handshake_messages() -> None:
    devices = make_group(handshake=WireFormat.PRIVATE_MESSAGE)
    alice = devices[0]
    view = view_of(devices)
    output = alice.group.commit(rng=alice.rng, now=NOW, force_path=True)
    assert_view_refuses(view, output.commit, ValidationError, "handshake messages must be PublicMessages")


def group_with_server() -> tuple[list[Device], Device, PublicGroupView]:
    server = make_device("server")
    senders = ExternalSenders(
        external_senders=(ExternalSender(signature_key=server.signer.public_key, credential=server.credential),)
    )
    devices = make_group(("alice", "bob", "carol", "dave"), extensions=[make_extension(senders)])
    return devices, server, view_of(devices)


def test_server_removes_a_member() -> None:
    devices, server, view = group_with_server()
    alice, bob, carol, dave = devices
    proposal = view.propose_remove(bob.group.own_leaf, signer=server.signer)
    deliver(proposal, devices)
    with pytest.raises(LocalProtocolError):
        view.propose_remove(LeafIndex(7), signer=server.signer)
    # A restart of the server between the proposal and the commit.
    view = PublicGroupView.from_bytes(view.to_bytes())
    output = commit(carol, [alice, bob, dave])
    staged = view.process(output.commit, now=NOW)
    assert isinstance(staged, PublicCommit)
    assert staged.removed == (LeafIndex(1),)
    view.merge(staged)
    assert bob.group.status is GroupStatus.REMOVED
    remaining = [alice, carol, dave]
    assert_agree(remaining)
    assert sorted(identity for _, identity, _ in view.members()) == [b"alice", b"carol", b"dave"]
    assert view.group_context == alice.group.group_context


def test_view_round_trip_keeps_following() -> None:
    devices, _, view = group_with_server()
    alice, bob, carol, dave = devices
    update = carol.group.propose_update(rng=carol.rng)
    deliver(update, [alice, bob, dave])
    assert isinstance(view.process(update, now=NOW), PublicProposal)
    data = view.to_bytes()
    restored = PublicGroupView.from_bytes(data)
    assert restored.to_bytes() == data
    assert restored.group_context == view.group_context and restored.tree == view.tree
    output = commit(alice, others(devices, alice))  # commits carol's Update by reference
    staged = restored.process(output.commit, now=NOW)
    restored.merge(staged)  # type: ignore[arg-type]
    assert restored.tree.tree_hash() == alice.group.tree.tree_hash()
    assert restored.epoch == alice.group.epoch
    # An external join seen by the restored view.
    erin = make_device("erin")
    erin.group, join = Group.join_external(
        alice.group.group_info(),
        signer=erin.signer,
        credential=erin.credential,
        rng=erin.rng,
        now=NOW,
        config=erin.config,
    )
    restored.merge(restored.process(join, now=NOW))  # type: ignore[arg-type]
    deliver(join, devices)
    assert restored.group_context == erin.group.group_context
    assert_agree([*devices, erin])
    with pytest.raises(Exception, match="format version"):
        PublicGroupView.from_bytes(b"\x09" + data[1:])
