"""Runner for ``tree-validation.json``: tree hashes and resolutions of every node, parent-hash
validity and leaf signatures (RFC 9420 sections 4.1.1, 7.8, 7.9.2, 12.4.3.1)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.errors import ValidationError
from enseal.mls import tree_math
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.group_context import GroupContext
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.tree_validation import validate_ratchet_tree
from enseal.mls.wire import deserialize
from enseal.types import CipherSuiteId, Epoch, NodeIndex
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, items, list_cases

NAME = "tree-validation"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"tree", "group_id", "tree_hashes", "resolutions"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def accept_basic_credentials(credential: Credential, signature_key: bytes) -> None:
    """The vectors' Authentication Service: basic credentials, bound to nothing."""
    if not isinstance(credential, BasicCredential):
        raise ValidationError("vectors use basic credentials only")


def run(case: Case) -> None:
    suite_id = integer(case.data, "cipher_suite")
    nodes = deserialize(RatchetTreeExtension, hexb(case.data, "tree")).ratchet_tree
    want_hashes = [bytes.fromhex(h) for h in items(case.data, "tree_hashes") if isinstance(h, str)]
    want_resolutions = items(case.data, "resolutions")
    n_leaves = (len(want_hashes) + 1) // 2
    context = GroupContext(
        cipher_suite=CipherSuiteId(suite_id),
        group_id=hexb(case.data, "group_id"),
        epoch=Epoch(0),
        tree_hash=want_hashes[tree_math.root(n_leaves)],
        confirmed_transcript_hash=b"",
    )
    tree = validate_ratchet_tree(nodes, context, now=None, validate_credential=accept_basic_credentials)
    expect_equal("node count", tree.node_count, len(want_hashes))
    expect_equal("resolution count", len(want_resolutions), len(want_hashes))
    for index, want in enumerate(want_hashes):
        expect_equal(f"tree hash of node {index}", tree.node_hash(NodeIndex(index)), want)
        expect_equal(f"resolution of node {index}", tree.resolution(NodeIndex(index)), want_resolutions[index])
