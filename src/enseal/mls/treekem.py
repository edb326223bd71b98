"""TreeKEM (RFC 9420 sections 7.4-7.6, 7.9): creating an UpdatePath for a Commit and applying a
received one.

Both directions are two steps, because the HPKE context of the path secrets is the provisional
GroupContext, whose ``tree_hash`` is that of the tree *with* the path merged:

* committer: ``pending = create_update_path(tree, ...)`` merges the new path into ``tree``;
  the caller computes the provisional GroupContext from ``tree.tree_hash()``; then
  ``pending.encrypt(group_context, exclude=new_members, rng=...)`` gives the ``UpdatePath``.
* receiver: ``applied = apply_update_path(tree, ...)`` validates the path (leaf node, lengths,
  fresh keys, parent hash) and merges it into ``tree``; the caller computes the provisional
  GroupContext; then ``applied.decrypt(private_keys, group_context)`` gives the commit secret
  and the member's new private keys.

``tree`` is the caller's staged copy (after the Commit's proposals); it is changed in place.
Work is O(log n) tree operations plus the HPKE operations the protocol requires.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

from enseal.crypto import CipherSuite, HpkePrivateKey, RandomSource, Secret, SignaturePrivateKey
from enseal.errors import AuthenticationError, CryptoError, LocalProtocolError, ValidationError
from enseal.mls import tree_math
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.commit import HPKECiphertext, UpdatePath, UpdatePathNode
from enseal.mls.credential import Credential, CredentialValidator
from enseal.mls.extensions import Extension
from enseal.mls.group_context import GroupContext
from enseal.mls.key_schedule import CommitSecret
from enseal.mls.leaf_node import Capabilities, LeafNode, validate_leaf_node
from enseal.mls.path_secrets import commit_secret_after, next_path_secret, node_key_pair
from enseal.mls.ratchet_tree import RatchetTree, parent_hash_of
from enseal.mls.tree_nodes import ParentNode
from enseal.mls.tree_private_keys import TreePrivateKeys
from enseal.types import LeafIndex, NodeIndex

UPDATE_PATH_NODE_LABEL: Final = b"UpdatePathNode"


@dataclass(frozen=True, slots=True)
class _PathNode:
    """One node of a filtered direct path: where it is, its copath child's resolution (node
    indices and their public keys) and its new public key."""

    index: NodeIndex
    resolution: tuple[tuple[NodeIndex, bytes], ...]
    public_key: bytes


def _resolution_keys(tree: RatchetTree, copath_child: NodeIndex, exclude: Collection[LeafIndex]) -> tuple[
        tuple[NodeIndex, bytes], ...]:
    out = []
    for node in tree.resolution(copath_child, exclude):
        value = tree.node(node)
        assert value is not None
        out.append((node, value.encryption_key))
    return tuple(out)


def _parent_nodes(
    suite: CipherSuite, tree: RatchetTree, path: Sequence[tuple[NodeIndex, NodeIndex]], public_keys: Sequence[bytes]
) -> tuple[list[tuple[NodeIndex, ParentNode]], bytes]:
    """The new parent nodes of a filtered direct path (root side first in the computation) and
    the parent hash the leaf must carry (section 7.9): each node's ``parent_hash`` is the parent
    hash of the next node up; the topmost node's is empty."""
    nodes: list[tuple[NodeIndex, ParentNode]] = []
    parent_hash = b""
    for (index, copath_child), public_key in zip(reversed(path), reversed(public_keys), strict=True):
        node = ParentNode(encryption_key=public_key, parent_hash=parent_hash, unmerged_leaves=())
        nodes.append((index, node))
        # The new node has no unmerged leaves, so the original sibling tree hash is the copath
        # child's current tree hash.
        parent_hash = parent_hash_of(suite, public_key, node.parent_hash, tree.node_hash(copath_child))
    nodes.reverse()
    return nodes, parent_hash


# -- creating an UpdatePath (sections 7.4, 7.5, 12.4.1) ------------------------------------------


