"""Real members for tree and TreeKEM tests: signed leaves and KeyPackages from a seeded RNG, and a
small group simulation that commits UpdatePaths and checks every member agrees."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from enseal.crypto import CipherSuite, HpkePrivateKey, RandomSource, SignaturePrivateKey, cipher_suite
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.extensions import Extension
from enseal.mls.group_context import GroupContext
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_schedule import CommitSecret
from enseal.mls.leaf_node import Capabilities, LeafNode, Lifetime
from enseal.mls.ratchet_tree import RatchetTree
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.mls.treekem import apply_update_path, create_update_path
from enseal.types import CipherSuiteId, Epoch, LeafIndex

SUITE = cipher_suite(1)
GROUP_ID = b"group"
NOW = 1_700_000_000
CAPABILITIES = Capabilities(versions=(1,), cipher_suites=(1,), credentials=(1,))
LIFETIME = Lifetime(not_before=NOW - 3600, not_after=NOW + 7 * 24 * 3600)


def seeded(seed: int) -> RandomSource:
    return random.Random(seed).randbytes


def accept_credentials(credential: Credential, signature_key: bytes) -> None:
    """An Authentication Service that accepts every credential."""


@dataclass
class Member:
    name: str
    suite: CipherSuite
    signing_key: SignaturePrivateKey
    leaf_key: HpkePrivateKey
    init_key: HpkePrivateKey
    leaf: LeafNode
    extra: dict[str, object] = field(default_factory=dict)

    def key_package(self) -> KeyPackage:
        return KeyPackage.sign(self.suite, self.signing_key, init_key=self.init_key.public_key, leaf_node=self.leaf)


def make_member(
    name: str,
    rng: RandomSource,
    *,
    suite: CipherSuite = SUITE,
    capabilities: Capabilities | None = None,
    credential: Credential | None = None,
    lifetime: Lifetime = LIFETIME,
    extensions: Sequence[Extension] = (),
) -> Member:
    """A member with a fresh signature key and a signed key_package leaf."""
    caps = capabilities or replace(CAPABILITIES, cipher_suites=(suite.id,))
    signing_key = suite.generate_signature_key(rng)
    leaf_key = suite.generate_hpke_key(rng)
    leaf = LeafNode.sign(
        suite, signing_key,
        encryption_key=leaf_key.public_key,
        credential=credential or BasicCredential(identity=name.encode()),
        capabilities=caps,
        leaf_node_source=LeafNodeSource.KEY_PACKAGE,
        lifetime=lifetime,
        extensions=extensions,
    )
    return Member(name, suite, signing_key, leaf_key, suite.generate_hpke_key(rng), leaf)


def tree_of(members: Sequence[Member]) -> RatchetTree:
    tree = RatchetTree.create(members[0].suite, members[0].leaf)
    for member in members[1:]:
        tree.add_leaf(member.leaf)
    return tree


class SimulatedGroup:
    """A tree, every member's private keys, and commits that every member must follow."""

    def __init__(self, n: int, seed: int = 1, suite: CipherSuite = SUITE) -> None:
        self.rng = seeded(seed)
        self.suite = suite
        members = [make_member(f"m{i}", self.rng, suite=suite) for i in range(n)]
        self.tree = tree_of(members)
        self.members = {LeafIndex(i): m for i, m in enumerate(members)}
        self.private = {
            LeafIndex(i): TreePrivateKeys(suite, LeafIndex(i), m.leaf_key) for i, m in enumerate(members)
        }
        self.epoch = 0

    def context(self, tree: RatchetTree) -> GroupContext:
        return GroupContext(cipher_suite=CipherSuiteId(self.suite.id), group_id=GROUP_ID, epoch=Epoch(self.epoch + 1),
                            tree_hash=tree.tree_hash(), confirmed_transcript_hash=b"cth")

    def commit(self, sender: LeafIndex, *, add: int = 0, remove: Sequence[LeafIndex] = ()) -> CommitSecret:
        """``sender`` commits removing ``remove`` and adding ``add`` new members, with a path.
        Every remaining member processes it; returns the agreed commit secret."""
        new_members = [make_member(f"new{self.epoch}-{i}", self.rng, suite=self.suite) for i in range(add)]

        def apply_proposals(tree: RatchetTree) -> list[LeafIndex]:
            for leaf in remove:
                tree.remove_leaf(leaf)
            return [tree.add_leaf(m.leaf) for m in new_members]

        staged = self.tree.copy()
        added = apply_proposals(staged)
        sender_leaf = staged.member_leaf(sender)
        pending = create_update_path(
            staged, sender=sender, group_id=GROUP_ID, signing_key=self.members[sender].signing_key,
            credential=sender_leaf.credential, capabilities=sender_leaf.capabilities, rng=self.rng,
        )
        context = self.context(staged)
        path = pending.encrypt(context, exclude=added, rng=self.rng)
        new_private = {sender: pending.private_keys}
        for leaf, keys in self.private.items():
            if leaf == sender or leaf in remove:
                continue
            tree = self.tree.copy()
            assert apply_proposals(tree) == added
            applied = apply_update_path(tree, sender=sender, update_path=path, group_id=GROUP_ID,
                                        group_context_extensions=(), exclude=added,
                                        validate_credential=accept_credentials)
            assert tree == staged
            assert tree.tree_hash() == staged.tree_hash()
            result = applied.decrypt(keys, context)
            assert result.commit_secret == pending.commit_secret
            result.private_keys.check_consistent(staged)
            new_private[leaf] = result.private_keys
        for leaf in remove:
            del self.members[leaf]
        for leaf, member in zip(added, new_members, strict=True):
            keys = TreePrivateKeys.for_joiner(staged, leaf, member.leaf_key, committer=sender,
                                              path_secret=pending.path_secret_for(leaf))
            keys.check_consistent(staged)
            new_private[leaf] = keys
            self.members[leaf] = member
        pending.private_keys.check_consistent(staged)
        self.tree = staged
        self.private = new_private
        self.epoch += 1
        return pending.commit_secret
