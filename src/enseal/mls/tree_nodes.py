"""Ratchet tree nodes on the wire: ``ParentNode`` (RFC 9420 section 7.1), ``Node`` and the
``ratchet_tree`` extension (section 12.4.3.3).

``Node`` is the union ``LeafNode | ParentNode`` (both are structs in their own right); it is
encoded with :func:`encode_node` / :func:`decode_node`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError, LocalProtocolError
from enseal.mls.code_points import ExtensionType, NodeType
from enseal.mls.leaf_node import LeafNode
from enseal.mls.wire import read_enum


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentNode:
    """``ParentNode``. "The entries in the unmerged_leaves vector MUST be sorted in increasing
    order" -- checked when a tree is validated, not when decoding."""

    encryption_key: bytes
    parent_hash: bytes
    unmerged_leaves: tuple[int, ...] = ()

    def encode(self, w: Writer) -> None:
        w.opaque(self.encryption_key)
        w.opaque(self.parent_hash)
        w.vector(self.unmerged_leaves, Writer.u32)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(encryption_key=r.opaque(), parent_hash=r.opaque(), unmerged_leaves=tuple(r.vector(Reader.u32)))


Node: TypeAlias = LeafNode | ParentNode
"""``Node``: a leaf or a parent."""


def encode_node(w: Writer, node: Node) -> None:
    if isinstance(node, LeafNode):
        w.u8(NodeType.LEAF)
    else:
        w.u8(NodeType.PARENT)
    node.encode(w)


def decode_node(r: Reader) -> Node:
    node_type = read_enum(r, NodeType, 1)
    if node_type is NodeType.LEAF:
        return LeafNode.decode(r)
    return ParentNode.decode(r)


def _write_optional_node(w: Writer, node: Node | None) -> None:
    if node is None:
        w.u8(0)
    else:
        w.u8(1)
        encode_node(w, node)


def _read_optional_node(r: Reader) -> Node | None:
    return r.optional(decode_node)


@dataclass(frozen=True, slots=True, kw_only=True)
class RatchetTreeExtension:
    """``optional<Node> ratchet_tree<V>``: the nodes in array order, without trailing blanks.

    Decoding enforces the structure every receiver must check: "The receiver MUST check that the
    last node in ratchet_tree is non-blank", and leaves sit at even positions, parents at odd
    ones (section 12.4.3.3). Turning the nodes into a tree is
    :func:`enseal.mls.tree_validation.validate_ratchet_tree`.
    """

    EXTENSION_TYPE: ClassVar[ExtensionType] = ExtensionType.RATCHET_TREE
    ratchet_tree: tuple[Node | None, ...]

    def __post_init__(self) -> None:
        problem = _shape_problem(self.ratchet_tree)
        if problem is not None:
            raise LocalProtocolError(problem)

    def encode(self, w: Writer) -> None:
        w.vector(self.ratchet_tree, _write_optional_node)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        nodes = tuple(r.vector(_read_optional_node))
        problem = _shape_problem(nodes)
        if problem is not None:
            raise DecodeError(problem)
        return cls(ratchet_tree=nodes)


def _shape_problem(nodes: Sequence[Node | None]) -> str | None:
    if not nodes:
        return "RFC 9420 §12.4.3.3: ratchet_tree is empty"
    if nodes[-1] is None:
        return "RFC 9420 §12.4.3.3: the last node in ratchet_tree must be non-blank"
    for index, node in enumerate(nodes):
        if node is not None and isinstance(node, LeafNode) != (index % 2 == 0):
            return f"RFC 9420 §12.4.3.3: node {index} is a {'leaf' if index % 2 else 'parent'} at a wrong position"
    return None
