"""The ratchet tree (RFC 9420 §4, §7): operations, resolutions, filtered direct paths, cached tree
hashes against fresh computation, copies, lookups and the group-dependent leaf checks of §7.3."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError, ValidationError
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.credential import Certificate, X509Credential
from enseal.mls.extensions import Extension, RequiredCapabilities, make_extension
from enseal.mls.group_context import GroupContext
from enseal.mls.leaf_node import Capabilities, LeafNode
from enseal.mls.ratchet_tree import DuplicateKeyError, RatchetTree
from enseal.mls.tree_nodes import ParentNode
from enseal.mls.treekem import create_update_path
from enseal.mls.wire import serialize
from enseal.types import CipherSuiteId, Epoch, LeafIndex, NodeIndex

from .members import CAPABILITIES, GROUP_ID, NOW, SUITE, Member, accept_credentials, make_member, seeded, tree_of

POOL = [make_member(f"p{i}", seeded(100 + i)) for i in range(48)]


def _parent(tag: int) -> ParentNode:
    return ParentNode(encryption_key=bytes([tag]) * 32, parent_hash=b"")


def test_create_add_extends_and_fills_leftmost_blank() -> None:
    tree = RatchetTree.create(SUITE, POOL[0].leaf)
    assert (tree.leaf_count, tree.member_count, tree.node_count) == (1, 1, 1)
    assert tree.add_leaf(POOL[1].leaf) == 1
    assert tree.add_leaf(POOL[2].leaf) == 2
    assert tree.leaf_count == 4
    tree.remove_leaf(LeafIndex(1))
    assert tree.next_free_leaf() == 1
    assert tree.add_leaf(POOL[3].leaf) == 1
    assert tree.add_leaf(POOL[4].leaf) == 3
    assert tree.next_free_leaf() == 4
    assert [i for i, _ in tree.members()] == [0, 1, 2, 3]


def test_add_marks_the_new_leaf_unmerged_at_non_blank_ancestors() -> None:
    tree = tree_of(POOL[:3])
    create_update_path(tree, sender=LeafIndex(0), group_id=GROUP_ID, signing_key=POOL[0].signing_key,
                       credential=POOL[0].leaf.credential, capabilities=CAPABILITIES, rng=seeded(1))
    # leaf 0 committed: nodes 1 and 3 are set (leaf 2 sits under node 3's right child)
    assert tree.parent_node(NodeIndex(1)) is not None
    assert tree.parent_node(NodeIndex(3)) is not None
    assert tree.add_leaf(POOL[3].leaf) == 3
    assert tree.parent_node(NodeIndex(3)).unmerged_leaves == (3,)
    assert tree.parent_node(NodeIndex(5)) is None
    tree.remove_leaf(LeafIndex(2))
    assert tree.parent_node(NodeIndex(3)) is None  # on the removed leaf's direct path
    assert tree.add_leaf(POOL[5].leaf) == 2


def test_remove_blanks_the_path_and_truncates() -> None:
    tree = tree_of(POOL[:5])
    assert tree.leaf_count == 8
    tree.remove_leaf(LeafIndex(4))
    assert tree.leaf_count == 4
    tree.remove_leaf(LeafIndex(1))
    assert tree.leaf_count == 4  # leaf 3 keeps the right half
    tree.remove_leaf(LeafIndex(3))
    tree.remove_leaf(LeafIndex(2))
    assert tree.leaf_count == 1
    with pytest.raises(LocalProtocolError, match="last member"):
        tree.remove_leaf(LeafIndex(0))
    with pytest.raises(ValidationError, match="does not identify a member"):
        tree_of(POOL[:3]).remove_leaf(LeafIndex(3))


def test_update_replaces_the_leaf_and_blanks_its_path() -> None:
    tree = tree_of(POOL[:4])
    create_update_path(tree, sender=LeafIndex(0), group_id=GROUP_ID, signing_key=POOL[0].signing_key,
                       credential=POOL[0].leaf.credential, capabilities=CAPABILITIES, rng=seeded(1))
    tree.update_leaf(LeafIndex(1), POOL[9].leaf)
    assert tree.leaf(LeafIndex(1)) == POOL[9].leaf
    assert tree.parent_node(NodeIndex(1)) is None
    assert tree.parent_node(NodeIndex(3)) is None
    assert tree.leaf_index_by_signature_key(POOL[1].leaf.signature_key) is None
    assert tree.leaf_index_by_signature_key(POOL[9].leaf.signature_key) == 1


def test_resolution_of_the_rfc_example() -> None:
    # RFC 9420 §4.1.1, "A Tree with Blanks and Unmerged Leaves": X[B] at node 3, Y at node 9.
    leaves = {0: POOL[0], 1: POOL[1], 3: POOL[3], 4: POOL[4], 5: POOL[5], 7: POOL[7]}
    nodes: list[object] = [None] * 15
    for index, member in leaves.items():
        nodes[2 * index] = member.leaf
    nodes[3] = ParentNode(encryption_key=b"X" * 32, parent_hash=b"", unmerged_leaves=(1,))
    nodes[9] = _parent(9)
    tree = RatchetTree.from_trusted_nodes(SUITE, nodes)
    assert tree.resolution(NodeIndex(3)) == [3, 2]
    assert tree.resolution(NodeIndex(4)) == []
    assert tree.resolution(NodeIndex(12)) == []
    assert tree.resolution(NodeIndex(7)) == [3, 2, 9, 14]
    assert tree.resolution(NodeIndex(7), exclude={LeafIndex(1), LeafIndex(7)}) == [3, 9]


def test_filtered_direct_paths_of_the_rfc_example() -> None:
    # RFC 9420 §4.1.2, "A Complete Tree with Five Members": T=1, W=7, X=9, Y=11 are set;
    # U=3, V=5, Z=13 are blank; leaves 2, 3 and 7 are blank.
    nodes: list[object] = [None] * 15
    for index in (0, 1, 4, 5, 6):
        nodes[2 * index] = POOL[index].leaf
    for index in (1, 7, 9, 11):
        nodes[index] = _parent(index)
    tree = RatchetTree.from_trusted_nodes(SUITE, nodes)

    def fdp(leaf: int) -> list[int]:
        return [p for p, _ in tree.filtered_direct_path(LeafIndex(leaf))]

    assert fdp(0) == fdp(1) == [1, 7]
    assert fdp(4) == fdp(5) == [9, 11, 7]
    assert fdp(6) == [11, 7]
    assert tree.filtered_direct_path(LeafIndex(6)) == [(11, 9), (7, 3)]


def test_to_extension_drops_trailing_blanks() -> None:
    tree = tree_of(POOL[:3])
    nodes = tree.to_nodes()
    assert len(nodes) == 5 and tree.node_count == 7
    assert RatchetTree.from_trusted_nodes(SUITE, nodes) == tree
    assert serialize(tree.to_extension())[0:1] != b""


def test_lookups() -> None:
    tree = tree_of(POOL[:3])
    assert tree.leaf_index_by_signature_key(POOL[2].leaf.signature_key) == 2
    assert tree.node_index_by_encryption_key(POOL[2].leaf.encryption_key) == 4
    assert tree.find_leaf(POOL[1].leaf) == 1
    assert tree.find_leaf(POOL[5].leaf) is None
    assert tree.leaf(LeafIndex(9)) is None


def test_duplicate_keys_are_refused_and_leave_the_tree_unchanged() -> None:
    tree = tree_of(POOL[:2])
    before = tree.copy()
    same_encryption_key = replace(POOL[3].leaf, encryption_key=POOL[0].leaf.encryption_key)
    with pytest.raises(DuplicateKeyError, match=r"§7\.3: encryption_key not unique"):
        tree.add_leaf(same_encryption_key)
    same_signature_key = replace(POOL[3].leaf, signature_key=POOL[1].leaf.signature_key)
    with pytest.raises(DuplicateKeyError, match=r"§7\.3: signature_key not unique"):
        tree.add_leaf(same_signature_key)
    assert tree.leaf_index_by_signature_key(POOL[1].leaf.signature_key) == 1
    assert tree.member_count == 2
    assert tree.tree_hash() == before.tree_hash()


def test_copy_is_independent() -> None:
    tree = tree_of(POOL[:3])
    digest = tree.tree_hash()
    copy = tree.copy()
    copy.add_leaf(POOL[3].leaf)
    copy.remove_leaf(LeafIndex(0))
    assert tree.tree_hash() == digest
    assert tree.leaf_index_by_signature_key(POOL[0].leaf.signature_key) == 0
    assert tree.member_count == 3 and copy.member_count == 3
    assert tree != copy


# -- cached hashes equal hashes computed from scratch, whatever the history -----------------------

operations = st.lists(
    st.tuples(st.sampled_from(("add", "remove", "update", "commit")), st.integers(0, 1000)), min_size=1, max_size=14
)


@settings(max_examples=80, deadline=None)
@given(operations)
def test_cached_tree_hashes_match_fresh_computation(ops: list[tuple[str, int]]) -> None:
    rng = seeded(len(ops))
    unused = list(range(2, len(POOL)))
    owner: dict[int, Member] = {0: POOL[0], 1: POOL[1]}
    tree = tree_of([POOL[0], POOL[1]])
    for op, pick in ops:
        members = sorted(owner)
        target = LeafIndex(members[pick % len(members)])
        if op == "add" and unused:
            member = POOL[unused.pop(pick % len(unused))]
            owner[tree.add_leaf(member.leaf)] = member
        elif op == "remove" and len(members) > 1:
            tree.remove_leaf(target)
            del owner[target]
        elif op == "update" and unused:
            member = POOL[unused.pop(pick % len(unused))]
            tree.update_leaf(target, member.leaf)
            owner[target] = member
        elif op == "commit":
            signer = owner[target]
            leaf = tree.member_leaf(target)
            create_update_path(tree, sender=target, group_id=GROUP_ID, signing_key=signer.signing_key,
                               credential=leaf.credential, capabilities=leaf.capabilities, rng=rng)
        fresh = RatchetTree.from_trusted_nodes(SUITE, tree.to_nodes())
        assert fresh == tree
        for index in range(tree.node_count):
            assert tree.node_hash(NodeIndex(index)) == fresh.node_hash(NodeIndex(index))
        assert tree.member_count == len(owner)


def test_a_path_update_rehashes_only_the_path() -> None:
    members = POOL[:32]
    tree = tree_of(members)
    tree.tree_hash()
    create_update_path(tree, sender=LeafIndex(5), group_id=GROUP_ID, signing_key=members[5].signing_key,
                       credential=members[5].leaf.credential, capabilities=CAPABILITIES, rng=seeded(1))
    # Only the leaf and its direct path (log2(32) = 5 nodes) lost their cached hash.
    invalidated = {i for i in range(tree.node_count) if tree._hashes[i] is None}
    assert invalidated == {10, 9, 11, 7, 15, 31}


# -- the group-dependent checks of leaf node validation (§7.3) ------------------------------------


def _x509_member(name: str, seed: int, credentials: tuple[int, ...]) -> Member:
    return make_member(name, seeded(seed), credential=X509Credential(certificates=(Certificate(cert_data=b"der"),)),
                       capabilities=replace(CAPABILITIES, credentials=credentials))


def test_fits_accepts_a_compatible_leaf() -> None:
    tree = tree_of(POOL[:3])
    tree.check_leaf_node_fits(POOL[5].leaf, group_context_extensions=())
    # an Update keeps its signature key but needs a new encryption key
    tree.check_leaf_node_fits(replace(POOL[5].leaf, signature_key=POOL[1].leaf.signature_key),
                              group_context_extensions=(), replacing=LeafIndex(1))


def test_fits_rejects_duplicate_keys() -> None:
    tree = tree_of(POOL[:3])
    with pytest.raises(DuplicateKeyError, match=r"§7\.3: signature_key not unique"):
        tree.check_leaf_node_fits(replace(POOL[5].leaf, signature_key=POOL[1].leaf.signature_key),
                                  group_context_extensions=())
    with pytest.raises(DuplicateKeyError, match=r"§7\.3: encryption_key not unique"):
        tree.check_leaf_node_fits(POOL[1].leaf, group_context_extensions=(), replacing=LeafIndex(1))


def test_fits_rejects_a_credential_type_others_do_not_support() -> None:
    tree = tree_of(POOL[:3])
    with pytest.raises(ValidationError, match=r"§7\.3: credential type not supported by all members"):
        tree.check_leaf_node_fits(_x509_member("x", 1, (1, 2)).leaf, group_context_extensions=())


def test_fits_rejects_a_leaf_that_does_not_support_a_type_in_use() -> None:
    mixed = tree_of([_x509_member("y", 2, (1, 2)), make_member("z", seeded(3), capabilities=replace(
        CAPABILITIES, credentials=(1, 2)))])
    with pytest.raises(ValidationError, match=r"§7\.3: leaf does not support a credential type in use"):
        mixed.check_leaf_node_fits(_x509_member("w", 4, (2,)).leaf, group_context_extensions=())
    # replacing the only basic-credential member lifts the requirement
    mixed.check_leaf_node_fits(_x509_member("w", 4, (2,)).leaf, group_context_extensions=(), replacing=LeafIndex(1))


@pytest.mark.parametrize(
    ("required", "rule"),
    [
        (RequiredCapabilities(extension_types=(0xF001,)), "lacks a required extension type"),
        (RequiredCapabilities(proposal_types=(0xF002,)), "lacks a required proposal type"),
        (RequiredCapabilities(credential_types=(2,)), "lacks a required credential type"),
    ],
)
def test_fits_rejects_missing_required_capabilities(required: RequiredCapabilities, rule: str) -> None:
    tree = tree_of(POOL[:2])
    with pytest.raises(ValidationError, match=rule):
        tree.check_leaf_node_fits(POOL[5].leaf, group_context_extensions=(make_extension(required),))
    with pytest.raises(ValidationError, match="required capability not supported by all members"):
        tree.check_members_support((make_extension(required),))


def test_default_types_are_implicitly_supported() -> None:
    tree = tree_of(POOL[:2])
    required = RequiredCapabilities(extension_types=(1, 2, 3, 4, 5), proposal_types=(1, 2, 3, 4, 5, 6, 7))
    tree.check_leaf_node_fits(POOL[5].leaf, group_context_extensions=(make_extension(required),))
    tree.check_members_support((make_extension(required),))


def test_group_context_extensions_must_be_supported() -> None:
    tree = tree_of(POOL[:2])
    custom = Extension(extension_type=0xF00D, extension_data=b"")
    with pytest.raises(ValidationError, match=r"§13\.4: leaf does not support a group context extension"):
        tree.check_leaf_node_fits(POOL[5].leaf, group_context_extensions=(custom,))
    with pytest.raises(ValidationError, match=r"§13\.4: a group context extension is not supported by all members"):
        tree.check_members_support((custom,))
    supporting = make_member("s", seeded(7), capabilities=Capabilities(
        versions=(1,), cipher_suites=(1,), extensions=(0xF00D,), credentials=(1,)))
    tree.check_leaf_node_fits(supporting.leaf, group_context_extensions=(custom,))


def test_whole_tree_credential_check() -> None:
    tree_of(POOL[:3]).check_credential_types()
    mixed = RatchetTree.from_trusted_nodes(SUITE, [POOL[0].leaf, None, _x509_member("x", 1, (1, 2)).leaf])
    with pytest.raises(ValidationError, match="credential type in use not supported by all members"):
        mixed.check_credential_types()


def test_parent_hash_of_a_blank_node_is_refused() -> None:
    tree = tree_of(POOL[:2])
    with pytest.raises(LocalProtocolError, match="blank"):
        tree.parent_hash(NodeIndex(1), NodeIndex(2))


def test_validate_incoming_leaf_for_an_update() -> None:
    tree = tree_of(POOL[:3])
    context = GroupContext(cipher_suite=CipherSuiteId(1), group_id=GROUP_ID, epoch=Epoch(1), tree_hash=b"",
                           confirmed_transcript_hash=b"")
    member = POOL[1]
    update = LeafNode.sign(SUITE, member.signing_key, encryption_key=POOL[20].leaf.encryption_key,
                           credential=member.leaf.credential, capabilities=CAPABILITIES,
                           leaf_node_source=LeafNodeSource.UPDATE, group_id=GROUP_ID, leaf_index=LeafIndex(1))
    args = {"source": LeafNodeSource.UPDATE, "group_context": context, "now": NOW,
            "validate_credential": accept_credentials}
    tree.validate_incoming_leaf(update, leaf_index=LeafIndex(1), replacing=LeafIndex(1), **args)
    with pytest.raises(DuplicateKeyError, match="signature_key not unique"):
        tree.validate_incoming_leaf(update, leaf_index=LeafIndex(1), replacing=None, **args)
    with pytest.raises(ValidationError, match="leaf_node_source must be commit"):
        tree.validate_incoming_leaf(update, leaf_index=LeafIndex(1), replacing=LeafIndex(1),
                                    **{**args, "source": LeafNodeSource.COMMIT})
