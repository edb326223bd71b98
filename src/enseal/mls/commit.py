"""Commits (RFC 9420 section 12.4) and update paths (section 7.6): ``HPKECiphertext``,
``UpdatePathNode``, ``UpdatePath``, ``Commit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from enseal.codec import Reader, Writer
from enseal.mls.leaf_node import LeafNode
from enseal.mls.proposals import ProposalOrRef, decode_proposal_or_ref, encode_proposal_or_ref
from enseal.mls.wire import write_optional, write_vector


@dataclass(frozen=True, slots=True, kw_only=True)
class HPKECiphertext:
    """``HPKECiphertext``: the output of EncryptWithLabel."""

    kem_output: bytes
    ciphertext: bytes

    def encode(self, w: Writer) -> None:
        w.opaque(self.kem_output)
        w.opaque(self.ciphertext)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(kem_output=r.opaque(), ciphertext=r.opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePathNode:
    """``UpdatePathNode``: a new public key and its path secret encrypted to each node of the
    copath child's resolution."""

    encryption_key: bytes
    encrypted_path_secret: tuple[HPKECiphertext, ...]

    def encode(self, w: Writer) -> None:
        w.opaque(self.encryption_key)
        write_vector(w, self.encrypted_path_secret)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(encryption_key=r.opaque(), encrypted_path_secret=tuple(r.vector(HPKECiphertext.decode)))


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePath:
    """``UpdatePath``: the committer's new leaf and one node per filtered direct path node."""

    leaf_node: LeafNode
    nodes: tuple[UpdatePathNode, ...]

    def encode(self, w: Writer) -> None:
        self.leaf_node.encode(w)
        write_vector(w, self.nodes)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(leaf_node=LeafNode.decode(r), nodes=tuple(r.vector(UpdatePathNode.decode)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Commit:
    """``Commit``."""

    proposals: tuple[ProposalOrRef, ...] = ()
    path: UpdatePath | None = None

    def encode(self, w: Writer) -> None:
        w.vector(self.proposals, encode_proposal_or_ref)
        write_optional(w, self.path)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(proposals=tuple(r.vector(decode_proposal_or_ref)), path=r.optional(UpdatePath.decode))
