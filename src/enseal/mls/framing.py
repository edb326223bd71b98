"""Message framing (RFC 9420 section 6): senders, ``FramedContent``, ``FramedContentAuthData``,
``AuthenticatedContent``, ``PublicMessage``, ``PrivateMessage`` with ``SenderData``,
``PrivateMessageContent`` and the two AAD structs, and ``MLSMessage`` with every wire format.

Only structure lives here; signing, membership tags and encryption (``FramedContentTBS``,
``AuthenticatedContentTBM``) are :mod:`enseal.mls.message_protection`.

``Sender`` is a tagged union whose subclasses carry the sender type; the content of a
``FramedContent`` is ``bytes`` (application data), a :class:`Proposal` or a :class:`Commit`, and
its ``content_type`` follows from it. Fields that exist only for some senders or content types
(``confirmation_tag``, ``membership_tag``) are ``None`` otherwise, and constructors refuse the
combinations the RFC's ``select`` rules out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Self, TypeAlias

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError, LocalProtocolError
from enseal.mls.code_points import (
    EXTERNAL_SENDER_PROPOSAL_TYPES,
    ContentType,
    ProtocolVersion,
    SenderType,
    WireFormat,
)
from enseal.mls.commit import Commit
from enseal.mls.group_info import GroupInfo
from enseal.mls.key_package import KeyPackage
from enseal.mls.proposals import Add, Proposal
from enseal.mls.welcome import Welcome
from enseal.mls.wire import read_enum
from enseal.types import Epoch, Generation, LeafIndex

__all__ = [
    "AuthenticatedContent",
    "Content",
    "ContentType",
    "FramedContent",
    "FramedContentAuthData",
    "MLSMessage",
    "MLSMessageBody",
    "PrivateContentAAD",
    "PrivateMessage",
    "PrivateMessageContent",
    "ProtocolVersion",
    "PublicMessage",
    "REUSE_GUARD_SIZE",
    "Sender",
    "SenderData",
    "SenderDataAAD",
    "SenderExternal",
    "SenderMember",
    "SenderNewMemberCommit",
    "SenderNewMemberProposal",
    "SenderType",
    "WireFormat",
]

REUSE_GUARD_SIZE: Final = 4


# -- Sender --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    """``Sender``: abstract; one subclass per sender type."""

    sender_type: ClassVar[SenderType]

    def encode(self, w: Writer) -> None:
        w.u8(self.sender_type)
        self._encode_body(w)

    def _encode_body(self, w: Writer) -> None:
        """No body (the new-member sender types)."""

    @classmethod
    def decode(cls, r: Reader) -> Self:
        sender_type = read_enum(r, SenderType, 1)
        value: Sender
        if sender_type is SenderType.MEMBER:
            value = SenderMember(leaf_index=LeafIndex(r.u32()))
        elif sender_type is SenderType.EXTERNAL:
            value = SenderExternal(sender_index=r.u32())
        elif sender_type is SenderType.NEW_MEMBER_PROPOSAL:
            value = SenderNewMemberProposal()
        else:
            value = SenderNewMemberCommit()
        if not isinstance(value, cls):
            raise DecodeError(f"expected a {cls.__name__}", f"got {type(value).__name__}")
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderMember(Sender):
    """``member``: the member at ``leaf_index``."""

    sender_type: ClassVar[SenderType] = SenderType.MEMBER
    leaf_index: LeafIndex

    def _encode_body(self, w: Writer) -> None:
        w.u32(self.leaf_index)


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderExternal(Sender):
    """``external``: entry ``sender_index`` of the group's ``external_senders`` extension."""

    sender_type: ClassVar[SenderType] = SenderType.EXTERNAL
    sender_index: int

    def _encode_body(self, w: Writer) -> None:
        w.u32(self.sender_index)


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderNewMemberProposal(Sender):
    """``new_member_proposal``: a joiner proposing its own Add."""

    sender_type: ClassVar[SenderType] = SenderType.NEW_MEMBER_PROPOSAL


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderNewMemberCommit(Sender):
    """``new_member_commit``: a joiner's external Commit."""

    sender_type: ClassVar[SenderType] = SenderType.NEW_MEMBER_COMMIT


