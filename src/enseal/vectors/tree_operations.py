"""Runner for ``tree-operations.json``: Add, Update and Remove applied to a ratchet tree (RFC 9420
sections 7.7, 12.1.1-12.1.3), compared by serialized tree and tree hash."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import cipher_suite
from enseal.mls.proposals import Add, Proposal, Remove, Update
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.wire import deserialize, serialize
from enseal.types import LeafIndex
from enseal.vectors.outcome import Case, VectorMismatch, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, list_cases

NAME = "tree-operations"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"tree_before", "proposal", "tree_after"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    suite = cipher_suite(integer(case.data, "cipher_suite"))
    # The vectors carry no group_id, so leaf signatures cannot be checked: the trees are taken as
    # given (what a member does with its own tree).
    nodes = deserialize(RatchetTreeExtension, hexb(case.data, "tree_before")).ratchet_tree
    tree = RatchetTree.from_trusted_nodes(suite, nodes)
    expect_equal("tree_hash_before", tree.tree_hash(), hexb(case.data, "tree_hash_before"))
    proposal = deserialize(Proposal, hexb(case.data, "proposal"))
    sender = LeafIndex(integer(case.data, "proposal_sender"))
    match proposal:
        case Add(key_package=key_package):
            tree.add_leaf(key_package.leaf_node)
        case Update(leaf_node=leaf_node):
            tree.update_leaf(sender, leaf_node)
        case Remove(removed=removed):
            tree.remove_leaf(removed)
        case _:
            raise VectorMismatch(f"unexpected proposal type {proposal.proposal_type!r}")
    expect_equal("tree_after", serialize(tree.to_extension()), hexb(case.data, "tree_after"))
    expect_equal("tree_hash_after", tree.tree_hash(), hexb(case.data, "tree_hash_after"))
