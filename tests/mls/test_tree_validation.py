"""Validation of a received ratchet tree at join (RFC 9420 §12.4.3.1, §7.9.2, §7.3): a valid tree
passes and each broken rule is reported by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from enseal.crypto import UnsupportedCipherSuite
from enseal.errors import SignatureError, ValidationError
from enseal.mls.credential import BasicCredential, Certificate, X509Credential
from enseal.mls.extensions import Extension, RequiredCapabilities, make_extension
from enseal.mls.group_context import GroupContext
from enseal.mls.leaf_node import LeafNode
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_nodes import Node, ParentNode
from enseal.mls.tree_validation import validate_ratchet_tree
from enseal.types import CipherSuiteId, Epoch, LeafIndex

from .members import CAPABILITIES, GROUP_ID, NOW, SUITE, SimulatedGroup, accept_credentials, make_member, seeded


def _group() -> SimulatedGroup:
    """Eight members, several commits and adds: set parents, blanks and unmerged leaves."""
    group = SimulatedGroup(6, seed=11)
    group.commit(LeafIndex(0))
    group.commit(LeafIndex(5), remove=[LeafIndex(2)])
    group.commit(LeafIndex(3))
    group.tree.add_leaf(make_member("late1", seeded(12)).leaf)
    group.tree.add_leaf(make_member("late2", seeded(13)).leaf)
    return group


GROUP = _group()
NODES: tuple[Node | None, ...] = GROUP.tree.to_nodes()


def _context(nodes: Sequence[Node | None], **fields: object) -> GroupContext:
    tree_hash = RatchetTree.from_trusted_nodes(SUITE, nodes).tree_hash()
    args: dict[str, object] = {"cipher_suite": CipherSuiteId(1), "group_id": GROUP_ID, "epoch": Epoch(4),
                               "tree_hash": tree_hash, "confirmed_transcript_hash": b""}
    args.update(fields)
    return GroupContext(**args)


def _validate(nodes: Sequence[Node | None], now: int | None = None, **fields: object) -> RatchetTree:
    """Validate against a context whose tree hash matches ``nodes``, so each test reaches its rule."""
    return validate_ratchet_tree(nodes, _context(nodes, **fields), now=now, validate_credential=accept_credentials)


def _with(index: int, node: Node | None) -> list[Node | None]:
    nodes = list(NODES)
    nodes[index] = node
    return nodes


def _unmerged_parent() -> tuple[int, ParentNode]:
    node = NODES[7]
    assert isinstance(node, ParentNode) and len(node.unmerged_leaves) == 2
    return 7, node


def test_valid_tree_passes() -> None:
    tree = _validate(NODES, now=NOW)
    assert tree == GROUP.tree
    assert tree.tree_hash() == GROUP.tree.tree_hash()
    assert any(isinstance(n, ParentNode) and n.unmerged_leaves for n in NODES)


def test_tree_hash_must_match() -> None:
    context = _context(NODES, tree_hash=b"\x00" * 32)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: tree hash does not match"):
        validate_ratchet_tree(NODES, context, now=None, validate_credential=accept_credentials)


def test_forged_leaf_signature_rejected() -> None:
    # Leaf 6 is unmerged at the root, so it is outside every parent hash: its signature is
    # what catches the forgery.
    leaf = NODES[12]
    assert isinstance(leaf, LeafNode)
    with pytest.raises(SignatureError, match=r"§7\.3: leaf node signature invalid"):
        _validate(_with(12, replace(leaf, credential=BasicCredential(identity=b"mallory"))))


def test_signatures_bind_the_group_id() -> None:
    with pytest.raises(SignatureError, match=r"§7\.3"):
        _validate(NODES, group_id=b"another group")


def test_parent_with_a_foreign_key_is_not_parent_hash_valid() -> None:
    index, parent = next((i, n) for i, n in enumerate(NODES) if isinstance(n, ParentNode))
    forged = replace(parent, encryption_key=SUITE.generate_hpke_key(seeded(20)).public_key)
    with pytest.raises(ValidationError, match=r"§7\.9\.2: parent node is not parent-hash valid"):
        _validate(_with(index, forged))


def test_unmerged_leaves_must_be_sorted() -> None:
    index, parent = _unmerged_parent()
    shuffled = replace(parent, unmerged_leaves=tuple(reversed(parent.unmerged_leaves)))
    with pytest.raises(ValidationError, match=r"§7\.1: unmerged_leaves not sorted"):
        _validate(_with(index, shuffled))


@pytest.mark.parametrize(("index", "bad"), [(7, 7), (7, 1_000), (3, 4)])
def test_unmerged_leaf_must_be_a_member_below_the_parent(index: int, bad: int) -> None:
    # leaf 7 is blank, leaf 1000 is beyond the tree, leaf 4 is not below node 3
    parent = NODES[index]
    assert isinstance(parent, ParentNode)
    forged = replace(parent, unmerged_leaves=tuple(sorted((*parent.unmerged_leaves, bad))))
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: unmerged leaf is not a non-blank leaf below"):
        _validate(_with(index, forged))


def test_unmerged_leaf_must_be_listed_at_intermediate_nodes() -> None:
    # leaf 2 is unmerged at the root (node 7) and at node 3 between them
    root, intermediate = NODES[7], NODES[3]
    assert isinstance(root, ParentNode) and isinstance(intermediate, ParentNode)
    assert 2 in root.unmerged_leaves and intermediate.unmerged_leaves == (2,)
    with pytest.raises(ValidationError, match="unmerged leaf missing from an intermediate node"):
        _validate(_with(3, replace(intermediate, unmerged_leaves=())))


def test_duplicate_keys_rejected() -> None:
    leaf0, leaf1 = NODES[0], NODES[2]
    assert isinstance(leaf0, LeafNode) and isinstance(leaf1, LeafNode)
    with pytest.raises(ValidationError, match=r"§7\.3: encryption_key not unique"):
        _validate(_with(2, replace(leaf1, encryption_key=leaf0.encryption_key)))
    with pytest.raises(ValidationError, match=r"§7\.3: signature_key not unique"):
        _validate(_with(2, replace(leaf1, signature_key=leaf0.signature_key)))
    index, parent = next((i, n) for i, n in enumerate(NODES) if isinstance(n, ParentNode))
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: parent node encryption key appears in another node"):
        _validate(_with(index, replace(parent, encryption_key=leaf0.encryption_key)))


def test_node_kinds_must_match_positions() -> None:
    with pytest.raises(ValidationError, match="wrong node type"):
        _validate_raw(_with(1, NODES[0]))


def _validate_raw(nodes: list[Node | None]) -> None:
    validate_ratchet_tree(nodes, _context(NODES), now=None, validate_credential=accept_credentials)


def test_credential_types_must_be_supported_by_everyone() -> None:
    x509 = make_member("x", seeded(30), credential=X509Credential(certificates=(Certificate(cert_data=b"d"),)),
                       capabilities=replace(CAPABILITIES, credentials=(1, 2)))
    tree = RatchetTree.create(SUITE, make_member("a", seeded(31)).leaf)
    tree.add_leaf(x509.leaf)
    with pytest.raises(ValidationError, match=r"§7\.3: credential type in use not supported by all members"):
        _validate(tree.to_nodes())


@pytest.mark.parametrize(
    ("extension", "rule"),
    [
        (make_extension(RequiredCapabilities(credential_types=(2,))), "lacks a required credential type"),
        (Extension(extension_type=0xF00D, extension_data=b""), "does not support a group context extension"),
    ],
)
def test_leaves_must_support_the_group_context(extension: Extension, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule):
        _validate(NODES, extensions=(extension,))


def test_lifetimes_checked_only_when_now_is_given() -> None:
    later = NOW + 30 * 24 * 3600
    _validate(NODES, now=None)
    with pytest.raises(ValidationError, match=r"§7\.3: current time not within the leaf node lifetime"):
        _validate(NODES, now=later)


def test_unsupported_suite() -> None:
    with pytest.raises(UnsupportedCipherSuite):
        validate_ratchet_tree(NODES, _context(NODES, cipher_suite=CipherSuiteId(0x0A0A)), now=None,
                              validate_credential=accept_credentials)


def test_empty_tree_rejected() -> None:
    with pytest.raises(ValidationError, match="empty"):
        _validate_raw([])
