"""TreeKEM (RFC 9420 §7.4-7.6, §7.9): groups that commit, add and remove agree on every commit
secret and tree; each check on a received UpdatePath rejects a broken path by its rule."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enseal.errors import AuthenticationError, LocalProtocolError, SignatureError, ValidationError
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.commit import UpdatePath, UpdatePathNode
from enseal.mls.leaf_node import LeafNode
from enseal.mls.ratchet_tree import DuplicateKeyError, RatchetTree
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.treekem import AppliedUpdatePath, PendingUpdatePath, apply_update_path, create_update_path
from enseal.types import LeafIndex

from .members import GROUP_ID, SUITE, SimulatedGroup, accept_credentials, make_member, seeded


def test_members_agree_through_commits_adds_and_removes() -> None:
    group = SimulatedGroup(5, seed=2)
    secrets = [
        group.commit(LeafIndex(0)),
        group.commit(LeafIndex(3), add=2),
        group.commit(LeafIndex(6), remove=[LeafIndex(1), LeafIndex(4)]),
        group.commit(LeafIndex(5), add=1),  # a member added two epochs ago commits
        group.commit(LeafIndex(2), remove=[LeafIndex(6)]),
    ]
    assert len({s.reveal() for s in secrets}) == len(secrets)
    assert group.tree.member_count == 5


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=5))
def test_random_histories_stay_in_agreement(steps: list[tuple[int, int, int]]) -> None:
    group = SimulatedGroup(4, seed=len(steps))
    for pick, add, remove in steps:
        members = sorted(group.private)
        sender = LeafIndex(members[pick % len(members)])
        removable = [m for m in members if m != sender]
        removed = [LeafIndex(removable[pick % len(removable)])] if remove and removable else []
        group.commit(sender, add=add, remove=removed)


def test_single_member_commit_has_an_empty_path() -> None:
    member = make_member("solo", seeded(4))
    tree = RatchetTree.create(SUITE, member.leaf)
    pending = create_update_path(tree, sender=LeafIndex(0), group_id=GROUP_ID, signing_key=member.signing_key,
                                 credential=member.leaf.credential, capabilities=member.leaf.capabilities,
                                 rng=seeded(5))
    path = pending.encrypt(SimulatedGroup(1).context(tree), exclude=(), rng=seeded(6))
    assert path.nodes == ()
    assert path.leaf_node.parent_hash == b""
    assert len(pending.commit_secret) == SUITE.hash_size


def test_external_commit_extends_a_full_tree() -> None:
    group = SimulatedGroup(4, seed=7)
    joiner = make_member("joiner", seeded(8))
    staged = group.tree.copy()
    sender = staged.next_free_leaf()
    assert sender == 4 == staged.leaf_count
    pending = create_update_path(staged, sender=sender, group_id=GROUP_ID, signing_key=joiner.signing_key,
                                 credential=joiner.leaf.credential, capabilities=joiner.leaf.capabilities,
                                 rng=seeded(9))
    assert staged.leaf_count == 8
    context = group.context(staged)
    path = pending.encrypt(context, exclude=(), rng=seeded(10))
    for leaf, keys in group.private.items():
        tree = group.tree.copy()
        applied = apply_update_path(tree, sender=sender, update_path=path, group_id=GROUP_ID,
                                    group_context_extensions=(), validate_credential=accept_credentials)
        assert tree == staged
        assert applied.decrypt(keys, context).commit_secret == pending.commit_secret, leaf


# -- a received UpdatePath breaking a rule -------------------------------------------------------


class Fixture:
    """A 6-member group where leaf 1 prepares paths that leaf 4 receives."""

    def __init__(self) -> None:
        self.group = SimulatedGroup(6, seed=21)
        self.group.commit(LeafIndex(5))
        self.sender = LeafIndex(1)
        self.signer = self.group.members[self.sender].signing_key

    def pending(self, seed: int) -> tuple[PendingUpdatePath, RatchetTree]:
        tree = self.group.tree.copy()
        leaf = tree.member_leaf(self.sender)
        pending = create_update_path(tree, sender=self.sender, group_id=GROUP_ID, signing_key=self.signer,
                                     credential=leaf.credential, capabilities=leaf.capabilities, rng=seeded(seed))
        return pending, tree

    def path(self, seed: int = 1) -> tuple[UpdatePath, PendingUpdatePath, RatchetTree]:
        pending, tree = self.pending(seed)
        return pending.encrypt(self.group.context(tree), exclude=(), rng=seeded(seed)), pending, tree

    def apply(self, path: UpdatePath) -> tuple[AppliedUpdatePath, RatchetTree]:
        tree = self.group.tree.copy()
        applied = apply_update_path(tree, sender=self.sender, update_path=path, group_id=GROUP_ID,
                                    group_context_extensions=(), validate_credential=accept_credentials)
        return applied, tree

    def expect_rejected(self, path: UpdatePath, error: type[Exception], rule: str) -> None:
        tree = self.group.tree.copy()
        with pytest.raises(error, match=rule):
            apply_update_path(tree, sender=self.sender, update_path=path, group_id=GROUP_ID,
                              group_context_extensions=(), validate_credential=accept_credentials)
        assert tree == self.group.tree  # nothing changed


@pytest.fixture(scope="module")
def fx() -> Fixture:
    return Fixture()


def test_fixture_path_is_accepted(fx: Fixture) -> None:
    path, pending, tree = fx.path()
    applied, merged = fx.apply(path)
    assert merged == tree
    result = applied.decrypt(fx.group.private[LeafIndex(4)], fx.group.context(tree))
    assert result.commit_secret == pending.commit_secret
    with pytest.raises(LocalProtocolError, match="committer uses its own"):
        applied.decrypt(fx.group.private[fx.sender], fx.group.context(tree))


def test_path_length_must_match_the_filtered_direct_path(fx: Fixture) -> None:
    path, _, _ = fx.path()
    fx.expect_rejected(replace(path, nodes=path.nodes[:-1]), ValidationError,
                       r"§7\.6: UpdatePath length differs from the filtered direct path")


def test_ciphertext_count_must_match_the_resolution(fx: Fixture) -> None:
    path, _, _ = fx.path()
    first = path.nodes[0]
    padded = replace(first, encrypted_path_secret=first.encrypted_path_secret * 2)
    fx.expect_rejected(replace(path, nodes=(padded, *path.nodes[1:])), ValidationError,
                       r"§7\.6: encrypted_path_secret count differs from the resolution")


def test_path_keys_must_be_new(fx: Fixture) -> None:
    path, _, _ = fx.path()
    taken = fx.group.tree.member_leaf(LeafIndex(3)).encryption_key
    reused = replace(path.nodes[0], encryption_key=taken)
    fx.expect_rejected(replace(path, nodes=(reused, *path.nodes[1:])), ValidationError,
                       r"§12\.4\.2: an UpdatePath public key already appears in the tree")
    twice = replace(path.nodes[1], encryption_key=path.nodes[0].encryption_key)
    fx.expect_rejected(replace(path, nodes=(path.nodes[0], twice, *path.nodes[2:])), ValidationError,
                       r"§12\.4\.2: an UpdatePath public key appears twice")
    invalid = replace(path.nodes[0], encryption_key=b"\x00" * 7)
    fx.expect_rejected(replace(path, nodes=(invalid, *path.nodes[1:])), ValidationError,
                       r"§7\.6: UpdatePath public key is not a key of the cipher suite")


def test_leaf_parent_hash_must_match_the_path(fx: Fixture) -> None:
    path_a, _, _ = fx.path(1)
    path_b, _, _ = fx.path(2)
    fx.expect_rejected(replace(path_a, nodes=path_b.nodes), ValidationError,
                       r"§7\.9\.2: the committer's leaf parent_hash does not match")


def test_derived_public_keys_must_match_the_path(fx: Fixture) -> None:
    # Path B's keys and leaf (consistent parent hashes) carrying path A's secrets: the secret
    # decrypts but derives other keys than the path announces.
    pending_a, _ = fx.pending(1)
    path_b, _, tree_b = fx.path(2)
    context = fx.group.context(tree_b)
    secrets_a = pending_a.encrypt(context, exclude=(), rng=seeded(3))
    mixed = replace(path_b, nodes=tuple(
        UpdatePathNode(encryption_key=b.encryption_key, encrypted_path_secret=a.encrypted_path_secret)
        for a, b in zip(secrets_a.nodes, path_b.nodes, strict=True)
    ))
    applied, _ = fx.apply(mixed)
    with pytest.raises(ValidationError, match=r"§7\.5: derived public key differs from the UpdatePath's"):
        applied.decrypt(fx.group.private[LeafIndex(4)], context)


def test_wrong_group_context_does_not_decrypt(fx: Fixture) -> None:
    path, _, tree = fx.path()
    applied, _ = fx.apply(path)
    context = fx.group.context(tree).evolve(confirmed_transcript_hash=b"forked")
    with pytest.raises(AuthenticationError, match=r"§7\.5: the path secret does not decrypt"):
        applied.decrypt(fx.group.private[LeafIndex(4)], context)


def test_leaf_must_be_a_commit_leaf_signed_for_this_group_and_index(fx: Fixture) -> None:
    path, _, _ = fx.path()
    leaf = path.leaf_node
    update_leaf = LeafNode.sign(SUITE, fx.signer, encryption_key=leaf.encryption_key, credential=leaf.credential,
                                capabilities=leaf.capabilities, leaf_node_source=LeafNodeSource.UPDATE,
                                group_id=GROUP_ID, leaf_index=fx.sender)
    fx.expect_rejected(replace(path, leaf_node=update_leaf), ValidationError, r"§7\.3: leaf_node_source must be commit")
    other_group = LeafNode.sign(SUITE, fx.signer, encryption_key=leaf.encryption_key, credential=leaf.credential,
                                capabilities=leaf.capabilities, leaf_node_source=LeafNodeSource.COMMIT,
                                parent_hash=leaf.parent_hash, group_id=b"other", leaf_index=fx.sender)
    fx.expect_rejected(replace(path, leaf_node=other_group), SignatureError, r"§7\.3: leaf node signature invalid")


def test_leaf_must_bring_a_new_encryption_key(fx: Fixture) -> None:
    path, _, _ = fx.path()
    leaf = path.leaf_node
    old = fx.group.tree.member_leaf(fx.sender)
    stale = LeafNode.sign(SUITE, fx.signer, encryption_key=old.encryption_key, credential=leaf.credential,
                          capabilities=leaf.capabilities, leaf_node_source=LeafNodeSource.COMMIT,
                          parent_hash=leaf.parent_hash, group_id=GROUP_ID, leaf_index=fx.sender)
    fx.expect_rejected(replace(path, leaf_node=stale), DuplicateKeyError, r"§7\.3: encryption_key not unique")


def test_new_members_are_excluded_and_get_their_path_secret() -> None:
    group = SimulatedGroup(3, seed=31)
    group.commit(LeafIndex(0), add=3)  # asserts every member, old and new, agrees
    assert group.tree.member_count == 6


def test_path_secret_for_a_leaf_outside_the_path_is_refused() -> None:
    group = SimulatedGroup(2, seed=41)
    tree = group.tree.copy()
    pending = create_update_path(tree, sender=LeafIndex(0), group_id=GROUP_ID,
                                 signing_key=group.members[LeafIndex(0)].signing_key,
                                 credential=tree.member_leaf(LeafIndex(0)).credential,
                                 capabilities=tree.member_leaf(LeafIndex(0)).capabilities, rng=seeded(1))
    pending.path_secret_for(LeafIndex(1))
    assert "secrets hidden" in repr(pending)
    with pytest.raises(LocalProtocolError, match="not below"):
        pending.path_secret_for(LeafIndex(0))


def test_recipient_without_a_usable_key_is_refused(fx: Fixture) -> None:
    path, _, tree = fx.path()
    applied, _ = fx.apply(path)
    stranger = TreePrivateKeys(SUITE, LeafIndex(4), SUITE.generate_hpke_key(seeded(50)))
    with pytest.raises(LocalProtocolError, match="no private key"):
        applied.decrypt(stranger, fx.group.context(tree))
