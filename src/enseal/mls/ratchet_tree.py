"""The public ratchet tree (RFC 9420 sections 4 and 7): an array of optional nodes whose leaf
count is a power of two, with resolutions, filtered direct paths, the proposal operations of
section 12.1 (add, update, remove, with extension and truncation of section 7.7), tree hashes
(section 7.8), parent hashes (section 7.9) and the checks of leaf node validation (section 7.3)
that need the whole group.

Costs: tree hashes are cached per node and invalidated along the direct path of every changed
node, so a path update re-hashes O(log n) nodes; lookups by signature key and encryption key are
dictionaries; the counts behind "supported by all members" are maintained per change. ``copy``
copies flat lists and dictionaries only (no re-encoding, no hashing).

A :class:`RatchetTree` is only ever built from nodes that were validated as a whole
(:func:`enseal.mls.tree_validation.validate_ratchet_tree`), from a single creator leaf
(:meth:`RatchetTree.create`) or from this client's own persisted state
(:meth:`RatchetTree.from_trusted_nodes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Final

from enseal.codec import Writer
from enseal.crypto import CipherSuite
from enseal.errors import LocalProtocolError, ValidationError
from enseal.mls import tree_math
from enseal.mls.code_points import DEFAULT_EXTENSION_TYPES, DEFAULT_PROPOSAL_TYPES, LeafNodeSource, NodeType
from enseal.mls.credential import CredentialValidator
from enseal.mls.extensions import Extension, RequiredCapabilities, find_extension
from enseal.mls.group_context import GroupContext
from enseal.mls.leaf_node import LeafNode, validate_leaf_node
from enseal.mls.tree_nodes import Node, ParentNode, RatchetTreeExtension
from enseal.types import LeafIndex, NodeIndex

MAX_LEAVES: Final = 1 << 31
"""Leaf indices are uint32 and node indices must fit too: at most 2**31 leaves."""


class DuplicateKeyError(ValidationError):
    """A signature or encryption key would appear twice in the tree (section 7.3)."""


class _Capabilities:
    """Counts over the members' leaves behind the section 7.3 checks "supported by all members"
    and "in use by other members"."""

    __slots__ = ("credentials_in_use", "credentials_supported", "extensions_supported", "members",
                 "proposals_supported")

    def __init__(self) -> None:
        self.members = 0
        self.credentials_in_use: Counter[int] = Counter()
        self.credentials_supported: Counter[int] = Counter()
        self.extensions_supported: Counter[int] = Counter()
        self.proposals_supported: Counter[int] = Counter()

    def copy(self) -> _Capabilities:
        other = _Capabilities()
        other.members = self.members
        other.credentials_in_use = self.credentials_in_use.copy()
        other.credentials_supported = self.credentials_supported.copy()
        other.extensions_supported = self.extensions_supported.copy()
        other.proposals_supported = self.proposals_supported.copy()
        return other

    def change(self, leaf: LeafNode, sign: int) -> None:
        """Count ``leaf`` in (``sign`` = 1) or out (``sign`` = -1)."""
        caps = leaf.capabilities
        self.members += sign
        _count(self.credentials_in_use, (leaf.credential.credential_type,), sign)
        _count(self.credentials_supported, set(caps.credentials), sign)
        _count(self.extensions_supported, set(caps.extensions), sign)
        _count(self.proposals_supported, set(caps.proposals), sign)


def _count(counter: Counter[int], keys: Iterable[int], sign: int) -> None:
    for key in keys:
        value = counter[key] + sign
        if value:
            counter[key] = value
        else:
            del counter[key]


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class RatchetTree:
    """The public state of a group's ratchet tree for one cipher suite."""

    __slots__ = ("_caps", "_encryption_keys", "_hashes", "_nodes", "_signature_keys", "_suite")

    def __init__(self, suite: CipherSuite, width: int) -> None:
        """An all-blank tree of ``width`` nodes; use the class methods to build real trees."""
        n_leaves = (width + 1) // 2
        if not _is_pow2(n_leaves) or width != 2 * n_leaves - 1 or n_leaves > MAX_LEAVES:
            raise LocalProtocolError(f"a ratchet tree has 2**d leaves, not a width of {width}")
        self._suite = suite
        self._nodes: list[Node | None] = [None] * width
        self._hashes: list[bytes | None] = [None] * width
        self._encryption_keys: dict[bytes, NodeIndex] = {}
        self._signature_keys: dict[bytes, LeafIndex] = {}
        self._caps = _Capabilities()

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def create(cls, suite: CipherSuite, leaf: LeafNode) -> RatchetTree:
        """The one-leaf tree of a new group (section 11)."""
        tree = cls(suite, 1)
        tree._set_node(NodeIndex(0), leaf)
        return tree

    @classmethod
    def from_trusted_nodes(cls, suite: CipherSuite, nodes: Sequence[Node | None]) -> RatchetTree:
        """A tree from nodes in array order (trailing blanks may be omitted) WITHOUT validating
        signatures or parent hashes: only for this client's own state (e.g. reloading a tree it
        validated or computed before). Received trees go through ``validate_ratchet_tree``."""
        return cls._from_nodes(suite, nodes)

    @classmethod
    def _from_nodes(cls, suite: CipherSuite, nodes: Sequence[Node | None]) -> RatchetTree:
        """Place nodes, extend to a full width and index them. Duplicate keys raise
        :class:`DuplicateKeyError`; misplaced node kinds :class:`ValidationError`."""
        if not nodes:
            raise ValidationError("RFC 9420 §12.4.3.3: ratchet_tree is empty")
        n_leaves = 1
        while 2 * n_leaves - 1 < len(nodes):
            n_leaves *= 2
        tree = cls(suite, 2 * n_leaves - 1)
        for index, node in enumerate(nodes):
            if node is None:
                continue
            if isinstance(node, LeafNode) != (index % 2 == 0):
                raise ValidationError(f"RFC 9420 §12.4.3.3: node {index} has the wrong node type")
            tree._set_node(NodeIndex(index), node)
        return tree

    def copy(self) -> RatchetTree:
        """An independent copy (nodes are immutable and shared)."""
        other = RatchetTree.__new__(RatchetTree)
        other._suite = self._suite
        other._nodes = self._nodes.copy()
        other._hashes = self._hashes.copy()
        other._encryption_keys = self._encryption_keys.copy()
        other._signature_keys = self._signature_keys.copy()
        other._caps = self._caps.copy()
        return other

    # -- reading ----------------------------------------------------------------------------------

    @property
    def suite(self) -> CipherSuite:
        return self._suite

    @property
    def leaf_count(self) -> int:
        """Number of leaves (a power of two), blank or not."""
        return (len(self._nodes) + 1) // 2

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    @property
    def member_count(self) -> int:
        """Number of non-blank leaves."""
        return self._caps.members

    @property
    def root(self) -> NodeIndex:
        return tree_math.root(self.leaf_count)

    def node(self, index: NodeIndex) -> Node | None:
        return self._nodes[self._node_index(index)]

    def _node_index(self, index: int) -> int:
        if not 0 <= index < len(self._nodes):
            raise LocalProtocolError(f"node {index} is outside a tree of {len(self._nodes)} nodes")
        return index

    def leaf(self, index: LeafIndex) -> LeafNode | None:
        """The leaf node at leaf ``index`` (None if blank or beyond the tree)."""
        if not 0 <= index < self.leaf_count:
            return None
        node = self._nodes[2 * index]
        assert node is None or isinstance(node, LeafNode)
        return node

    def member_leaf(self, index: LeafIndex) -> LeafNode:
        """The leaf node of the member at ``index``; ValidationError if there is none."""
        leaf = self.leaf(index)
        if leaf is None:
            raise ValidationError("RFC 9420: leaf index does not identify a member", f"leaf {index}")
        return leaf

    def parent_node(self, index: NodeIndex) -> ParentNode | None:
        if index & 1 == 0:
            raise LocalProtocolError(f"node {index} is a leaf, not a parent")
        node = self._nodes[self._node_index(index)]
        assert node is None or isinstance(node, ParentNode)
        return node

    def members(self) -> Iterator[tuple[LeafIndex, LeafNode]]:
        """The non-blank leaves, in leaf order."""
        for index in range(0, len(self._nodes), 2):
            node = self._nodes[index]
            if node is not None:
                assert isinstance(node, LeafNode)
                yield LeafIndex(index // 2), node

    def leaf_index_by_signature_key(self, signature_key: bytes) -> LeafIndex | None:
        return self._signature_keys.get(bytes(signature_key))

    def node_index_by_encryption_key(self, encryption_key: bytes) -> NodeIndex | None:
        return self._encryption_keys.get(bytes(encryption_key))

    def find_leaf(self, leaf: LeafNode) -> LeafIndex | None:
        """The index of a leaf identical to ``leaf`` (e.g. a joiner's own KeyPackage leaf)."""
        index = self._signature_keys.get(leaf.signature_key)
        if index is not None and self._nodes[2 * index] == leaf:
            return index
        return None

    def next_free_leaf(self) -> LeafIndex:
        """The leftmost blank leaf, or ``leaf_count`` if none (the tree would be extended)."""
        try:
            return LeafIndex(self._nodes[::2].index(None))
        except ValueError:
            return LeafIndex(self.leaf_count)

    def resolution(self, index: NodeIndex, exclude: Collection[LeafIndex] = ()) -> list[NodeIndex]:
        """The resolution of node ``index`` (section 4.1.1), leaving out the leaves in
        ``exclude`` (new members of the same Commit, section 7.6)."""
        nodes = self._nodes
        out: list[NodeIndex] = []
        stack = [self._node_index(index)]
        while stack:
            x = stack.pop()
            node = nodes[x]
            if node is None:
                if x & 1:
                    stack.append(tree_math.right(x))
                    stack.append(tree_math.left(x))
            elif x & 1 == 0:
                if x >> 1 not in exclude:
                    out.append(NodeIndex(x))
            else:
                assert isinstance(node, ParentNode)
                out.append(NodeIndex(x))
                out.extend(NodeIndex(2 * leaf) for leaf in node.unmerged_leaves if leaf not in exclude)
        return out

    def is_subtree_blank(self, index: NodeIndex) -> bool:
        """True if every node under (and at) ``index`` is blank: an empty resolution."""
        if self._nodes[self._node_index(index)] is not None:
            return False
        level = tree_math.level(index)
        start = index - (1 << level) + 1
        stop = index + (1 << level)
        return self._nodes[start:stop].count(None) == stop - start

    def filtered_direct_path(self, leaf: LeafIndex) -> list[tuple[NodeIndex, NodeIndex]]:
        """``(parent, copath child)`` for each node of the filtered direct path of ``leaf``:
        the direct path without the nodes whose copath child has an empty resolution."""
        n = self.leaf_count
        out: list[tuple[NodeIndex, NodeIndex]] = []
        child = self._node_index(tree_math.leaf_to_node(leaf))
        root = tree_math.root(n)
        while child != root:
            parent = tree_math.parent(child, n)
            sibling = tree_math.sibling(child, n)
            if not self.is_subtree_blank(sibling):
                out.append((parent, sibling))
            child = parent
        return out

    # -- tree hashes (section 7.8) ----------------------------------------------------------------

    def tree_hash(self) -> bytes:
        """The tree hash of the root."""
        return self.node_hash(self.root)

    def node_hash(self, index: NodeIndex) -> bytes:
        """The tree hash of the subtree under ``index`` (cached)."""
        return self._compute_hash(self._node_index(index), ())

    def _compute_hash(self, index: int, exclude: Collection[int]) -> bytes:
        """Tree hash of ``index`` with the leaves in ``exclude`` blanked and removed from every
        ``unmerged_leaves`` (the original sibling tree hash of section 7.9). Without exclusions
        the results are cached."""
        if not exclude:
            cached = self._hashes[index]
            if cached is not None:
                return cached
        elif not any(tree_math.is_in_subtree(2 * leaf, index) for leaf in exclude):
            return self._compute_hash(index, ())
        node = self._nodes[index]
        w = Writer()
        if index & 1 == 0:
            leaf_index = index >> 1
            w.u8(NodeType.LEAF)
            w.u32(leaf_index)
            if node is None or leaf_index in exclude:
                w.u8(0)
            else:
                w.u8(1)
                node.encode(w)
        else:
            left = self._compute_hash(tree_math.left(index), exclude)
            right = self._compute_hash(tree_math.right(index), exclude)
            w.u8(NodeType.PARENT)
            if node is None:
                w.u8(0)
            else:
                assert isinstance(node, ParentNode)
                w.u8(1)
                if exclude and any(leaf in exclude for leaf in node.unmerged_leaves):
                    node = ParentNode(
                        encryption_key=node.encryption_key,
                        parent_hash=node.parent_hash,
                        unmerged_leaves=tuple(leaf for leaf in node.unmerged_leaves if leaf not in exclude),
                    )
                node.encode(w)
            w.opaque(left)
            w.opaque(right)
        digest = self._suite.digest(w.getvalue())
        if not exclude:
            self._hashes[index] = digest
        return digest

    # -- parent hashes (section 7.9) --------------------------------------------------------------

    def parent_hash(self, parent: NodeIndex, copath_child: NodeIndex) -> bytes:
        """The parent hash of the non-blank node ``parent`` with copath child ``copath_child``:
        Hash(ParentHashInput{encryption_key, parent_hash, original_sibling_tree_hash})."""
        node = self.parent_node(parent)
        if node is None:
            raise LocalProtocolError(f"node {parent} is blank: it has no parent hash")
        sibling_hash = self._compute_hash(self._node_index(copath_child), frozenset(node.unmerged_leaves))
        return parent_hash_of(self._suite, node.encryption_key, node.parent_hash, sibling_hash)

    # -- the ratchet_tree extension (section 12.4.3.3) --------------------------------------------

    def to_nodes(self) -> tuple[Node | None, ...]:
        """The nodes in array order without trailing blanks ("the sender MUST NOT include blank
        nodes after the last non-blank node")."""
        nodes = self._nodes
        end = len(nodes)
        while end > 0 and nodes[end - 1] is None:
            end -= 1
        return tuple(nodes[:end])

    def to_extension(self) -> RatchetTreeExtension:
        return RatchetTreeExtension(ratchet_tree=self.to_nodes())

    # -- changes (sections 7.7, 12.1) --------------------------------------------------------------

    def add_leaf(self, leaf: LeafNode) -> LeafIndex:
        """Add (section 12.1.1): the leftmost blank leaf, else extend the tree; the new leaf is
        unmerged at every non-blank ancestor. The caller validated ``leaf``
        (:meth:`check_leaf_node_fits` and KeyPackage validation)."""
        self._check_keys_free(leaf, None)
        index = self.next_free_leaf()
        if index == self.leaf_count:
            self._extend()
        node_index = tree_math.leaf_to_node(index)
        for ancestor in tree_math.direct_path(node_index, self.leaf_count):
            parent = self._nodes[ancestor]
            if parent is not None:
                assert isinstance(parent, ParentNode)
                self._set_node(ancestor, ParentNode(
                    encryption_key=parent.encryption_key,
                    parent_hash=parent.parent_hash,
                    unmerged_leaves=tuple(sorted((*parent.unmerged_leaves, index))),
                ))
        self._set_node(node_index, leaf)
        return index

    def update_leaf(self, index: LeafIndex, leaf: LeafNode) -> None:
        """Update (section 12.1.2): replace the member's leaf and blank its direct path."""
        self.member_leaf(index)
        self._check_keys_free(leaf, index)
        node_index = tree_math.leaf_to_node(index)
        self._set_node(node_index, None)
        self._blank_direct_path(index)
        self._set_node(node_index, leaf)

    def remove_leaf(self, index: LeafIndex) -> None:
        """Remove (section 12.1.3): blank the leaf and its direct path, then truncate."""
        self.member_leaf(index)
        self._set_node(tree_math.leaf_to_node(index), None)
        self._blank_direct_path(index)
        self._truncate()

    def _blank_direct_path(self, index: LeafIndex) -> None:
        for ancestor in tree_math.direct_path(tree_math.leaf_to_node(index), self.leaf_count):
            if self._nodes[ancestor] is not None:
                self._set_node(ancestor, None)

    def extend_to(self, index: LeafIndex) -> None:
        """Extend the tree until leaf ``index`` exists (an external joiner's leaf, section
        12.4.1)."""
        while index >= self.leaf_count:
            self._extend()

    def set_path(self, leaf: LeafIndex, leaf_node: LeafNode, parents: Sequence[tuple[NodeIndex, ParentNode]]) -> None:
        """Merge an update path (section 7.5): blank the direct path of ``leaf``, set the given
        parent nodes (its filtered direct path) and the leaf. Used by :mod:`enseal.mls.treekem`
        after it validated everything."""
        self.extend_to(leaf)
        node_index = tree_math.leaf_to_node(leaf)
        if self._nodes[node_index] is not None:
            self._set_node(node_index, None)
        self._blank_direct_path(leaf)
        for index, parent in parents:
            self._set_node(index, parent)
        self._set_node(node_index, leaf_node)

    def _check_keys_free(self, leaf: LeafNode, replacing: LeafIndex | None) -> None:
        """Refuse a leaf whose keys are taken before anything changes (the tree stays intact)."""
        if leaf.encryption_key in self._encryption_keys:
            raise DuplicateKeyError("RFC 9420 §7.3: encryption_key not unique in the tree")
        holder = self._signature_keys.get(leaf.signature_key)
        if holder is not None and holder != replacing:
            raise DuplicateKeyError("RFC 9420 §7.3: signature_key not unique in the tree", f"leaf {holder}")

    def _extend(self) -> None:
        n = self.leaf_count
        if 2 * n > MAX_LEAVES:
            raise LocalProtocolError("ratchet tree cannot grow beyond 2**31 leaves")
        # The old tree becomes the left subtree of a new blank root: indices are unchanged.
        self._nodes.extend([None] * (2 * n))
        self._hashes.extend([None] * (2 * n))

    def _truncate(self) -> None:
        # "Truncate the tree by removing the right subtree until there is at least one non-blank
        # leaf node in the right subtree."
        nodes = self._nodes
        n = self.leaf_count
        last_leaf = next((i for i in range(n - 1, -1, -1) if nodes[2 * i] is not None), None)
        if last_leaf is None:
            raise LocalProtocolError("cannot remove the last member of a tree")
        while n > 1 and last_leaf < n // 2:
            n //= 2
        width = 2 * n - 1
        for index in range(width, len(nodes)):
            if nodes[index] is not None:
                self._set_node(NodeIndex(index), None)
        del nodes[width:]
        del self._hashes[width:]

    def _set_node(self, index: NodeIndex, node: Node | None) -> None:
        """The one place nodes change: keeps the key indexes, capability counts and the hash
        cache consistent."""
        old = self._nodes[index]
        if old is not None:
            del self._encryption_keys[old.encryption_key]
            if isinstance(old, LeafNode):
                del self._signature_keys[old.signature_key]
                self._caps.change(old, -1)
        if node is not None:
            if node.encryption_key in self._encryption_keys:
                self._restore(index, old)
                if isinstance(node, ParentNode):
                    raise DuplicateKeyError(
                        "RFC 9420 §12.4.3.1: parent node encryption key appears in another node", f"node {index}")
                raise DuplicateKeyError("RFC 9420 §7.3: encryption_key not unique in the tree", f"node {index}")
            if isinstance(node, LeafNode) and node.signature_key in self._signature_keys:
                self._restore(index, old)
                raise DuplicateKeyError("RFC 9420 §7.3: signature_key not unique in the tree",
                                        f"leaf {index // 2}")
            self._encryption_keys[node.encryption_key] = index
            if isinstance(node, LeafNode):
                self._signature_keys[node.signature_key] = LeafIndex(index // 2)
                self._caps.change(node, +1)
        self._nodes[index] = node
        self._invalidate(index)

    def _restore(self, index: NodeIndex, old: Node | None) -> None:
        if old is not None:
            self._encryption_keys[old.encryption_key] = index
            if isinstance(old, LeafNode):
                self._signature_keys[old.signature_key] = LeafIndex(index // 2)
                self._caps.change(old, +1)

    def _invalidate(self, index: int) -> None:
        """Forget the cached hashes of ``index`` and its ancestors. A parent's hash is only ever
        cached after its children's, so the walk stops at the first ancestor without one."""
        hashes = self._hashes
        root = len(hashes) // 2  # the root of a full tree of width 2n - 1 is n - 1
        while hashes[index] is not None:
            hashes[index] = None
            if index == root:
                return
            index = tree_math.parent(index, (len(hashes) + 1) // 2)

    # -- leaf node validation against the group (section 7.3) --------------------------------------

    def check_leaf_node_fits(
        self,
        leaf: LeafNode,
        *,
        group_context_extensions: Sequence[Extension],
        replacing: LeafIndex | None = None,
    ) -> None:
        """The group-dependent checks of section 7.3 for a leaf about to enter the tree (Add,
        Update, a Commit's path), ``replacing`` the member's current leaf if given.

        Required capabilities, support of the GroupContext extensions, credential types against
        the other members, and uniqueness of the signature and encryption keys. Raises
        :class:`ValidationError` naming the rule.
        """
        check_leaf_supports_group(leaf, group_context_extensions)
        caps = self._caps
        others = caps.members
        in_use = caps.credentials_in_use.copy()
        supported = caps.credentials_supported.copy()
        old: LeafNode | None = None
        if replacing is not None:
            old = self.member_leaf(replacing)
            others -= 1
            in_use[old.credential.credential_type] -= 1
            for value in set(old.capabilities.credentials):
                supported[value] -= 1
        # "Verify that the credential type is supported by all members of the group, as specified
        # by the capabilities field of each member's LeafNode, and that the capabilities field of
        # this LeafNode indicates support for all the credential types currently in use by other
        # members."
        if supported[leaf.credential.credential_type] < others:
            raise ValidationError("RFC 9420 §7.3: credential type not supported by all members",
                                  f"type {leaf.credential.credential_type:#06x}")
        for credential_type, count in in_use.items():
            if count > 0 and credential_type not in leaf.capabilities.credentials:
                raise ValidationError("RFC 9420 §7.3: leaf does not support a credential type in use",
                                      f"type {credential_type:#06x}")
        # "Verify that the following fields are unique among the members of the group:
        # signature_key, encryption_key"
        holder = self._signature_keys.get(leaf.signature_key)
        if holder is not None and holder != replacing:
            raise DuplicateKeyError("RFC 9420 §7.3: signature_key not unique in the group", f"leaf {holder}")
        if leaf.encryption_key in self._encryption_keys:
            # For an Update or a Commit this also covers "encryption_key represents a different
            # public key than the encryption_key in the leaf node being replaced".
            raise DuplicateKeyError("RFC 9420 §7.3: encryption_key not unique in the group")

    def check_credential_types(self) -> None:
        """Every credential type in use is supported by every member (section 7.3, applied to
        all leaves of a tree at once)."""
        caps = self._caps
        for credential_type in caps.credentials_in_use:
            if caps.credentials_supported[credential_type] < caps.members:
                raise ValidationError("RFC 9420 §7.3: credential type in use not supported by all members",
                                      f"type {credential_type:#06x}")

    def validate_incoming_leaf(
        self,
        leaf: LeafNode,
        *,
        source: LeafNodeSource,
        group_context: GroupContext,
        leaf_index: LeafIndex | None,
        replacing: LeafIndex | None,
        now: int | None,
        validate_credential: CredentialValidator,
    ) -> None:
        """All of section 7.3 for a leaf entering this tree: the leaf's own checks
        (:func:`~enseal.mls.leaf_node.validate_leaf_node`, signed over ``group_context.group_id``
        and ``leaf_index`` for the ``update`` and ``commit`` sources) and
        :meth:`check_leaf_node_fits`. For an Update proposal from ``sender``:
        ``source=UPDATE, leaf_index=sender, replacing=sender``."""
        validate_leaf_node(leaf, self._suite, source=source, group_id=group_context.group_id, leaf_index=leaf_index,
                           now=now, validate_credential=validate_credential)
        self.check_leaf_node_fits(leaf, group_context_extensions=group_context.extensions, replacing=replacing)

    def check_members_support(self, group_context_extensions: Sequence[Extension]) -> None:
        """Every member supports ``group_context_extensions`` (a GroupContextExtensions proposal,
        section 12.1.7, or a join, section 13.4). Raises :class:`ValidationError`."""
        caps = self._caps
        for ext in group_context_extensions:
            if ext.extension_type not in DEFAULT_EXTENSION_TYPES and \
                    caps.extensions_supported[ext.extension_type] < caps.members:
                raise ValidationError("RFC 9420 §13.4: a group context extension is not supported by all members",
                                      f"type {ext.extension_type:#06x}")
        required = find_extension(group_context_extensions, RequiredCapabilities)
        if required is None:
            return
        for values, counter, defaults in (
            (required.extension_types, caps.extensions_supported, DEFAULT_EXTENSION_TYPES),
            (required.proposal_types, caps.proposals_supported, DEFAULT_PROPOSAL_TYPES),
            (required.credential_types, caps.credentials_supported, frozenset[int]()),
        ):
            for value in values:
                if value not in defaults and counter[value] < caps.members:
                    raise ValidationError("RFC 9420 §12.1.7: required capability not supported by all members",
                                          f"type {value:#06x}")

    # -- comparison and display -------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RatchetTree):
            return NotImplemented
        return self._suite == other._suite and self._nodes == other._nodes

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RatchetTree({self._suite.name}, {self.member_count} members, {self.leaf_count} leaves)"


def parent_hash_of(suite: CipherSuite, encryption_key: bytes, parent_hash: bytes, sibling_hash: bytes) -> bytes:
    """Hash(ParentHashInput{encryption_key, parent_hash, original_sibling_tree_hash})."""
    w = Writer()
    w.opaque(encryption_key)
    w.opaque(parent_hash)
    w.opaque(sibling_hash)
    return suite.digest(w.getvalue())


def check_leaf_supports_group(leaf: LeafNode, group_context_extensions: Iterable[Extension]) -> None:
    """The leaf's capabilities cover the group's required capabilities and extensions."""
    extensions = tuple(group_context_extensions)
    caps = leaf.capabilities
    # "A client adding a new member MUST verify that the LeafNode for the new member is compatible
    # with the group's extensions. The capabilities field MUST indicate support for each
    # extension in the GroupContext." (Default types are implicitly supported.)
    for ext in extensions:
        if ext.extension_type not in DEFAULT_EXTENSION_TYPES and ext.extension_type not in caps.extensions:
            raise ValidationError("RFC 9420 §13.4: leaf does not support a group context extension",
                                  f"type {ext.extension_type:#06x}")
    required = find_extension(extensions, RequiredCapabilities)
    if required is None:
        return
    # "If the GroupContext has a required_capabilities extension, then the required extensions,
    # proposals, and credential types MUST be listed in the LeafNode's capabilities field."
    for value in required.extension_types:
        if value not in DEFAULT_EXTENSION_TYPES and value not in caps.extensions:
            raise ValidationError("RFC 9420 §7.3: leaf lacks a required extension type", f"type {value:#06x}")
    for value in required.proposal_types:
        if value not in DEFAULT_PROPOSAL_TYPES and value not in caps.proposals:
            raise ValidationError("RFC 9420 §7.3: leaf lacks a required proposal type", f"type {value:#06x}")
    for value in required.credential_types:
        if value not in caps.credentials:
            raise ValidationError("RFC 9420 §7.3: leaf lacks a required credential type", f"type {value:#06x}")
