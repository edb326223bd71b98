"""Runner for ``treekem.json`` (RFC 9420 sections 7.4-7.6, 7.9): every given UpdatePath is
validated, merged (tree hash after) and decrypted by every other member (path secret and commit
secret); then a fresh UpdatePath from the same sender is created and every other member must
derive the same commit secret from it."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import CipherSuite, HpkePrivateKey, Secret, cipher_suite, system_random
from enseal.mls.commit import UpdatePath
from enseal.mls.group_context import GroupContext
from enseal.mls.path_secrets import node_key_pair
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.tree_validation import validate_ratchet_tree
from enseal.mls.treekem import apply_update_path, create_update_path
from enseal.mls.wire import deserialize
from enseal.types import CipherSuiteId, Epoch, LeafIndex, NodeIndex
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import MalformedVector, has_keys, hexb, integer, items, list_cases
from enseal.vectors.tree_validation import accept_basic_credentials

NAME = "treekem"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"ratchet_tree", "leaves_private", "update_paths"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def _objects(obj: dict[str, object], key: str) -> list[dict[str, object]]:
    out = []
    for item in items(obj, key):
        if not isinstance(item, dict):
            raise MalformedVector(f"{key} holds a non-object")
        out.append(item)
    return out


def _private_keys(suite: CipherSuite, entry: dict[str, object]) -> TreePrivateKeys:
    node_keys: dict[NodeIndex, HpkePrivateKey] = {}
    for item in _objects(entry, "path_secrets"):
        node_keys[NodeIndex(integer(item, "node"))] = node_key_pair(suite, Secret(hexb(item, "path_secret")))
    return TreePrivateKeys(suite, LeafIndex(integer(entry, "index")), suite.hpke_key(hexb(entry, "encryption_priv")),
                           node_keys)


def run(case: Case) -> None:
    suite = cipher_suite(integer(case.data, "cipher_suite"))
    group_id = hexb(case.data, "group_id")
    nodes = deserialize(RatchetTreeExtension, hexb(case.data, "ratchet_tree")).ratchet_tree
    context = GroupContext(
        cipher_suite=CipherSuiteId(suite.id),
        group_id=group_id,
        epoch=Epoch(integer(case.data, "epoch")),
        tree_hash=RatchetTree.from_trusted_nodes(suite, nodes).tree_hash(),
        confirmed_transcript_hash=hexb(case.data, "confirmed_transcript_hash"),
    )
    tree = validate_ratchet_tree(nodes, context, now=None, validate_credential=accept_basic_credentials)
    entries = _objects(case.data, "leaves_private")
    private = {}
    signing = {}
    for entry in entries:
        keys = _private_keys(suite, entry)
        keys.check_consistent(tree)
        private[keys.leaf_index] = keys
        signing[keys.leaf_index] = suite.signature_key(hexb(entry, "signature_priv"))

    for update in _objects(case.data, "update_paths"):
        sender = LeafIndex(integer(update, "sender"))
        want_secrets = items(update, "path_secrets")
        merged = tree.copy()
        applied = apply_update_path(
            merged, sender=sender, update_path=deserialize(UpdatePath, hexb(update, "update_path")),
            group_id=group_id, group_context_extensions=(), validate_credential=accept_basic_credentials,
        )
        expect_equal("tree_hash_after", merged.tree_hash(), hexb(update, "tree_hash_after"))
        provisional = context.evolve(tree_hash=merged.tree_hash())
        for leaf, keys in private.items():
            if leaf == sender:
                continue
            result = applied.decrypt(keys, provisional)
            want = want_secrets[leaf]
            expect_equal(f"path secret of leaf {leaf}", result.path_secret.reveal().hex(), want)
            expect_equal(f"commit secret of leaf {leaf}", result.commit_secret.reveal(), hexb(update, "commit_secret"))
            result.private_keys.check_consistent(merged)

        # A new UpdatePath from the same sender must be processed by everyone else.
        own = tree.copy()
        sender_leaf = own.member_leaf(sender)
        pending = create_update_path(
            own, sender=sender, group_id=group_id, signing_key=signing[sender],
            credential=sender_leaf.credential, capabilities=sender_leaf.capabilities,
            extensions=sender_leaf.extensions, rng=system_random,
        )
        pending.private_keys.check_consistent(own)
        own_context = context.evolve(tree_hash=own.tree_hash())
        path = pending.encrypt(own_context, exclude=(), rng=system_random)
        received = tree.copy()
        applied = apply_update_path(
            received, sender=sender, update_path=path, group_id=group_id, group_context_extensions=(),
            validate_credential=accept_basic_credentials,
        )
        expect_equal("tree hash of the new path", received.tree_hash(), own.tree_hash())
        for leaf, keys in private.items():
            if leaf != sender:
                result = applied.decrypt(keys, own_context)
                expect_equal(f"new commit secret at leaf {leaf}", result.commit_secret, pending.commit_secret)
