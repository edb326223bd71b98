"""Array-based tree arithmetic (RFC 9420 section 4.1 and appendix C).

Leaves sit at even node indices (leaf ``i`` at node ``2*i``), parents at odd ones. The tree is
always complete: its width is ``2*n - 1`` nodes for ``n`` leaves, with ``n`` a power of two for
a ratchet tree (RFC 9420 section 7.8 keeps the leaf count a power of two).
"""

from __future__ import annotations

from enseal.errors import LocalProtocolError
from enseal.types import LeafIndex, NodeIndex


def log2(x: int) -> int:
    """Exponent of the largest power of two <= x (0 for x == 0)."""
    return x.bit_length() - 1 if x else 0


def level(x: int) -> int:
    """Level of node ``x``: leaves are 0, their parents 1, ..."""
    if x & 1 == 0:
        return 0
    # number of trailing one bits
    return ((x ^ (x + 1)).bit_length()) - 1


def node_width(n_leaves: int) -> int:
    return 0 if n_leaves == 0 else 2 * (n_leaves - 1) + 1


def root(n_leaves: int) -> NodeIndex:
    return NodeIndex((1 << log2(node_width(n_leaves))) - 1)


def leaf_to_node(leaf: LeafIndex | int) -> NodeIndex:
    return NodeIndex(2 * leaf)


def node_to_leaf(node: NodeIndex | int) -> LeafIndex:
    if node & 1:
        raise LocalProtocolError(f"node {node} is not a leaf")
    return LeafIndex(node >> 1)


def left(x: int) -> NodeIndex:
    k = level(x)
    if k == 0:
        raise LocalProtocolError("leaf node has no children")
    return NodeIndex(x ^ (1 << (k - 1)))


def right(x: int) -> NodeIndex:
    k = level(x)
    if k == 0:
        raise LocalProtocolError("leaf node has no children")
    return NodeIndex(x ^ (3 << (k - 1)))


def parent(x: int, n_leaves: int) -> NodeIndex:
    if x == root(n_leaves):
        raise LocalProtocolError("root node has no parent")
    k = level(x)
    b = (x >> (k + 1)) & 1
    return NodeIndex((x | (1 << k)) ^ (b << (k + 1)))


def sibling(x: int, n_leaves: int) -> NodeIndex:
    p = parent(x, n_leaves)
    return right(p) if x < p else left(p)


def direct_path(x: int, n_leaves: int) -> list[NodeIndex]:
    """Ancestors of ``x`` from its parent up to the root (RFC 9420 section 4.1)."""
    r = root(n_leaves)
    path: list[NodeIndex] = []
    while x != r:
        x = parent(x, n_leaves)
        path.append(NodeIndex(x))
    return path


def copath(x: int, n_leaves: int) -> list[NodeIndex]:
    """Siblings of ``x`` and of each of its ancestors below the root."""
    r = root(n_leaves)
    if x == r:
        return []
    nodes = [x, *direct_path(x, n_leaves)[:-1]]
    return [sibling(y, n_leaves) for y in nodes]


def is_in_subtree(node: int, subtree_root: int) -> bool:
    """True if ``node`` lies in the subtree rooted at ``subtree_root``."""
    k = level(subtree_root)
    return (node >> (k + 1)) == (subtree_root >> (k + 1))


def common_ancestor(x: int, y: int) -> NodeIndex:
    """Lowest node on the direct paths of both ``x`` and ``y`` (or one of them)."""
    lx, ly = level(x) + 1, level(y) + 1
    if lx <= ly and x >> ly == y >> ly:
        return NodeIndex(y)
    if ly <= lx and x >> lx == y >> lx:
        return NodeIndex(x)
    xn, yn, k = x, y, 0
    while xn != yn:
        xn, yn, k = xn >> 1, yn >> 1, k + 1
    return NodeIndex((xn << k) + (1 << (k - 1)) - 1)
