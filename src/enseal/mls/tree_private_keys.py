"""A member's private view of the ratchet tree (RFC 9420 section 4.2): the private key of its own
leaf and of the nodes on its direct path whose keys it knows ("The private key for a node in the
tree is known to a member of the group only if the node's subtree contains that member's leaf").

:class:`TreePrivateKeys` hides its keys from ``repr``, is copied before a commit is staged and
serializes to a versioned byte string (a :class:`~enseal.crypto.Secret`) for persistence:

    u8 format version (1) || u16 cipher suite || u32 leaf index || opaque leaf_priv<V> ||
    { u32 node; opaque node_priv<V>; } node_keys<V>      (nodes in increasing order)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NoReturn

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite, HpkePrivateKey, Secret, cipher_suite
from enseal.errors import CryptoError, DecodeError, LocalProtocolError, ValidationError
from enseal.mls import tree_math
from enseal.mls.path_secrets import next_path_secret, node_key_pair
from enseal.mls.ratchet_tree import RatchetTree
from enseal.types import LeafIndex, NodeIndex

FORMAT_VERSION: Final = 1
"""Version of the :meth:`TreePrivateKeys.to_bytes` encoding."""


class TreePrivateKeys:
    """The leaf's private key and the private keys of nodes on the member's direct path."""

    __slots__ = ("_leaf_index", "_leaf_key", "_node_keys", "_suite")

    def __init__(
        self,
        suite: CipherSuite,
        leaf_index: LeafIndex,
        leaf_key: HpkePrivateKey,
        node_keys: Mapping[NodeIndex, HpkePrivateKey] | None = None,
    ) -> None:
        keys = dict(node_keys or {})
        leaf_node = tree_math.leaf_to_node(leaf_index)
        for node in keys:
            if node & 1 == 0 or not tree_math.is_in_subtree(leaf_node, node):
                raise LocalProtocolError(f"node {node} is not on the direct path of leaf {leaf_index}")
        if leaf_key.kem is not suite.kem or any(k.kem is not suite.kem for k in keys.values()):
            raise LocalProtocolError("private keys of another cipher suite")
        self._suite = suite
        self._leaf_index = leaf_index
        self._leaf_key = leaf_key
        self._node_keys = keys

    # -- reading ----------------------------------------------------------------------------------

    @property
    def suite(self) -> CipherSuite:
        return self._suite

    @property
    def leaf_index(self) -> LeafIndex:
        return self._leaf_index

    @property
    def leaf_key(self) -> HpkePrivateKey:
        return self._leaf_key

    def key_for(self, node: NodeIndex) -> HpkePrivateKey | None:
        """The private key of ``node`` (the leaf's own node included), if known."""
        if node == tree_math.leaf_to_node(self._leaf_index):
            return self._leaf_key
        return self._node_keys.get(node)

    def nodes(self) -> list[NodeIndex]:
        """The parent nodes whose private keys are known, in increasing order."""
        return sorted(self._node_keys)

    # -- deriving new states (the object itself never changes) ------------------------------------

    def copy(self) -> TreePrivateKeys:
        return TreePrivateKeys(self._suite, self._leaf_index, self._leaf_key, self._node_keys)

    def with_leaf_key(self, leaf_key: HpkePrivateKey) -> TreePrivateKeys:
        """After an Update of this member's own leaf is committed."""
        return TreePrivateKeys(self._suite, self._leaf_index, leaf_key, self._node_keys)

    def with_node_keys(self, node_keys: Mapping[NodeIndex, HpkePrivateKey]) -> TreePrivateKeys:
        """These keys added (replacing any for the same nodes)."""
        return TreePrivateKeys(self._suite, self._leaf_index, self._leaf_key, {**self._node_keys, **node_keys})

    def without_nodes(self, nodes: set[NodeIndex]) -> TreePrivateKeys:
        """Keys of ``nodes`` deleted ("each outdated node key pair that was replaced")."""
        kept = {node: key for node, key in self._node_keys.items() if node not in nodes}
        return TreePrivateKeys(self._suite, self._leaf_index, self._leaf_key, kept)

    def restricted_to(self, tree: RatchetTree) -> TreePrivateKeys:
        """Only the keys that still belong to the tree: keys of nodes that were blanked or
        replaced (by Update, Remove or truncation) are dropped."""
        kept = {
            node: key for node, key in self._node_keys.items()
            if node < tree.node_count and (n := tree.node(node)) is not None and n.encryption_key == key.public_key
        }
        return TreePrivateKeys(self._suite, self._leaf_index, self._leaf_key, kept)

    def check_consistent(self, tree: RatchetTree) -> None:
        """Every known key matches a non-blank node of ``tree`` (the leaf included)."""
        leaf = tree.leaf(self._leaf_index)
        if leaf is None or leaf.encryption_key != self._leaf_key.public_key:
            raise LocalProtocolError("leaf private key does not match the tree")
        for node, key in self._node_keys.items():
            public = tree.node(node) if node < tree.node_count else None
            if public is None or public.encryption_key != key.public_key:
                raise LocalProtocolError(f"private key of node {node} does not match the tree")

    @classmethod
    def for_joiner(
        cls,
        tree: RatchetTree,
        leaf_index: LeafIndex,
        leaf_key: HpkePrivateKey,
        *,
        committer: LeafIndex,
        path_secret: Secret | None,
    ) -> TreePrivateKeys:
        """The private keys of a member joining by Welcome (section 12.4.3.1).

        ``path_secret`` (from GroupSecrets) is the secret of the lowest common ancestor of the
        joiner's leaf and the committer's (``GroupInfo.signer``); the keys of the non-blank
        nodes above it follow by derivation. "The private key MUST be the private key that
        corresponds to the public key in the node."
        """
        suite = tree.suite
        leaf = tree.member_leaf(leaf_index)
        if leaf.encryption_key != leaf_key.public_key:
            raise LocalProtocolError("the leaf private key does not match the joiner's leaf in the tree")
        if path_secret is None:
            return cls(suite, leaf_index, leaf_key)
        n = tree.leaf_count
        if not 0 <= committer < n or committer == leaf_index:
            raise ValidationError("RFC 9420 §12.4.3.1: GroupInfo signer cannot have sent the path secret")
        node = tree_math.common_ancestor(tree_math.leaf_to_node(leaf_index), tree_math.leaf_to_node(committer))
        keys: dict[NodeIndex, HpkePrivateKey] = {}
        secret = path_secret
        while True:
            public = tree.node(node)
            if public is not None:
                key = node_key_pair(suite, secret)
                if key.public_key != public.encryption_key:
                    raise ValidationError("RFC 9420 §12.4.3.1: path secret does not match the tree", f"node {node}")
                keys[node] = key
                secret = next_path_secret(suite, secret)
            elif not keys:
                raise ValidationError("RFC 9420 §12.4.3.1: path secret for a blank node", f"node {node}")
            if node == tree.root:
                break
            node = tree_math.parent(node, n)
        return cls(suite, leaf_index, leaf_key, keys)

    # -- persistence ------------------------------------------------------------------------------

    def to_bytes(self) -> Secret:
        """The versioned encoding (see the module docstring); store it encrypted."""
        w = Writer()
        w.u8(FORMAT_VERSION)
        w.u16(self._suite.id)
        w.u32(self._leaf_index)
        w.opaque(self._leaf_key.private_bytes().reveal())
        inner = Writer()
        for node in sorted(self._node_keys):
            inner.u32(node)
            inner.opaque(self._node_keys[node].private_bytes().reveal())
        w.opaque(inner.getvalue())
        return Secret(w.getvalue())

    @classmethod
    def from_bytes(cls, data: Secret | bytes) -> TreePrivateKeys:
        raw = data.reveal() if isinstance(data, Secret) else bytes(data)
        r = Reader(raw)
        version = r.u8()
        if version != FORMAT_VERSION:
            raise DecodeError("unknown TreePrivateKeys format version", str(version))
        suite = cipher_suite(r.u16())
        leaf_index = LeafIndex(r.u32())
        try:
            leaf_key = suite.hpke_key(r.opaque())
            keys: dict[NodeIndex, HpkePrivateKey] = {}

            def read_entry(entry: Reader) -> None:
                node = NodeIndex(entry.u32())
                if keys and node <= max(keys):
                    raise DecodeError("TreePrivateKeys: node keys out of order")
                keys[node] = suite.hpke_key(entry.opaque())

            r.vector(read_entry)
        except CryptoError as exc:
            raise DecodeError("TreePrivateKeys: invalid private key") from exc
        r.finish()
        try:
            return cls(suite, leaf_index, leaf_key, keys)
        except LocalProtocolError as exc:
            raise DecodeError("TreePrivateKeys: inconsistent keys", str(exc)) from exc

    # -- display and comparison -------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreePrivateKeys):
            return NotImplemented
        return (self._suite == other._suite and self._leaf_index == other._leaf_index
                and self._leaf_key == other._leaf_key and self._node_keys == other._node_keys)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TreePrivateKeys(leaf {self._leaf_index}, {len(self._node_keys)} node keys, <private hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("TreePrivateKeys cannot be pickled; persist to_bytes() encrypted")
