"""A member's private tree keys: persistence, secrecy, consistency, and joining by Welcome."""

from __future__ import annotations

import pickle

import pytest

from enseal.codec import Writer
from enseal.crypto import Secret
from enseal.errors import DecodeError, LocalProtocolError, TrailingBytesError, ValidationError
from enseal.mls.path_secrets import node_key_pair
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.treekem import create_update_path
from enseal.types import LeafIndex, NodeIndex

from .members import GROUP_ID, SUITE, SimulatedGroup, make_member, seeded


def _state() -> tuple[SimulatedGroup, TreePrivateKeys]:
    group = SimulatedGroup(5, seed=3)
    group.commit(LeafIndex(4))
    group.commit(LeafIndex(0))
    return group, group.private[LeafIndex(2)]


def test_round_trip_through_bytes() -> None:
    group, keys = _state()
    assert keys.nodes()  # knows some parent keys
    data = keys.to_bytes()
    assert isinstance(data, Secret)
    again = TreePrivateKeys.from_bytes(data)
    assert again == keys
    again.check_consistent(group.tree)
    assert TreePrivateKeys.from_bytes(data.reveal()) == keys


def test_keys_are_hidden() -> None:
    _, keys = _state()
    text = repr(keys)
    assert "hidden" in text
    assert keys.leaf_key.private_bytes().reveal().hex() not in text
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(keys)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda b: b"\x02" + b[1:], DecodeError),  # unknown format version
        (lambda b: b + b"\x00", TrailingBytesError),
        (lambda b: b[:-1], DecodeError),
    ],
)
def test_corrupt_bytes_rejected(mutate: object, error: type[Exception]) -> None:
    _, keys = _state()
    with pytest.raises(error):
        TreePrivateKeys.from_bytes(mutate(keys.to_bytes().reveal()))


def test_nodes_off_the_direct_path_are_refused() -> None:
    key = SUITE.generate_hpke_key(seeded(1))
    with pytest.raises(LocalProtocolError, match="not on the direct path"):
        TreePrivateKeys(SUITE, LeafIndex(0), key, {NodeIndex(5): key})


def test_restricted_to_drops_blanked_nodes_and_consistency_is_checked() -> None:
    group, keys = _state()
    tree = group.tree.copy()
    tree.remove_leaf(LeafIndex(3))  # blanks node 5, 3 and 7 (leaf 2's path shares 5, 3, 7)
    with pytest.raises(LocalProtocolError, match="does not match the tree"):
        keys.check_consistent(tree)
    pruned = keys.restricted_to(tree)
    pruned.check_consistent(tree)
    assert set(pruned.nodes()) < set(keys.nodes())


def test_joiner_derives_its_path_keys_from_the_welcome_secret() -> None:
    group = SimulatedGroup(3, seed=5)
    joiner = make_member("joiner", seeded(6))
    tree = group.tree.copy()
    new = tree.add_leaf(joiner.leaf)
    committer = group.members[LeafIndex(0)]
    pending = create_update_path(tree, sender=LeafIndex(0), group_id=GROUP_ID, signing_key=committer.signing_key,
                                 credential=committer.leaf.credential, capabilities=committer.leaf.capabilities,
                                 rng=seeded(7))
    secret = pending.path_secret_for(new)
    keys = TreePrivateKeys.for_joiner(tree, new, joiner.leaf_key, committer=LeafIndex(0), path_secret=secret)
    keys.check_consistent(tree)
    assert keys.nodes() == [NodeIndex(3)]
    without = TreePrivateKeys.for_joiner(tree, new, joiner.leaf_key, committer=LeafIndex(0), path_secret=None)
    assert without.nodes() == []
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: path secret does not match the tree"):
        TreePrivateKeys.for_joiner(tree, new, joiner.leaf_key, committer=LeafIndex(0), path_secret=Secret(b"x" * 32))
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: GroupInfo signer cannot have sent"):
        TreePrivateKeys.for_joiner(tree, new, joiner.leaf_key, committer=new, path_secret=secret)
    with pytest.raises(LocalProtocolError, match="leaf private key does not match"):
        TreePrivateKeys.for_joiner(tree, new, group.members[LeafIndex(1)].leaf_key, committer=LeafIndex(0),
                                   path_secret=secret)
    blank_ancestor = group.tree.copy()
    blank_new = blank_ancestor.add_leaf(joiner.leaf)
    with pytest.raises(ValidationError, match=r"§12\.4\.3\.1: path secret for a blank node"):
        TreePrivateKeys.for_joiner(blank_ancestor, blank_new, joiner.leaf_key, committer=LeafIndex(0),
                                   path_secret=secret)


def test_key_lookup() -> None:
    _, keys = _state()
    assert keys.key_for(NodeIndex(4)) is keys.leaf_key
    node = keys.nodes()[0]
    assert keys.key_for(node) is not None
    assert keys.key_for(NodeIndex(9)) is None
    assert keys.with_leaf_key(node_key_pair(SUITE, Secret(b"s" * 32))).leaf_key != keys.leaf_key


def test_node_keys_out_of_order_rejected() -> None:
    _, keys = _state()
    first, second = keys.nodes()[:2]
    w = Writer()
    w.u8(1)
    w.u16(SUITE.id)
    w.u32(keys.leaf_index)
    w.opaque(keys.leaf_key.private_bytes().reveal())
    entries = Writer()
    for node in (second, first):
        key = keys.key_for(node)
        assert key is not None
        entries.u32(node)
        entries.opaque(key.private_bytes().reveal())
    w.opaque(entries.getvalue())
    with pytest.raises(DecodeError, match="out of order"):
        TreePrivateKeys.from_bytes(w.getvalue())