# -- FramedContent and its authentication ---------------------------------------------------------

Content: TypeAlias = bytes | Proposal | Commit
"""The body of FramedContent: application data, a proposal or a commit."""


def content_type_of(content: Content) -> ContentType:
    if isinstance(content, bytes):
        return ContentType.APPLICATION
    if isinstance(content, Proposal):
        return ContentType.PROPOSAL
    return ContentType.COMMIT


def _encode_content(w: Writer, content: Content) -> None:
    if isinstance(content, bytes):
        w.opaque(content)
    else:
        content.encode(w)


def _decode_content(r: Reader, content_type: ContentType) -> Content:
    if content_type is ContentType.APPLICATION:
        return r.opaque()
    if content_type is ContentType.PROPOSAL:
        return Proposal.decode(r)
    return Commit.decode(r)


def _sender_content_problem(sender: Sender, content: Content) -> str | None:
    """The sender/content combinations section 6.1 rules out ("MUST be rejected as malformed")."""
    if isinstance(sender, SenderExternal):
        # "The content_type of the message MUST be proposal and the proposal_type MUST be a
        # value that is allowed for external senders."
        if not isinstance(content, Proposal) or content.proposal_type not in EXTERNAL_SENDER_PROPOSAL_TYPES:
            return "RFC 9420 §6.1: an external sender may only send add, remove, psk, reinit or " \
                   "group_context_extensions proposals"
    elif isinstance(sender, SenderNewMemberCommit):
        if not isinstance(content, Commit):
            return "RFC 9420 §6.1: a new_member_commit sender sends a commit"
    elif isinstance(sender, SenderNewMemberProposal) and not isinstance(content, Add):
        return "RFC 9420 §6.1: a new_member_proposal sender sends an add proposal"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class FramedContent:
    """``FramedContent``; ``content_type`` is derived from ``content``. Senders other than
    members are restricted to the content section 6.1 allows them."""

    group_id: bytes
    epoch: Epoch
    sender: Sender
    authenticated_data: bytes = b""
    content: Content

    def __post_init__(self) -> None:
        problem = _sender_content_problem(self.sender, self.content)
        if problem is not None:
            raise LocalProtocolError(problem)

    @property
    def content_type(self) -> ContentType:
        return content_type_of(self.content)

    def encode(self, w: Writer) -> None:
        w.opaque(self.group_id)
        w.u64(self.epoch)
        self.sender.encode(w)
        w.opaque(self.authenticated_data)
        w.u8(self.content_type)
        _encode_content(w, self.content)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        group_id = r.opaque()
        epoch = Epoch(r.u64())
        sender = Sender.decode(r)
        authenticated_data = r.opaque()
        content_type = read_enum(r, ContentType, 1)
        content = _decode_content(r, content_type)
        problem = _sender_content_problem(sender, content)
        if problem is not None:
            raise DecodeError(problem)
        return cls(group_id=group_id, epoch=epoch, sender=sender, authenticated_data=authenticated_data,
                   content=content)


