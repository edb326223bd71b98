"""The secret tree and its per-sender hash ratchets (RFC 9420 section 9).

Node secrets are derived lazily from the encryption_secret at the root; deriving a node's two
children consumes (deletes) the node (section 9.2). Each leaf's secret seeds a handshake and an
application ratchet and is then deleted. A ratchet hands out each (key, nonce) once: a sender's
is consumed when taken; a receiver's is kept until :meth:`SecretTree.consume` after the
message decrypted, so a forged message cannot burn a key. Out-of-order delivery is supported
within :data:`MAX_FORWARD_GENERATIONS` ahead and :data:`MAX_RETAINED_KEYS` kept behind.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite
from enseal.errors import GenerationError, InternalError, LimitExceeded, LocalProtocolError
from enseal.mls import tree_math
from enseal.mls.key_schedule import EncryptionSecret
from enseal.types import UINT32_MAX, Generation, LeafIndex

MAX_FORWARD_GENERATIONS = 1024
"""How far ahead of the next expected generation a received message may be."""
MAX_RETAINED_KEYS = 128
"""Per ratchet, how many skipped (not yet received) keys are kept for out-of-order messages."""


class RatchetKind(Enum):
    """Which of a leaf's two ratchets: handshake (proposals, commits) or application."""

    HANDSHAKE = b"handshake"
    APPLICATION = b"application"


class HashRatchet:
    """One sender ratchet (section 9.1). ``repr`` hides its secrets."""

    __slots__ = ("_secret", "_skipped", "_suite", "next_generation")

    def __init__(self, suite: CipherSuite, secret: bytes, next_generation: int = 0) -> None:
        self._suite = suite
        self._secret = secret
        self.next_generation = next_generation
        self._skipped: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()

    def __repr__(self) -> str:
        return f"HashRatchet(next_generation={self.next_generation}, retained={len(self._skipped)})"

    def _step(self) -> tuple[int, bytes, bytes]:
        generation = self.next_generation
        if generation > UINT32_MAX:
            raise LimitExceeded("RFC 9420 §9.1: ratchet generation exhausted (uint32)")
        suite, secret = self._suite, self._secret
        key = suite.derive_tree_secret(secret, b"key", generation, suite.key_size)
        nonce = suite.derive_tree_secret(secret, b"nonce", generation, suite.nonce_size)
        self._secret = suite.derive_tree_secret(secret, b"secret", generation, suite.hash_size)
        self.next_generation = generation + 1
        return generation, key, nonce

    def take_next(self) -> tuple[Generation, bytes, bytes]:
        """Sender side: the next (generation, key, nonce), consumed at once."""
        generation, key, nonce = self._step()
        return Generation(generation), key, nonce

    def get(self, generation: int) -> tuple[bytes, bytes]:
        """Receiver side: (key, nonce) for ``generation``, not yet consumed."""
        if generation < self.next_generation:
            found = self._skipped.get(generation)
            if found is None:
                # "Each key/nonce pair MUST NOT be used to encrypt more than one message";
                # a receiver refuses a generation whose key was consumed or dropped.
                raise GenerationError(
                    "RFC 9420 §9.2: generation already consumed or too old", f"generation {generation}"
                )
            return found
        if generation - self.next_generation > MAX_FORWARD_GENERATIONS:
            raise GenerationError(
                "generation too far ahead",
                f"{generation} is more than {MAX_FORWARD_GENERATIONS} past {self.next_generation}",
            )
        while self.next_generation <= generation:
            gen, key, nonce = self._step()
            self._skipped[gen] = (key, nonce)
            if len(self._skipped) > MAX_RETAINED_KEYS:
                self._skipped.popitem(last=False)
        return self._skipped[generation]

    def consume(self, generation: int) -> None:
        """Delete the key of ``generation`` after it decrypted a message (section 9.2)."""
        self._skipped.pop(generation, None)

    def encode(self, w: Writer) -> None:
        w.opaque(self._secret)
        w.u64(self.next_generation)
        w.vector(self._skipped.items(), _write_skipped)

    @classmethod
    def decode(cls, suite: CipherSuite, r: Reader) -> HashRatchet:
        ratchet = cls(suite, r.opaque(), r.u64())
        for generation, key, nonce in r.vector(_read_skipped):
            ratchet._skipped[generation] = (key, nonce)
        return ratchet


def _write_skipped(w: Writer, item: tuple[int, tuple[bytes, bytes]]) -> None:
    generation, (key, nonce) = item
    w.u32(generation)
    w.opaque(key)
    w.opaque(nonce)


def _read_skipped(r: Reader) -> tuple[int, bytes, bytes]:
    return r.u32(), r.opaque(), r.opaque()


