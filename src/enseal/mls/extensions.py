"""Extensions (RFC 9420 sections 7.2, 13.4) and the typed payloads of the default extension
types: ``application_id`` (5.3.3), ``required_capabilities`` (11.1), ``external_pub``
(12.4.3.2) and ``external_senders`` (12.1.8.1). The ``ratchet_tree`` payload (12.4.3.3) lives
with the tree nodes in :mod:`enseal.mls.tree_nodes`.

An ``Extension`` keeps its type as a plain int, so unknown and GREASE extensions round-trip.
Every extension list is read with :func:`read_extensions`, which enforces "Any field containing a
list of extensions MUST NOT have more than one extension of any given type" (section 13.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self, TypeVar

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError, LocalProtocolError
from enseal.mls.code_points import ExtensionType
from enseal.mls.credential import Credential
from enseal.mls.wire import deserialize, read_u16_list, serialize, write_u16_list, write_vector


@dataclass(frozen=True, slots=True, kw_only=True)
class Extension:
    """``Extension``: a type and opaque data."""

    extension_type: int
    extension_data: bytes

    def encode(self, w: Writer) -> None:
        w.u16(self.extension_type)
        w.opaque(self.extension_data)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(extension_type=r.u16(), extension_data=r.opaque())


def read_extensions(r: Reader) -> tuple[Extension, ...]:
    """``Extension extensions<V>``, rejecting a repeated extension type."""
    extensions = tuple(r.vector(Extension.decode))
    check_unique_types(extensions, error=DecodeError)
    return extensions


def write_extensions(w: Writer, extensions: Sequence[Extension]) -> None:
    check_unique_types(extensions, error=LocalProtocolError)
    write_vector(w, extensions)


def check_unique_types(
    extensions: Iterable[Extension], *, error: type[DecodeError] | type[LocalProtocolError]
) -> None:
    seen: set[int] = set()
    for ext in extensions:
        if ext.extension_type in seen:
            # "Any field containing a list of extensions MUST NOT have more than one extension
            # of any given type."
            raise error(f"RFC 9420 §13.4: duplicate extension type {ext.extension_type:#06x}")
        seen.add(ext.extension_type)


# -- typed payloads ------------------------------------------------------------------------------


class ExtensionPayload(Protocol):
    """A typed extension body: knows its type and how to encode and decode itself."""

    EXTENSION_TYPE: ClassVar[ExtensionType]

    def encode(self, w: Writer) -> None: ...

    @classmethod
    def decode(cls, r: Reader) -> Self: ...


P = TypeVar("P", bound=ExtensionPayload)


def make_extension(payload: ExtensionPayload) -> Extension:
    """Wrap a typed payload into an ``Extension``."""
    return Extension(extension_type=payload.EXTENSION_TYPE, extension_data=serialize(payload))


def find_extension(extensions: Iterable[Extension], payload_type: type[P]) -> P | None:
    """Decode the extension of ``payload_type`` in ``extensions`` (None if absent).

    The payload must fill ``extension_data`` exactly, else :class:`DecodeError`.
    """
    for ext in extensions:
        if ext.extension_type == payload_type.EXTENSION_TYPE:
            return deserialize(payload_type, ext.extension_data)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationId:
    """``application_id`` (section 5.3.3): "applications MUST NOT rely on the data in an
    application_id extension as if it were authenticated by the Authentication Service"."""

    EXTENSION_TYPE: ClassVar[ExtensionType] = ExtensionType.APPLICATION_ID
    application_id: bytes

    def encode(self, w: Writer) -> None:
        w.opaque(self.application_id)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(application_id=r.opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiredCapabilities:
    """``RequiredCapabilities`` (section 11.1); the lists keep unknown values."""

    EXTENSION_TYPE: ClassVar[ExtensionType] = ExtensionType.REQUIRED_CAPABILITIES
    extension_types: tuple[int, ...] = ()
    proposal_types: tuple[int, ...] = ()
    credential_types: tuple[int, ...] = ()

    def encode(self, w: Writer) -> None:
        write_u16_list(w, self.extension_types)
        write_u16_list(w, self.proposal_types)
        write_u16_list(w, self.credential_types)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(extension_types=read_u16_list(r), proposal_types=read_u16_list(r),
                   credential_types=read_u16_list(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalPub:
    """``ExternalPub`` (section 12.4.3.2): the external HPKE public key of the epoch."""

    EXTENSION_TYPE: ClassVar[ExtensionType] = ExtensionType.EXTERNAL_PUB
    external_pub: bytes

    def encode(self, w: Writer) -> None:
        w.opaque(self.external_pub)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(external_pub=r.opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalSender:
    """``ExternalSender`` (section 12.1.8.1): who may send ``external`` proposals."""

    signature_key: bytes
    credential: Credential

    def encode(self, w: Writer) -> None:
        w.opaque(self.signature_key)
        self.credential.encode(w)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(signature_key=r.opaque(), credential=Credential.decode(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalSenders:
    """``ExternalSender external_senders<V>``; ``sender_index`` indexes this list."""

    EXTENSION_TYPE: ClassVar[ExtensionType] = ExtensionType.EXTERNAL_SENDERS
    external_senders: tuple[ExternalSender, ...]

    def encode(self, w: Writer) -> None:
        write_vector(w, self.external_senders)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(external_senders=tuple(r.vector(ExternalSender.decode)))
