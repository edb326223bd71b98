"""ParentNode, Node and the ratchet_tree extension (RFC 9420 §7.1, §12.4.3.3)."""

from __future__ import annotations

import pytest
from hypothesis import given

from enseal.codec import Writer
from enseal.errors import DecodeError, LocalProtocolError
from enseal.mls.tree_nodes import ParentNode, RatchetTreeExtension, encode_node
from enseal.mls.wire import deserialize, serialize

from .members import make_member, seeded
from .struct_strategies import ratchet_trees


@given(ratchet_trees())
def test_round_trip(tree: RatchetTreeExtension) -> None:
    data = serialize(tree)
    assert deserialize(RatchetTreeExtension, data) == tree


def _encoded(entries: list[bytes | None]) -> bytes:
    inner = b"".join(b"\x00" if e is None else b"\x01" + e for e in entries)
    w = Writer()
    w.opaque(inner)
    return w.getvalue()


def _node(node: object) -> bytes:
    w = Writer()
    encode_node(w, node)
    return w.getvalue()


LEAF = make_member("a", seeded(6)).leaf
PARENT = ParentNode(encryption_key=b"k", parent_hash=b"")


def test_empty_tree_rejected() -> None:
    with pytest.raises(DecodeError, match=r"§12\.4\.3\.3: ratchet_tree is empty"):
        deserialize(RatchetTreeExtension, _encoded([]))


def test_trailing_blank_rejected() -> None:
    # "The receiver MUST check that the last node in ratchet_tree is non-blank"
    with pytest.raises(DecodeError, match="last node in ratchet_tree must be non-blank"):
        deserialize(RatchetTreeExtension, _encoded([_node(LEAF), None]))


@pytest.mark.parametrize("entries", [[_node(PARENT)], [_node(LEAF), _node(LEAF)]])
def test_node_kinds_must_match_positions(entries: list[bytes | None]) -> None:
    with pytest.raises(DecodeError, match="wrong position"):
        deserialize(RatchetTreeExtension, _encoded(entries))


def test_unknown_node_type_rejected() -> None:
    with pytest.raises(DecodeError, match="unknown NodeType"):
        deserialize(RatchetTreeExtension, _encoded([b"\x03"]))


def test_construction_checks_the_shape_too() -> None:
    with pytest.raises(LocalProtocolError):
        RatchetTreeExtension(ratchet_tree=(LEAF, None))