class SecretTree:
    """The secret tree of one epoch for a group of ``n_leaves`` leaves (the ratchet tree width)."""

    __slots__ = ("_n_leaves", "_node_secrets", "_ratchets", "_suite")

    def __init__(self, suite: CipherSuite, encryption_secret: EncryptionSecret, n_leaves: int) -> None:
        if n_leaves < 1:
            raise LocalProtocolError("a secret tree needs at least one leaf")
        self._suite = suite
        self._n_leaves = n_leaves
        self._node_secrets: dict[int, bytes] = {tree_math.root(n_leaves): encryption_secret.reveal()}
        self._ratchets: dict[tuple[int, RatchetKind], HashRatchet] = {}

    def __repr__(self) -> str:
        return f"SecretTree(n_leaves={self._n_leaves}, ratchets={len(self._ratchets)}, <secrets hidden>)"

    @property
    def n_leaves(self) -> int:
        return self._n_leaves

    def _leaf_secret(self, leaf: int) -> bytes:
        target = 2 * leaf
        # Walk up from the leaf to the nearest node whose secret is still held.
        path = [target]
        node = target
        root = tree_math.root(self._n_leaves)
        while node not in self._node_secrets:
            if node == root:
                raise InternalError(f"secret tree: no secret left above leaf {leaf}")
            node = tree_math.parent(node, self._n_leaves)
            path.append(node)
        suite = self._suite
        # Derive down; each derived parent is consumed (both children derived together).
        for parent in reversed(path[1:]):
            secret = self._node_secrets.pop(parent)
            left, right = tree_math.left(parent), tree_math.right(parent)
            self._node_secrets[left] = suite.expand_with_label(secret, b"tree", b"left", suite.hash_size)
            self._node_secrets[right] = suite.expand_with_label(secret, b"tree", b"right", suite.hash_size)
        return self._node_secrets.pop(target)

    def ratchet(self, leaf: LeafIndex | int, kind: RatchetKind) -> HashRatchet:
        """The ratchet of ``kind`` for ``leaf``, created (and the leaf secret deleted) on first use."""
        if not 0 <= leaf < self._n_leaves:
            raise LocalProtocolError(f"leaf {leaf} outside a secret tree of {self._n_leaves} leaves")
        found = self._ratchets.get((leaf, kind))
        if found is not None:
            return found
        suite = self._suite
        leaf_secret = self._leaf_secret(leaf)
        for k in RatchetKind:
            self._ratchets[(leaf, k)] = HashRatchet(
                suite, suite.expand_with_label(leaf_secret, k.value, b"", suite.hash_size)
            )
        return self._ratchets[(leaf, kind)]

    def next_key(self, leaf: LeafIndex | int, kind: RatchetKind) -> tuple[Generation, bytes, bytes]:
        """Sender: ``(generation, key, nonce)`` for our next message of ``kind``."""
        return self.ratchet(leaf, kind).take_next()

    def key_for(self, leaf: LeafIndex | int, kind: RatchetKind, generation: int) -> tuple[bytes, bytes]:
        """Receiver: ``(key, nonce)`` for a message; call :meth:`consume` once it decrypted."""
        return self.ratchet(leaf, kind).get(generation)

    def consume(self, leaf: LeafIndex | int, kind: RatchetKind, generation: int) -> None:
        self.ratchet(leaf, kind).consume(generation)

    # -- persistence ---------------------------------------------------------------------------

    def encode(self, w: Writer) -> None:
        w.u32(self._n_leaves)
        w.vector(sorted(self._node_secrets.items()), _write_node_secret)
        w.vector(sorted(self._ratchets.items(), key=lambda kv: (kv[0][0], kv[0][1].value)), _write_ratchet)

    @classmethod
    def decode(cls, suite: CipherSuite, r: Reader) -> SecretTree:
        tree = cls.__new__(cls)
        tree._suite = suite
        tree._n_leaves = r.u32()
        tree._node_secrets = dict(r.vector(_read_node_secret))
        tree._ratchets = {}
        for leaf, kind, ratchet in r.vector(lambda rr: _read_ratchet(suite, rr)):
            tree._ratchets[(leaf, kind)] = ratchet
        return tree


def _write_node_secret(w: Writer, item: tuple[int, bytes]) -> None:
    w.u32(item[0])
    w.opaque(item[1])


def _read_node_secret(r: Reader) -> tuple[int, bytes]:
    return r.u32(), r.opaque()


_KIND_CODES = {RatchetKind.HANDSHAKE: 1, RatchetKind.APPLICATION: 2}
_KINDS_BY_CODE = {v: k for k, v in _KIND_CODES.items()}


def _write_ratchet(w: Writer, item: tuple[tuple[int, RatchetKind], HashRatchet]) -> None:
    (leaf, kind), ratchet = item
    w.u32(leaf)
    w.u8(_KIND_CODES[kind])
    ratchet.encode(w)


def _read_ratchet(suite: CipherSuite, r: Reader) -> tuple[int, RatchetKind, HashRatchet]:
    leaf = r.u32()
    code = r.u8()
    kind = _KINDS_BY_CODE.get(code)
    if kind is None:
        raise LocalProtocolError(f"stored secret tree: unknown ratchet kind {code}")
    return leaf, kind, HashRatchet.decode(suite, r)
