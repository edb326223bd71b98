"""Enseal's MLS talking to another implementation of RFC 9420: ts-mls, in a Node.js process.

Only whole MLSMessages cross between the two, as between two clients on the wire. After each
step both sides must hold the same epoch, tree hash, epoch authenticator and exporter output, and
each must decrypt the other's application messages. Every RFC 9420 cipher suite (1-7).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest
from tests.interop.conftest import MakePeer
from tests.interop.tsmls_peer import TsMlsPeer

from enseal.crypto import SignaturePrivateKey, cipher_suite
from enseal.errors import DecodeError, LocalProtocolError, RemoteProtocolError, SignatureError, ValidationError
from enseal.mls.credential import BasicCredential
from enseal.mls.framing import MLSMessage, PublicMessage
from enseal.mls.group import ApplicationMessage, Group, ProposalMessage, StagedCommit
from enseal.mls.group_config import GroupConfig
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import Add, Remove
from enseal.mls.public_view import PublicCommit, PublicGroupView
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.wire import deserialize, serialize

SUITES = [1, 2, 3, 4, 5, 6, 7]
LABEL = "enseal interop"


def now() -> int:
    return int(time.time())


class PyMember:
    """An Enseal client: a signing key, a basic credential and (once in one) a group."""

    def __init__(self, name: str, suite: int) -> None:
        self.name = name
        self.suite = cipher_suite(suite)
        self.signer: SignaturePrivateKey = self.suite.generate_signature_key(os.urandom)
        self.credential = BasicCredential(identity=name.encode())
        self._group: Group | None = None
        self.bundle: KeyPackageBundle | None = None

    @property
    def group(self) -> Group:
        assert self._group is not None
        return self._group

    def create(self, group_id: bytes) -> None:
        self._group = Group.create(self.suite, group_id=group_id, signer=self.signer, credential=self.credential,
                                   rng=os.urandom, now=now(), config=GroupConfig())

    def key_package(self) -> bytes:
        self.bundle = KeyPackageBundle.create(self.suite, self.signer, self.credential, rng=os.urandom, now=now())
        return serialize(MLSMessage(body=self.bundle.key_package))

    def join(self, welcome: bytes) -> None:
        assert self.bundle is not None
        self._group = Group.join(welcome, self.bundle, now=now())

    def join_external(self, group_info: bytes) -> bytes:
        self._group, commit = Group.join_external(group_info, signer=self.signer, credential=self.credential,
                                                  rng=os.urandom, now=now())
        return commit

    def commit(self, **kwargs: object) -> tuple[bytes, bytes | None]:
        output = self.group.commit(rng=os.urandom, now=now(), **kwargs)  # type: ignore[arg-type]
        self.group.merge_pending_commit()
        return output.commit, output.welcome

    def process(self, message: bytes) -> ApplicationMessage | ProposalMessage | StagedCommit:
        result = self.group.process(message, now=now())
        if isinstance(result, StagedCommit):
            self.group.merge(result)
        return result


def key_package_of(message: bytes) -> KeyPackage:
    body = deserialize(MLSMessage, message).body
    assert isinstance(body, KeyPackage)
    return body


def assert_agree(py: list[PyMember], ts: list[TsMlsPeer]) -> None:
    """Same epoch, tree hash, epoch authenticator and exporter output; everyone reads everyone."""
    reference = py[0].group
    context = reference.epoch.to_bytes(8, "big")
    exported = reference.export_secret(LABEL.encode(), context, 32)
    for member in py:
        assert member.group.epoch == reference.epoch, member.name
        assert member.group.epoch_authenticator == reference.epoch_authenticator, member.name
        assert member.group.export_secret(LABEL.encode(), context, 32) == exported, member.name
    for peer in ts:
        state = peer.state()
        assert state.epoch == reference.epoch
        assert state.tree_hash == reference.group_context.tree_hash
        assert state.epoch_authenticator == reference.epoch_authenticator
        assert peer.export(LABEL, context, 32) == exported
    for sender in py:
        text = f"from {sender.name} at epoch {sender.group.epoch}".encode()
        ciphertext = sender.group.encrypt_application(text, rng=os.urandom)
        for receiver in py:
            if receiver is not sender:
                message = receiver.group.process(ciphertext, now=now())
                assert isinstance(message, ApplicationMessage) and message.data == text
        for peer in ts:
            assert peer.process(ciphertext)[0] == text
    for index, peer in enumerate(ts):
        text = f"from ts-mls {index} at epoch {reference.epoch}".encode()
        ciphertext = peer.send(text)
        for receiver in py:
            message = receiver.group.process(ciphertext, now=now())
            assert isinstance(message, ApplicationMessage) and message.data == text
        for other in ts:
            if other is not peer:
                assert other.process(ciphertext)[0] == text


def ts_group_with(tsmls: MakePeer, suite: int, *names: str) -> tuple[TsMlsPeer, list[PyMember]]:
    """ts-mls creates a group and adds Enseal members by one commit; they join from its Welcome."""
    peer = tsmls(suite)
    peer.create(b"ts-group", "ts-alice")
    members = [PyMember(name, suite) for name in names]
    _, welcome, state = peer.commit(add=[m.key_package() for m in members])
    assert welcome is not None and state.epoch == 1
    for member in members:
        member.join(welcome)
    return peer, members


def py_group_with(tsmls: MakePeer, suite: int, *, extra: int = 0) -> tuple[list[PyMember], TsMlsPeer]:
    """Enseal creates a group and adds a ts-mls peer (and ``extra`` Enseal members) by one commit."""
    creator = PyMember("py-alice", suite)
    creator.create(b"py-group")
    peer = tsmls(suite)
    others = [PyMember(f"py-{i}", suite) for i in range(extra)]
    packages = [peer.key_package("ts-bob")] + [m.key_package() for m in others]
    _, welcome = creator.commit(proposals=[Add(key_package=key_package_of(kp)) for kp in packages])
    assert welcome is not None
    state = peer.join(welcome)
    assert state.epoch == 1
    for member in others:
        member.join(welcome)
    return [creator, *others], peer


@pytest.mark.parametrize("suite", SUITES)
def test_we_join_a_tsmls_group_from_its_welcome(tsmls: MakePeer, suite: int) -> None:
    peer, py = ts_group_with(tsmls, suite, "py-bob", "py-carol")
    assert [m.group.own_leaf for m in py] == [1, 2]
    assert_agree(py, [peer])


@pytest.mark.parametrize("suite", SUITES)
def test_tsmls_joins_our_group_from_our_welcome(tsmls: MakePeer, suite: int) -> None:
    py, peer = py_group_with(tsmls, suite, extra=1)
    assert peer.state().own_leaf == 1
    assert_agree(py, [peer])


@pytest.mark.parametrize("suite", SUITES)
def test_commits_with_paths_both_ways(tsmls: MakePeer, suite: int) -> None:
    py, peer = py_group_with(tsmls, suite, extra=1)
    for _ in range(2):
        commit, _ = py[0].commit(force_path=True)
        for member in py[1:]:
            member.process(commit)
        assert peer.process(commit)[1].epoch == py[0].group.epoch
        assert_agree(py, [peer])
        commit, welcome, _ = peer.commit()
        assert welcome is None
        for member in py:
            assert isinstance(member.process(commit), StagedCommit)
        assert_agree(py, [peer])


@pytest.mark.parametrize("suite", SUITES)
def test_tsmls_commit_as_private_message(tsmls: MakePeer, suite: int) -> None:
    peer, py = ts_group_with(tsmls, suite, "py-bob", "py-carol")
    commit, _, _ = peer.commit(public_message=False)
    assert deserialize(MLSMessage, commit).wire_format.name == "PRIVATE_MESSAGE"
    for member in py:
        assert isinstance(member.process(commit), StagedCommit)
    assert_agree(py, [peer])


@pytest.mark.parametrize("suite", SUITES)
def test_adds_and_removes_across_implementations(tsmls: MakePeer, suite: int) -> None:
    peer, py = ts_group_with(tsmls, suite, "py-bob", "py-carol")
    # ts-mls removes carol and adds dave in one commit.
    dave = PyMember("py-dave", suite)
    commit, welcome, _ = peer.commit(add=[dave.key_package()], remove=[2])
    assert welcome is not None
    staged = py[0].process(commit)
    assert isinstance(staged, StagedCommit)
    assert [m.leaf_index for m in staged.removed] == [2]
    removed = py[1].group.process(commit, now=now())
    assert isinstance(removed, StagedCommit) and removed.self_removed
    dave.join(welcome)
    assert dave.group.own_leaf == 2  # the leaf carol left
    assert_agree([py[0], dave], [peer])
    # Enseal adds a second ts-mls client and removes dave; both ts-mls clients follow.
    second = tsmls(suite)
    commit, welcome = py[0].commit(proposals=[Add(key_package=key_package_of(second.key_package("ts-erin")))])
    peer.process(commit)
    dave.process(commit)
    assert welcome is not None
    second.join(welcome)
    assert_agree([py[0], dave], [peer, second])
    commit, _ = py[0].commit(proposals=[Remove(removed=dave.group.own_leaf)])
    peer.process(commit)
    second.process(commit)
    assert_agree([py[0]], [peer, second])


@pytest.mark.parametrize("suite", SUITES)
def test_proposals_by_reference_both_ways(tsmls: MakePeer, suite: int) -> None:
    peer, py = ts_group_with(tsmls, suite, "py-bob", "py-carol")
    # ts-mls proposes removing carol; Enseal commits the proposal by reference.
    proposal = peer.propose_remove(2)
    for member in py:
        assert isinstance(member.process(proposal), ProposalMessage)
    commit, _ = py[0].commit()
    assert peer.process(commit)[1].members == 2
    assert py[1].group.process(commit, now=now()).self_removed  # type: ignore[union-attr]
    assert_agree([py[0]], [peer])
    # Enseal proposes adding dave; ts-mls commits it by reference and dave joins from its Welcome.
    dave = PyMember("py-dave", suite)
    proposal = py[0].group.propose_add(key_package_of(dave.key_package()), rng=os.urandom, now=now())
    peer.process(proposal)
    commit, welcome, _ = peer.commit()
    assert welcome is not None
    py[0].process(commit)
    dave.join(welcome)
    assert_agree([py[0], dave], [peer])


@pytest.mark.parametrize("suite", SUITES)
def test_external_joins_both_ways(tsmls: MakePeer, suite: int) -> None:
    py, peer = py_group_with(tsmls, suite)
    # A second ts-mls client joins Enseal's group by external commit from our GroupInfo.
    joiner = tsmls(suite)
    commit, state = joiner.join_external(py[0].group.group_info(), "ts-erin")
    staged = py[0].process(commit)
    assert isinstance(staged, StagedCommit) and staged.external
    peer.process(commit)
    assert state.epoch == py[0].group.epoch
    assert_agree(py, [peer, joiner])
    # An Enseal client joins by external commit from ts-mls's GroupInfo.
    frank = PyMember("py-frank", suite)
    commit = frank.join_external(peer.group_info())
    py[0].process(commit)
    peer.process(commit)
    joiner.process(commit)
    assert_agree([py[0], frank], [peer, joiner])


@pytest.mark.parametrize("suite", SUITES)
def test_branches_with_resumption_psks_both_ways(tsmls: MakePeer, suite: int) -> None:
    """Section 11.3: a subgroup linked to the parent's epoch by a resumption PSK (usage branch)."""
    py, peer = py_group_with(tsmls, suite, extra=1)
    alice, bob = py
    # Enseal branches alice + ts-mls into a subgroup; ts-mls joins with its parent state.
    branch, output = alice.group.branch(group_id=b"py-branch", rng=os.urandom, now=now(),
                                        key_packages=[key_package_of(peer.key_package("ts-bob"))])
    assert output.welcome is not None
    state = peer.join_branch(output.welcome)
    assert state.epoch == 1 and state.epoch_authenticator == branch.epoch_authenticator
    alice._group = branch
    assert_agree([alice], [peer])
    # ts-mls branches that subgroup again; its Welcome has no ratchet_tree, so the tree comes along.
    welcome, tree_bytes, _ = peer.branch(b"ts-branch", [alice.key_package()], "ts-bob")
    tree = deserialize(RatchetTreeExtension, tree_bytes).ratchet_tree
    assert alice.bundle is not None
    alice._group = Group.join(welcome, alice.bundle, now=now(), ratchet_tree=tree,
                              resumption_sources={b"py-branch": branch})
    assert_agree([alice], [peer])
    assert bob.group.epoch == 1  # the parent group is untouched
    # ts-mls lets a branch hold someone who was not in the group it branches from; section 11.3:
    # "Each LeafNode in a new subgroup MUST match some LeafNode in the original group".
    subgroup = alice.group
    stranger = PyMember("py-stranger", suite)
    welcome, tree_bytes, _ = peer.branch(b"ts-branch-2", [alice.key_package(), stranger.key_package()], "ts-bob")
    tree = deserialize(RatchetTreeExtension, tree_bytes).ratchet_tree
    with pytest.raises(ValidationError, match=r"§11\.3: a branch member is not a member of the old group"):
        Group.join(welcome, alice.bundle, now=now(), ratchet_tree=tree, resumption_sources={b"ts-branch": subgroup})
    # Enseal refuses to create such a branch in the first place.
    with pytest.raises(LocalProtocolError, match=r"§11\.3: every member of a branch must be a member"):
        subgroup.branch(group_id=b"py-branch-2", rng=os.urandom, now=now(),
                        key_packages=[key_package_of(stranger.key_package())])