class PendingUpdatePath:
    """An UpdatePath merged into the committer's staged tree, waiting for the provisional
    GroupContext to encrypt its path secrets. Holds secrets: ``repr`` hides them."""

    __slots__ = ("_nodes", "_path_secrets", "_sender", "_suite", "commit_secret", "leaf_node", "private_keys")

    def __init__(
        self,
        *,
        suite: CipherSuite,
        sender: LeafIndex,
        leaf_node: LeafNode,
        nodes: list[_PathNode],
        path_secrets: list[Secret],
        commit_secret: CommitSecret,
        private_keys: TreePrivateKeys,
    ) -> None:
        self._suite = suite
        self._sender = sender
        self._nodes = nodes
        self._path_secrets = path_secrets
        self.leaf_node = leaf_node
        """The committer's new leaf (source ``commit``), as merged into the tree."""
        self.commit_secret = commit_secret
        self.private_keys = private_keys
        """The committer's private keys once the Commit is merged."""

    @property
    def sender(self) -> LeafIndex:
        return self._sender

    def encrypt(self, group_context: GroupContext, *, exclude: Collection[LeafIndex], rng: RandomSource) -> UpdatePath:
        """Encrypt each path secret to the resolution of its copath child, leaving out the new
        members ``exclude`` ("Any new member (from an Add proposal) added in the same Commit MUST
        be excluded from this resolution"), with the provisional ``group_context``."""
        context = group_context.to_bytes()
        excluded_nodes = {tree_math.leaf_to_node(leaf) for leaf in exclude}
        nodes = []
        for node, secret in zip(self._nodes, self._path_secrets, strict=True):
            ciphertexts = []
            for target, public_key in node.resolution:
                if target in excluded_nodes:
                    continue
                kem_output, ciphertext = self._suite.encrypt_with_label(
                    public_key, UPDATE_PATH_NODE_LABEL, context, secret.reveal(), rng
                )
                ciphertexts.append(HPKECiphertext(kem_output=kem_output, ciphertext=ciphertext))
            nodes.append(UpdatePathNode(encryption_key=node.public_key, encrypted_path_secret=tuple(ciphertexts)))
        return UpdatePath(leaf_node=self.leaf_node, nodes=tuple(nodes))

    def path_secret_for(self, new_member: LeafIndex) -> Secret:
        """The path secret for a new member's Welcome: that of the lowest node shared by the
        committer's and the new member's direct paths (section 12.4.3.1)."""
        ancestor = tree_math.common_ancestor(tree_math.leaf_to_node(new_member), tree_math.leaf_to_node(self._sender))
        for node, secret in zip(self._nodes, self._path_secrets, strict=True):
            if node.index == ancestor:
                return secret
        raise LocalProtocolError(f"leaf {new_member} is not below the committer's filtered direct path")

    def __repr__(self) -> str:
        return f"PendingUpdatePath(sender {self._sender}, {len(self._nodes)} nodes, <secrets hidden>)"


def create_update_path(
    tree: RatchetTree,
    *,
    sender: LeafIndex,
    group_id: bytes,
    signing_key: SignaturePrivateKey,
    credential: Credential,
    capabilities: Capabilities,
    extensions: Sequence[Extension] = (),
    rng: RandomSource,
) -> PendingUpdatePath:
    """Update the direct path of ``sender`` in ``tree`` (sections 7.4, 7.5) and sign its new leaf
    (source ``commit``, over ``group_id`` and ``sender``) with ``signing_key``.

    For an external Commit, ``sender`` is ``tree.next_free_leaf()`` (the tree is extended if
    needed). The leaf secret comes from ``rng``; the leaf key pair and the path secrets follow
    the derivation chain of section 7.4: the leaf's node secret and path_secret[0] are derived
    from it.
    """
    suite = tree.suite
    tree.extend_to(sender)
    path = tree.filtered_direct_path(sender)
    leaf_secret = Secret(rng(suite.hash_size))
    leaf_key = node_key_pair(suite, leaf_secret)
    secrets: list[Secret] = []
    keys: dict[NodeIndex, HpkePrivateKey] = {}
    secret = leaf_secret
    for index, _ in path:
        secret = next_path_secret(suite, secret)
        secrets.append(secret)
        keys[index] = node_key_pair(suite, secret)
    commit_secret = commit_secret_after(suite, secret)
    public_keys = [keys[index].public_key for index, _ in path]
    parents, leaf_parent_hash = _parent_nodes(suite, tree, path, public_keys)
    nodes = [
        _PathNode(index=index, resolution=_resolution_keys(tree, copath_child, ()), public_key=public_key)
        for (index, copath_child), public_key in zip(path, public_keys, strict=True)
    ]
    leaf_node = LeafNode.sign(
        suite,
        signing_key,
        encryption_key=leaf_key.public_key,
        credential=credential,
        capabilities=capabilities,
        leaf_node_source=LeafNodeSource.COMMIT,
        parent_hash=leaf_parent_hash,
        extensions=extensions,
        group_id=group_id,
        leaf_index=sender,
    )
    tree.set_path(sender, leaf_node, parents)
    return PendingUpdatePath(
        suite=suite,
        sender=sender,
        leaf_node=leaf_node,
        nodes=nodes,
        path_secrets=secrets,
        commit_secret=commit_secret,
        private_keys=TreePrivateKeys(suite, sender, leaf_key, keys),
    )