@dataclass(frozen=True, slots=True, kw_only=True)
class FramedContentAuthData:
    """``FramedContentAuthData``: ``confirmation_tag`` is present iff the content is a commit,
    so decoding needs the content type."""

    signature: bytes
    confirmation_tag: bytes | None = None

    def encode(self, w: Writer) -> None:
        w.opaque(self.signature)
        if self.confirmation_tag is not None:
            w.opaque(self.confirmation_tag)

    @classmethod
    def decode(cls, r: Reader, content_type: ContentType) -> Self:
        signature = r.opaque()
        tag = r.opaque() if content_type is ContentType.COMMIT else None
        return cls(signature=signature, confirmation_tag=tag)

    def check_matches(self, content_type: ContentType) -> None:
        if (self.confirmation_tag is not None) != (content_type is ContentType.COMMIT):
            raise LocalProtocolError("FramedContentAuthData: confirmation_tag is present iff content is a commit")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticatedContent:
    """``AuthenticatedContent``: what is signed and what a ProposalRef hashes."""

    wire_format: WireFormat
    content: FramedContent
    auth: FramedContentAuthData

    def __post_init__(self) -> None:
        self.auth.check_matches(self.content.content_type)

    def encode(self, w: Writer) -> None:
        w.u16(self.wire_format)
        self.content.encode(w)
        self.auth.encode(w)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        wire_format = read_enum(r, WireFormat, 2)
        content = FramedContent.decode(r)
        return cls(wire_format=wire_format, content=content,
                   auth=FramedContentAuthData.decode(r, content.content_type))


# -- PublicMessage (section 6.2) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicMessage:
    """``PublicMessage``: ``membership_tag`` is present iff the sender is a member."""

    content: FramedContent
    auth: FramedContentAuthData
    membership_tag: bytes | None = None

    def __post_init__(self) -> None:
        self.auth.check_matches(self.content.content_type)
        if (self.membership_tag is not None) != isinstance(self.content.sender, SenderMember):
            raise LocalProtocolError("PublicMessage: membership_tag is present iff the sender is a member")

    def encode(self, w: Writer) -> None:
        self.content.encode(w)
        self.auth.encode(w)
        if self.membership_tag is not None:
            w.opaque(self.membership_tag)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        content = FramedContent.decode(r)
        auth = FramedContentAuthData.decode(r, content.content_type)
        tag = r.opaque() if isinstance(content.sender, SenderMember) else None
        return cls(content=content, auth=auth, membership_tag=tag)