# -- ts-mls as shipped: where it departs from RFC 9420, Enseal refuses with the rule -------------


@pytest.mark.parametrize("suite", [2, 5, 7])
def test_compressed_ecdsa_signature_keys_are_refused(tsmls: MakePeer, suite: int) -> None:
    """ts-mls 1.6.4 sends ECDSA keys compressed; section 5.1.1 requires uncompressed points."""
    peer = tsmls(suite, conformant=False)
    py, _ = py_group_with(tsmls, suite)
    before = py[0].group.to_bytes().reveal()
    with pytest.raises(ValidationError, match=r"signature_key .*uncompressed"):
        py[0].group.commit(rng=os.urandom, now=now(),
                           proposals=[Add(key_package=key_package_of(peer.key_package("ts-shipped")))])
    assert not py[0].group.has_pending_commit
    assert py[0].group.to_bytes().reveal() == before
    # Nor does an Enseal client join a group whose tree holds such keys.
    peer.create(b"ts-shipped", "ts-alice")
    bob = PyMember("py-bob", suite)
    _, welcome, _ = peer.commit(add=[bob.key_package()])
    assert welcome is not None
    with pytest.raises(ValidationError, match=r"signature_key .*uncompressed"):
        bob.join(welcome)


def test_bare_external_pub_is_refused(tsmls: MakePeer) -> None:
    """ts-mls 1.6.4 puts the bare key in external_pub; section 12.4.3.2 wraps it in ExternalPub."""
    peer = tsmls(1, conformant=False)
    peer.create(b"ts-shipped", "ts-alice")
    frank = PyMember("py-frank", 1)
    # Read as the struct, the bare key almost always fails to decode (DecodeError); if its first
    # byte happens to read as a matching length, the rest is not a key (ValidationError).
    with pytest.raises(RemoteProtocolError) as refused:
        frank.join_external(peer.group_info())
    assert isinstance(refused.value, DecodeError) or "external_pub is not a key" in str(refused.value)


