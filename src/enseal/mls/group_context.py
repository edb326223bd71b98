"""The group context (RFC 9420 section 8.1): the summary of a group's state that every member
agrees on, and the context of signatures, path-secret encryption and the key schedule.

GREASE values "MUST NOT be sent" in ``GroupContext.extensions`` (section 13.5), but extension
types are still carried as plain ints: whether the group's extensions are supported is a
validation question (:func:`enseal.mls.ratchet_tree.RatchetTree.check_leaf_node_fits`, joins).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Self

from enseal.codec import Reader, Writer
from enseal.mls.code_points import ProtocolVersion
from enseal.mls.extensions import Extension, read_extensions, write_extensions
from enseal.mls.wire import read_enum, serialize
from enseal.types import CipherSuiteId, Epoch


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupContext:
    """``GroupContext``."""

    version: ProtocolVersion = ProtocolVersion.MLS10
    cipher_suite: CipherSuiteId
    group_id: bytes
    epoch: Epoch
    tree_hash: bytes
    confirmed_transcript_hash: bytes
    extensions: tuple[Extension, ...] = ()

    def encode(self, w: Writer) -> None:
        w.u16(self.version)
        w.u16(self.cipher_suite)
        w.opaque(self.group_id)
        w.u64(self.epoch)
        w.opaque(self.tree_hash)
        w.opaque(self.confirmed_transcript_hash)
        write_extensions(w, self.extensions)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            version=read_enum(r, ProtocolVersion, 2),
            cipher_suite=CipherSuiteId(r.u16()),
            group_id=r.opaque(),
            epoch=Epoch(r.u64()),
            tree_hash=r.opaque(),
            confirmed_transcript_hash=r.opaque(),
            extensions=read_extensions(r),
        )

    def to_bytes(self) -> bytes:
        """The serialized GroupContext (the context of signatures and HPKE encryptions)."""
        return serialize(self)

    def evolve(
        self,
        *,
        epoch: Epoch | None = None,
        tree_hash: bytes | None = None,
        confirmed_transcript_hash: bytes | None = None,
        extensions: tuple[Extension, ...] | None = None,
    ) -> GroupContext:
        """A copy with the given fields replaced (group_id, version and suite never change)."""
        return replace(
            self,
            epoch=self.epoch if epoch is None else epoch,
            tree_hash=self.tree_hash if tree_hash is None else tree_hash,
            confirmed_transcript_hash=(
                self.confirmed_transcript_hash if confirmed_transcript_hash is None
                else confirmed_transcript_hash
            ),
            extensions=self.extensions if extensions is None else extensions,
        )