# -- applying a received UpdatePath (sections 7.5, 7.6, 7.9.2, 12.4.2) ---------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PathDecryption:
    """What a member learns from an UpdatePath."""

    commit_secret: CommitSecret
    private_keys: TreePrivateKeys
    """The member's private keys after the Commit (outdated keys deleted)."""
    path_secret: Secret
    """The path secret the member decrypted (that of the lowest node shared with the sender)."""

    def __repr__(self) -> str:
        return f"PathDecryption({self.private_keys!r}, <secrets hidden>)"


class AppliedUpdatePath:
    """A received UpdatePath, validated and merged into the staged tree, waiting for the
    provisional GroupContext to decrypt."""

    __slots__ = ("_ciphertexts", "_nodes", "_sender", "_tree")

    def __init__(self, *, tree: RatchetTree, sender: LeafIndex, nodes: list[_PathNode],
                 ciphertexts: list[tuple[HPKECiphertext, ...]]) -> None:
        self._tree = tree
        self._sender = sender
        self._nodes = nodes
        self._ciphertexts = ciphertexts

    @property
    def sender(self) -> LeafIndex:
        return self._sender

    def decrypt(self, private_keys: TreePrivateKeys, group_context: GroupContext) -> PathDecryption:
        """Decrypt the path secret meant for this member and derive the rest (section 7.5).

        Call it before changing the tree any further. ``private_keys`` is the member's state
        before the Commit; keys of nodes the Commit's proposals blanked or replaced are dropped.
        """
        suite = self._tree.suite
        me = private_keys.leaf_index
        if me == self._sender:
            raise LocalProtocolError("the committer uses its own PendingUpdatePath, not the received path")
        ancestor = tree_math.common_ancestor(tree_math.leaf_to_node(me), tree_math.leaf_to_node(self._sender))
        position = next((i for i, node in enumerate(self._nodes) if node.index == ancestor), None)
        if position is None:
            raise LocalProtocolError(f"leaf {me} is not a recipient of this UpdatePath")
        node = self._nodes[position]
        # "Identify a node in the resolution of the copath node for which the recipient has a
        # private key."
        found = next(
            ((i, key) for i, (target, public_key) in enumerate(node.resolution)
             if (key := private_keys.key_for(target)) is not None and key.public_key == public_key),
            None,
        )
        if found is None:
            raise LocalProtocolError("no private key for any node of the copath resolution")
        slot, key = found
        ciphertext = self._ciphertexts[position][slot]
        try:
            path_secret = Secret(suite.decrypt_with_label(
                key, UPDATE_PATH_NODE_LABEL, group_context.to_bytes(), ciphertext.kem_output, ciphertext.ciphertext
            ))
        except CryptoError as exc:
            raise AuthenticationError("RFC 9420 §7.5: the path secret does not decrypt") from exc
        new_keys: dict[NodeIndex, HpkePrivateKey] = {}
        secret = last = path_secret
        for upper in self._nodes[position:]:
            new_key = node_key_pair(suite, secret)
            # "Verify that the derived public keys are the same as the corresponding public keys
            # sent in the UpdatePath."
            if new_key.public_key != upper.public_key:
                raise ValidationError("RFC 9420 §7.5: derived public key differs from the UpdatePath's",
                                      f"node {upper.index}")
            new_keys[upper.index] = new_key
            last, secret = secret, next_path_secret(suite, secret)
        commit_secret = commit_secret_after(suite, last)
        # "each recipient MUST delete outdated key material": keys of the sender's direct path
        # are replaced, keys of nodes the proposals blanked are dropped.
        sender_path = set(tree_math.direct_path(tree_math.leaf_to_node(self._sender), self._tree.leaf_count))
        keys = private_keys.without_nodes(sender_path).with_node_keys(new_keys).restricted_to(self._tree)
        return PathDecryption(commit_secret=commit_secret, private_keys=keys, path_secret=path_secret)

    def __repr__(self) -> str:
        return f"AppliedUpdatePath(sender {self._sender}, {len(self._nodes)} nodes)"