# -- the delivery service's public view follows a group driven by both implementations ------------


@pytest.mark.parametrize("suite", SUITES)
def test_server_public_view_follows_a_mixed_group(tsmls: MakePeer, suite: int) -> None:
    """What the Enseal server runs per group (no secrets) verifies and tracks ts-mls's handshakes."""
    peer, py = ts_group_with(tsmls, suite, "py-bob", "py-carol")
    view = PublicGroupView.from_group_info(peer.group_info())
    assert view.epoch == py[0].group.epoch

    def follow(message: bytes) -> None:
        result = view.process(message, now=now())
        if isinstance(result, PublicCommit):
            view.merge(result)

    def assert_view_agrees() -> None:
        assert view.epoch == py[0].group.epoch == peer.state().epoch
        assert view.group_context.to_bytes() == py[0].group.group_context.to_bytes()
        assert view.group_context.tree_hash == peer.state().tree_hash

    commit, _, _ = peer.commit()  # ts-mls: an empty commit with a path
    follow(commit)
    for member in py:
        member.process(commit)
    assert_view_agrees()
    commit, _ = py[0].commit(force_path=True)  # Enseal: a self-update
    follow(commit)
    peer.process(commit)
    py[1].process(commit)
    assert_view_agrees()
    proposal = peer.propose_remove(2)  # ts-mls proposes, Enseal commits by reference
    follow(proposal)
    for member in py:
        member.process(proposal)
    commit, _ = py[0].commit()
    follow(commit)
    peer.process(commit)
    assert_view_agrees()
    dave = PyMember("py-dave", suite)  # ts-mls adds a member
    commit, welcome, _ = peer.commit(add=[dave.key_package()])
    follow(commit)
    py[0].process(commit)
    assert welcome is not None
    dave.join(welcome)
    assert_view_agrees()
    assert [leaf for leaf, _, _ in view.members()] == [0, 1, 2]
    # A ts-mls commit whose signature was altered in flight is refused; the view stays where it was.
    commit, _, _ = peer.commit()
    message = deserialize(MLSMessage, commit).body
    assert isinstance(message, PublicMessage)
    signature = bytearray(message.auth.signature)
    signature[-1] ^= 1
    forged = replace(message, auth=replace(message.auth, signature=bytes(signature)))
    before = view.to_bytes()
    with pytest.raises(SignatureError):
        view.process(serialize(MLSMessage(body=forged)), now=now())
    assert view.to_bytes() == before
    follow(commit)
    assert view.epoch == peer.state().epoch

