"""Validation of a received ratchet tree when joining a group (RFC 9420 section 12.4.3.1, with the
parent-hash rules of section 7.9.2 and leaf node validation of section 7.3).

:func:`validate_ratchet_tree` is the only way a received list of nodes becomes a
:class:`~enseal.mls.ratchet_tree.RatchetTree`. Cheap structural checks run first and the
signature verifications last, so that a malformed tree costs little.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from enseal.crypto import cipher_suite
from enseal.errors import ValidationError
from enseal.mls import tree_math
from enseal.mls.credential import CredentialValidator
from enseal.mls.group_context import GroupContext
from enseal.mls.leaf_node import validate_leaf_node
from enseal.mls.ratchet_tree import RatchetTree, check_leaf_supports_group
from enseal.mls.tree_nodes import Node, ParentNode
from enseal.types import LeafIndex, NodeIndex


def validate_ratchet_tree(
    nodes: Sequence[Node | None],
    group_context: GroupContext,
    *,
    now: int | None,
    validate_credential: CredentialValidator,
) -> RatchetTree:
    """Verify the integrity of the ratchet tree of a group being joined (section 12.4.3.1).

    ``nodes`` come from the ``ratchet_tree`` extension (or another channel); ``group_context`` is
    the verified GroupInfo's. ``now`` (seconds since the Unix epoch) also checks the lifetimes
    of key_package leaves, which the RFC recommends but does not require for received trees
    (members' leaves from old KeyPackages may have expired). Raises :class:`ValidationError`
    naming the broken rule, or :class:`~enseal.errors.SignatureError`.
    """
    suite = cipher_suite(group_context.cipher_suite)
    # Placement, node kinds and "Verify that the encryption key in the parent node does not
    # appear in any other node of the tree" / unique leaf keys (section 7.3).
    tree = RatchetTree._from_nodes(suite, nodes)  # the validated entry point of received trees
    # "Verify that the tree hash of the ratchet tree matches the tree_hash field in GroupInfo."
    if tree.tree_hash() != group_context.tree_hash:
        raise ValidationError("RFC 9420 §12.4.3.1: tree hash does not match the GroupInfo's")
    check_unmerged_leaves(tree)
    check_parent_hashes(tree)
    tree.check_credential_types()
    for _, leaf in tree.members():
        check_leaf_supports_group(leaf, group_context.extensions)
    for index, leaf in tree.members():
        # "For each non-empty leaf node, validate the LeafNode as described in Section 7.3."
        validate_leaf_node(
            leaf,
            suite,
            source=None,
            group_id=group_context.group_id,
            leaf_index=index,
            now=now,
            validate_credential=validate_credential,
        )
    return tree


def check_unmerged_leaves(tree: RatchetTree) -> None:
    """Section 12.4.3.1, for each non-empty parent node and each entry of ``unmerged_leaves``:
    the entry is a non-blank leaf below the parent, and every non-blank node between them lists
    it too; and (section 7.1) the entries are sorted in increasing order."""
    n = tree.leaf_count
    for index in range(1, tree.node_count, 2):
        node = tree.parent_node(NodeIndex(index))
        if node is None:
            continue
        unmerged = node.unmerged_leaves
        # "The entries in the unmerged_leaves vector MUST be sorted in increasing order."
        if any(a >= b for a, b in pairwise(unmerged)):
            raise ValidationError("RFC 9420 §7.1: unmerged_leaves not sorted in increasing order",
                                  f"node {index}")
        for leaf in unmerged:
            leaf_node = tree_math.leaf_to_node(leaf)
            # "Verify that the entry represents a non-blank leaf node that is a descendant of the
            # parent node."
            if leaf >= n or not tree_math.is_in_subtree(leaf_node, index) or tree.leaf(LeafIndex(leaf)) is None:
                raise ValidationError(
                    "RFC 9420 §12.4.3.1: unmerged leaf is not a non-blank leaf below its parent",
                    f"node {index}, leaf {leaf}",
                )
            # "Verify that every non-blank intermediate node between the leaf node and the parent
            # node also has an entry for the leaf node in its unmerged_leaves."
            ancestor = tree_math.parent(leaf_node, n)
            while ancestor != index:
                between = tree.parent_node(ancestor)
                if between is not None and leaf not in between.unmerged_leaves:
                    raise ValidationError(
                        "RFC 9420 §12.4.3.1: unmerged leaf missing from an intermediate node",
                        f"leaf {leaf} at node {index} but not at node {ancestor}",
                    )
                ancestor = tree_math.parent(ancestor, n)


def check_parent_hashes(tree: RatchetTree) -> None:
    """"When joining a group, the new member MUST authenticate that each non-blank parent node P
    is parent-hash valid" -- checked top-down: exactly one child side of P holds a node D whose
    ``parent_hash`` is P's parent hash with the other child as copath child (section 7.9.2)."""
    for index in range(1, tree.node_count, 2):
        p = NodeIndex(index)
        node = tree.parent_node(p)
        if node is None:
            continue
        left, right = tree_math.left(p), tree_math.right(p)
        valid = sum(1 for child, sibling in ((left, right), (right, left))
                    if _is_parent_hash_valid_via(tree, p, node, child, sibling))
        if valid != 1:
            raise ValidationError("RFC 9420 §7.9.2: parent node is not parent-hash valid", f"node {p}")


def _is_parent_hash_valid_via(
    tree: RatchetTree, p: NodeIndex, node: ParentNode, child: NodeIndex, sibling: NodeIndex
) -> bool:
    """Whether some D in the resolution of ``child`` is parent-hash valid with respect to P:
    "D is in the resolution of C, and the intersection of P's unmerged_leaves with the subtree
    under C is equal to the resolution of C with D removed", and D.parent_hash is P's parent hash
    with copath child S."""
    unmerged_here = {
        tree_math.leaf_to_node(leaf) for leaf in node.unmerged_leaves
        if tree_math.is_in_subtree(tree_math.leaf_to_node(leaf), child)
    }
    resolution = tree.resolution(child)
    candidates = [d for d in resolution if d not in unmerged_here]
    if len(candidates) != 1 or len(resolution) - 1 != len(unmerged_here):
        return False
    d_node = tree.node(candidates[0])
    assert d_node is not None
    claimed = d_node.parent_hash  # None for a leaf whose source is not commit
    return claimed is not None and claimed == tree.parent_hash(p, sibling)