def apply_update_path(
    tree: RatchetTree,
    *,
    sender: LeafIndex,
    update_path: UpdatePath,
    group_id: bytes,
    group_context_extensions: Sequence[Extension],
    exclude: Collection[LeafIndex] = (),
    validate_credential: CredentialValidator,
) -> AppliedUpdatePath:
    """Validate ``update_path`` from ``sender`` against ``tree`` (after the Commit's proposals) and
    merge it into ``tree`` (sections 7.5, 12.4.2).

    ``group_context_extensions`` are the new epoch's; ``exclude`` the leaves added by the same
    Commit. For an external Commit, ``sender`` is ``tree.next_free_leaf()``. Raises
    :class:`ValidationError` naming the rule, or :class:`~enseal.errors.SignatureError`; on error
    ``tree`` is unchanged.
    """
    suite = tree.suite
    leaf = update_path.leaf_node
    replacing = sender if tree.leaf(sender) is not None else None
    # "Validate the LeafNode as specified in Section 7.3. The leaf_node_source field MUST be set
    # to commit." and "Verify that the encryption_key value in the LeafNode is different from the
    # committer's current leaf node" (part of check_leaf_node_fits).
    validate_leaf_node(leaf, suite, source=LeafNodeSource.COMMIT, group_id=group_id, leaf_index=sender,
                       now=None, validate_credential=validate_credential)
    staged = tree if sender < tree.leaf_count else tree.copy()
    staged.extend_to(sender)
    staged.check_leaf_node_fits(leaf, group_context_extensions=group_context_extensions, replacing=replacing)
    path = staged.filtered_direct_path(sender)
    if len(update_path.nodes) != len(path):
        raise ValidationError("RFC 9420 §7.6: UpdatePath length differs from the filtered direct path",
                              f"{len(update_path.nodes)} != {len(path)}")
    public_keys = [node.encryption_key for node in update_path.nodes]
    # "Verify that none of the public keys in the UpdatePath appear in any node of the new
    # ratchet tree." (The leaf's key was checked with the leaf.)
    if len(set(public_keys)) != len(public_keys) or leaf.encryption_key in public_keys:
        raise ValidationError("RFC 9420 §12.4.2: an UpdatePath public key appears twice")
    for public_key in public_keys:
        if staged.node_index_by_encryption_key(public_key) is not None:
            raise ValidationError("RFC 9420 §12.4.2: an UpdatePath public key already appears in the tree")
        try:
            suite.kem.check_public_key(public_key)
        except CryptoError as exc:
            raise ValidationError("RFC 9420 §7.6: UpdatePath public key is not a key of the cipher suite") from exc
    nodes = []
    for (index, copath_child), path_node in zip(path, update_path.nodes, strict=True):
        resolution = _resolution_keys(staged, copath_child, exclude)
        # "The length of the encrypted_path_secret vector MUST be equal to the length of the
        # resolution of the copath node (excluding new leaf nodes)"
        if len(path_node.encrypted_path_secret) != len(resolution):
            raise ValidationError("RFC 9420 §7.6: encrypted_path_secret count differs from the resolution",
                                  f"node {index}")
        nodes.append(_PathNode(index=index, resolution=resolution, public_key=path_node.encryption_key))
    parents, leaf_parent_hash = _parent_nodes(suite, staged, path, public_keys)
    # "clients MUST recompute the expected value of parent_hash for the committer's new leaf and
    # verify that it matches the parent_hash value in the supplied leaf_node"
    if leaf.parent_hash != leaf_parent_hash:
        raise ValidationError("RFC 9420 §7.9.2: the committer's leaf parent_hash does not match the UpdatePath")
    if staged is not tree:
        tree.extend_to(sender)
    tree.set_path(sender, leaf, parents)
    return AppliedUpdatePath(tree=tree, sender=sender, nodes=nodes,
                             ciphertexts=[node.encrypted_path_secret for node in update_path.nodes])
