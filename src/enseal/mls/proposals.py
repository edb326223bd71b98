"""Proposals (RFC 9420 section 12.1) and ``ProposalOrRef`` (section 12.4), with
``PreSharedKeyID`` (section 8.4).

``Proposal`` is the tagged union: ``encode``/``decode`` of a :class:`Proposal` (or any subclass)
read and write the whole ``Proposal`` struct, type included, so ``match`` on the subclasses.
Each variant's own struct (``Add``, ``Remove``, ...) is ``encode_body``/``decode_body``.
Unknown proposal types do not decode: GREASE values "MUST NOT be sent" in
``Proposal.proposal_type`` (section 13.5) and a non-default type must be supported by every
member, which this implementation is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NewType, Self, TypeAlias

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError
from enseal.mls.code_points import (
    ProposalOrRefType,
    ProposalType,
    ProtocolVersion,
    PSKType,
    ResumptionPSKUsage,
)
from enseal.mls.extensions import Extension, read_extensions, write_extensions
from enseal.mls.key_package import KeyPackage
from enseal.mls.leaf_node import LeafNode
from enseal.mls.wire import read_enum
from enseal.types import CipherSuiteId, Epoch, LeafIndex

# -- PreSharedKeyID (section 8.4) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PreSharedKeyID:
    """``PreSharedKeyID``: abstract; :class:`ExternalPSKID` or :class:`ResumptionPSKID`."""

    psktype: ClassVar[PSKType]
    psk_nonce: bytes

    def encode(self, w: Writer) -> None:
        w.u8(self.psktype)
        self._encode_body(w)
        w.opaque(self.psk_nonce)

    def _encode_body(self, w: Writer) -> None:
        raise NotImplementedError

    @classmethod
    def decode(cls, r: Reader) -> Self:
        psktype = read_enum(r, PSKType, 1)
        value: PreSharedKeyID
        if psktype is PSKType.EXTERNAL:
            psk_id = r.opaque()
            value = ExternalPSKID(psk_id=psk_id, psk_nonce=r.opaque())
        else:
            usage = read_enum(r, ResumptionPSKUsage, 1)
            group_id = r.opaque()
            epoch = Epoch(r.u64())
            value = ResumptionPSKID(usage=usage, psk_group_id=group_id, psk_epoch=epoch, psk_nonce=r.opaque())
        if not isinstance(value, cls):
            raise DecodeError(f"expected a {cls.__name__}", f"got {type(value).__name__}")
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalPSKID(PreSharedKeyID):
    """An ``external`` PSK, named by the application's ``psk_id``."""

    psktype: ClassVar[PSKType] = PSKType.EXTERNAL
    psk_id: bytes

    def _encode_body(self, w: Writer) -> None:
        w.opaque(self.psk_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumptionPSKID(PreSharedKeyID):
    """A ``resumption`` PSK: the resumption_psk of ``psk_group_id`` at ``psk_epoch``."""

    psktype: ClassVar[PSKType] = PSKType.RESUMPTION
    usage: ResumptionPSKUsage
    psk_group_id: bytes
    psk_epoch: Epoch

    def _encode_body(self, w: Writer) -> None:
        w.u8(self.usage)
        w.opaque(self.psk_group_id)
        w.u64(self.psk_epoch)


# -- Proposal (section 12.1) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """``Proposal``: abstract; one subclass per proposal type."""

    proposal_type: ClassVar[ProposalType]

    def encode(self, w: Writer) -> None:
        w.u16(self.proposal_type)
        self.encode_body(w)

    def encode_body(self, w: Writer) -> None:
        """The variant's own struct (``Add``, ``Update``, ...), without the proposal type."""
        raise NotImplementedError

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        raise NotImplementedError

    @classmethod
    def decode(cls, r: Reader) -> Self:
        proposal_type = read_enum(r, ProposalType, 2)
        value = _VARIANTS[proposal_type].decode_body(r)
        if not isinstance(value, cls):
            raise DecodeError(f"expected a {cls.__name__} proposal", f"got {type(value).__name__}")
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Add(Proposal):
    """``Add`` (section 12.1.1)."""

    proposal_type: ClassVar[ProposalType] = ProposalType.ADD
    key_package: KeyPackage

    def encode_body(self, w: Writer) -> None:
        self.key_package.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(key_package=KeyPackage.decode(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class Update(Proposal):
    """``Update`` (section 12.1.2)."""

    proposal_type: ClassVar[ProposalType] = ProposalType.UPDATE
    leaf_node: LeafNode

    def encode_body(self, w: Writer) -> None:
        self.leaf_node.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(leaf_node=LeafNode.decode(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class Remove(Proposal):
    """``Remove`` (section 12.1.3)."""

    proposal_type: ClassVar[ProposalType] = ProposalType.REMOVE
    removed: LeafIndex

    def encode_body(self, w: Writer) -> None:
        w.u32(self.removed)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(removed=LeafIndex(r.u32()))


@dataclass(frozen=True, slots=True, kw_only=True)
class PreSharedKey(Proposal):
    """``PreSharedKey`` (section 12.1.4)."""

    proposal_type: ClassVar[ProposalType] = ProposalType.PSK
    psk: PreSharedKeyID

    def encode_body(self, w: Writer) -> None:
        self.psk.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(psk=PreSharedKeyID.decode(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReInit(Proposal):
    """``ReInit`` (section 12.1.5)."""

    proposal_type: ClassVar[ProposalType] = ProposalType.REINIT
    group_id: bytes
    version: ProtocolVersion = ProtocolVersion.MLS10
    cipher_suite: CipherSuiteId
    extensions: tuple[Extension, ...] = ()

    def encode_body(self, w: Writer) -> None:
        w.opaque(self.group_id)
        w.u16(self.version)
        w.u16(self.cipher_suite)
        write_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(
            group_id=r.opaque(),
            version=read_enum(r, ProtocolVersion, 2),
            cipher_suite=CipherSuiteId(r.u16()),
            extensions=read_extensions(r),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalInit(Proposal):
    """``ExternalInit`` (section 12.1.6)."""

    proposal_type: ClassVar[ProposalType] = ProposalType.EXTERNAL_INIT
    kem_output: bytes

    def encode_body(self, w: Writer) -> None:
        w.opaque(self.kem_output)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(kem_output=r.opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupContextExtensions(Proposal):
    """``GroupContextExtensions`` (section 12.1.7): a wholesale replacement."""

    proposal_type: ClassVar[ProposalType] = ProposalType.GROUP_CONTEXT_EXTENSIONS
    extensions: tuple[Extension, ...]

    def encode_body(self, w: Writer) -> None:
        write_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(extensions=read_extensions(r))


_VARIANTS: dict[ProposalType, type[Proposal]] = {
    ProposalType.ADD: Add,
    ProposalType.UPDATE: Update,
    ProposalType.REMOVE: Remove,
    ProposalType.PSK: PreSharedKey,
    ProposalType.REINIT: ReInit,
    ProposalType.EXTERNAL_INIT: ExternalInit,
    ProposalType.GROUP_CONTEXT_EXTENSIONS: GroupContextExtensions,
}

# -- ProposalOrRef (section 12.4) -----------------------------------------------------------------

ProposalRef = NewType("ProposalRef", bytes)
"""``ProposalRef``: RefHash("MLS 1.0 Proposal Reference", encoded AuthenticatedContent)."""

ProposalOrRef: TypeAlias = Proposal | ProposalRef
"""``ProposalOrRef``: a proposal by value, or a reference (``bytes``) to one sent earlier."""


def encode_proposal_or_ref(w: Writer, value: ProposalOrRef) -> None:
    if isinstance(value, Proposal):
        w.u8(ProposalOrRefType.PROPOSAL)
        value.encode(w)
    else:
        w.u8(ProposalOrRefType.REFERENCE)
        w.opaque(value)


def decode_proposal_or_ref(r: Reader) -> ProposalOrRef:
    kind = read_enum(r, ProposalOrRefType, 1)
    if kind is ProposalOrRefType.PROPOSAL:
        return Proposal.decode(r)
    return ProposalRef(r.opaque())