# -- PrivateMessage (section 6.3) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateMessage:
    """``PrivateMessage``."""

    group_id: bytes
    epoch: Epoch
    content_type: ContentType
    authenticated_data: bytes = b""
    encrypted_sender_data: bytes
    ciphertext: bytes

    def encode(self, w: Writer) -> None:
        w.opaque(self.group_id)
        w.u64(self.epoch)
        w.u8(self.content_type)
        w.opaque(self.authenticated_data)
        w.opaque(self.encrypted_sender_data)
        w.opaque(self.ciphertext)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            group_id=r.opaque(),
            epoch=Epoch(r.u64()),
            content_type=read_enum(r, ContentType, 1),
            authenticated_data=r.opaque(),
            encrypted_sender_data=r.opaque(),
            ciphertext=r.opaque(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateMessageContent:
    """``PrivateMessageContent``: content, auth, then ``length_of_padding`` zero bytes.

    Decoding needs ``PrivateMessage.content_type`` and consumes the rest of the plaintext as
    padding: "A receiver MUST verify that there are no non-zero bytes in the padding field, and
    if this check fails, the enclosing PrivateMessage MUST be rejected as malformed."
    """

    content: Content
    auth: FramedContentAuthData
    length_of_padding: int = 0

    def __post_init__(self) -> None:
        self.auth.check_matches(content_type_of(self.content))
        if self.length_of_padding < 0:
            raise LocalProtocolError("padding length cannot be negative")

    @property
    def content_type(self) -> ContentType:
        return content_type_of(self.content)

    def encode(self, w: Writer) -> None:
        _encode_content(w, self.content)
        self.auth.encode(w)
        w.fixed(bytes(self.length_of_padding))

    @classmethod
    def decode(cls, r: Reader, content_type: ContentType) -> Self:
        content = _decode_content(r, content_type)
        auth = FramedContentAuthData.decode(r, content_type)
        padding = r.fixed(r.remaining())
        if padding.count(0) != len(padding):
            raise DecodeError("RFC 9420 §6.3.1: padding must be all zero")
        return cls(content=content, auth=auth, length_of_padding=len(padding))

    @classmethod
    def from_plaintext(cls, plaintext: bytes, content_type: ContentType) -> Self:
        """Decode a decrypted ``PrivateMessage.ciphertext``."""
        return cls.decode(Reader(bytes(plaintext)), content_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderData:
    """``SenderData``: who sent a PrivateMessage and with which generation and reuse guard."""

    leaf_index: LeafIndex
    generation: Generation
    reuse_guard: bytes

    def __post_init__(self) -> None:
        if len(self.reuse_guard) != REUSE_GUARD_SIZE:
            raise LocalProtocolError(f"reuse_guard is {REUSE_GUARD_SIZE} bytes")

    def encode(self, w: Writer) -> None:
        w.u32(self.leaf_index)
        w.u32(self.generation)
        w.fixed(self.reuse_guard)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(leaf_index=LeafIndex(r.u32()), generation=Generation(r.u32()),
                   reuse_guard=r.fixed(REUSE_GUARD_SIZE))


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateContentAAD:
    """``PrivateContentAAD``: the AAD of the content encryption."""

    group_id: bytes
    epoch: Epoch
    content_type: ContentType
    authenticated_data: bytes

    def encode(self, w: Writer) -> None:
        w.opaque(self.group_id)
        w.u64(self.epoch)
        w.u8(self.content_type)
        w.opaque(self.authenticated_data)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(group_id=r.opaque(), epoch=Epoch(r.u64()), content_type=read_enum(r, ContentType, 1),
                   authenticated_data=r.opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderDataAAD:
    """``SenderDataAAD``: the AAD of the sender-data encryption."""

    group_id: bytes
    epoch: Epoch
    content_type: ContentType

    def encode(self, w: Writer) -> None:
        w.opaque(self.group_id)
        w.u64(self.epoch)
        w.u8(self.content_type)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(group_id=r.opaque(), epoch=Epoch(r.u64()), content_type=read_enum(r, ContentType, 1))


# -- MLSMessage -----------------------------------------------------------------------------------

MLSMessageBody: TypeAlias = PublicMessage | PrivateMessage | Welcome | GroupInfo | KeyPackage

_WIRE_FORMATS: Final[dict[type[object], WireFormat]] = {
    PublicMessage: WireFormat.PUBLIC_MESSAGE,
    PrivateMessage: WireFormat.PRIVATE_MESSAGE,
    Welcome: WireFormat.WELCOME,
    GroupInfo: WireFormat.GROUP_INFO,
    KeyPackage: WireFormat.KEY_PACKAGE,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MLSMessage:
    """``MLSMessage``; ``wire_format`` is derived from the type of ``body``."""

    version: ProtocolVersion = ProtocolVersion.MLS10
    body: MLSMessageBody

    def __post_init__(self) -> None:
        if isinstance(self.body, KeyPackage) and self.body.version is not self.version:
            raise LocalProtocolError("a KeyPackage travels in an MLSMessage of its own version")

    @property
    def wire_format(self) -> WireFormat:
        return _WIRE_FORMATS[type(self.body)]

    def encode(self, w: Writer) -> None:
        w.u16(self.version)
        w.u16(self.wire_format)
        self.body.encode(w)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        version = read_enum(r, ProtocolVersion, 2)
        wire_format = read_enum(r, WireFormat, 2)
        body: MLSMessageBody
        if wire_format is WireFormat.PUBLIC_MESSAGE:
            body = PublicMessage.decode(r)
        elif wire_format is WireFormat.PRIVATE_MESSAGE:
            body = PrivateMessage.decode(r)
        elif wire_format is WireFormat.WELCOME:
            body = Welcome.decode(r)
        elif wire_format is WireFormat.GROUP_INFO:
            body = GroupInfo.decode(r)
        else:
            body = KeyPackage.decode(r)
            # "it MUST verify that the version field of the KeyPackage has the same value as the
            # version field of the MLSMessage"
            if body.version is not version:
                raise DecodeError("RFC 9420 §10: KeyPackage version differs from its MLSMessage's")
        return cls(version=version, body=body)
