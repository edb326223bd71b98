"""Message protection (RFC 9420 section 6): content signatures, membership tags and
PrivateMessage encryption with sender-data encryption, reuse guard and padding.

Protection is split in steps the group code composes; each verification raises a typed error
whose reason names the rule:

* :func:`sign_content` / :func:`verify_content` -- SignWithLabel(., "FramedContentTBS", ...)
  (section 6.1), raising :class:`~enseal.errors.SignatureError`;
* :func:`to_public_message` / :func:`verify_membership_tag` -- the membership tag of members'
  PublicMessages (section 6.2), raising :class:`~enseal.errors.MembershipTagError`;
* :func:`encrypt_private` / :func:`decrypt_private` -- PrivateMessage (section 6.3), raising
  :class:`SenderDataError`, :class:`ContentDecryptionError`, :class:`~enseal.errors.GenerationError`
  or :class:`~enseal.errors.UnknownSenderError`.

``decrypt_private`` returns an :class:`AuthenticatedContent` whose signature is *not yet*
verified: only :func:`verify_content` turns it into a :class:`VerifiedContent`, the type every
later step (proposal caching, commit processing, application data) requires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from enseal.codec import Reader, Writer
from enseal.crypto import CipherSuite, RandomSource, SignaturePrivateKey, constant_time_equal
from enseal.errors import (
    AuthenticationError,
    DecodeError,
    LocalProtocolError,
    MembershipTagError,
    SignatureError,
    UnknownSenderError,
    ValidationError,
    WrongEpochError,
    WrongGroupError,
)
from enseal.mls.code_points import ContentType, ProtocolVersion, WireFormat
from enseal.mls.framing import (
    REUSE_GUARD_SIZE,
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    PrivateContentAAD,
    PrivateMessage,
    PrivateMessageContent,
    PublicMessage,
    SenderData,
    SenderDataAAD,
    SenderMember,
    SenderNewMemberCommit,
)
from enseal.mls.key_schedule import MembershipKey, SenderDataSecret
from enseal.mls.secret_tree import RatchetKind, SecretTree
from enseal.mls.sender_data import sender_data_key_nonce
from enseal.mls.wire import serialize
from enseal.types import Generation, LeafIndex

MAX_PADDING = 1 << 16
"""Largest padding a sender adds to one PrivateMessage."""


class SenderDataError(AuthenticationError):
    """The encrypted sender data of a PrivateMessage does not decrypt or decode (section 6.3.2)."""


class ContentDecryptionError(AuthenticationError):
    """The content of a PrivateMessage does not decrypt under the sender's key (section 6.3.1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedContent:
    """An AuthenticatedContent whose signature verified. ``encoded`` is its exact encoding,
    which ProposalRefs and the confirmed transcript hash are computed over."""

    authenticated: AuthenticatedContent
    encoded: bytes

    @property
    def content(self) -> FramedContent:
        return self.authenticated.content

    @property
    def auth(self) -> FramedContentAuthData:
        return self.authenticated.auth

    @property
    def wire_format(self) -> WireFormat:
        return self.authenticated.wire_format


def check_group_and_epoch(group_id: bytes, epoch: int, *, expected_group_id: bytes, expected_epoch: int) -> None:
    """A handshake message is for this group and "the epoch field of the enclosing FramedContent
    is equal to the epoch field of the current GroupContext object" (sections 12.1, 12.4.2)."""
    if group_id != expected_group_id:
        raise WrongGroupError("RFC 9420 §6: message is for another group")
    if epoch != expected_epoch:
        raise WrongEpochError(
            "RFC 9420 §12.4.2: message epoch differs from the group's", f"{epoch} != {expected_epoch}"
        )


def _context_is_signed(content: FramedContent) -> bool:
    # "select (FramedContentTBS.content.sender.sender_type): case member, new_member_commit:
    #  GroupContext context"
    return isinstance(content.sender, SenderMember | SenderNewMemberCommit)


def framed_content_tbs(wire_format: WireFormat, content: FramedContent, group_context: bytes) -> bytes:
    """``FramedContentTBS`` (section 6.1); ``group_context`` is the serialized GroupContext."""
    w = Writer()
    w.u16(ProtocolVersion.MLS10)
    w.u16(wire_format)
    content.encode(w)
    if _context_is_signed(content):
        w.fixed(group_context)
    return w.getvalue()


def sign_content(
    suite: CipherSuite,
    signer: SignaturePrivateKey,
    wire_format: WireFormat,
    content: FramedContent,
    group_context: bytes,
) -> bytes:
    """The signature of FramedContentAuthData: SignWithLabel(., "FramedContentTBS", TBS)."""
    return suite.sign_with_label(signer, b"FramedContentTBS", framed_content_tbs(wire_format, content, group_context))


def verify_content(
    suite: CipherSuite, signature_key: bytes, authenticated: AuthenticatedContent, group_context: bytes
) -> VerifiedContent:
    """"Recipients of an MLSMessage MUST verify the signature with the key depending on the
    sender_type of the sender" (section 6.1)."""
    tbs = framed_content_tbs(authenticated.wire_format, authenticated.content, group_context)
    try:
        suite.verify_with_label(signature_key, b"FramedContentTBS", tbs, authenticated.auth.signature)
    except SignatureError as exc:
        raise SignatureError("RFC 9420 §6.1: FramedContent signature does not verify") from exc
    return VerifiedContent(authenticated=authenticated, encoded=serialize(authenticated))


def _membership_tag(
    suite: CipherSuite, key: MembershipKey, content: FramedContent, auth: FramedContentAuthData, group_context: bytes
) -> bytes:
    # membership_tag = MAC(membership_key, AuthenticatedContentTBM{content_tbs, auth})
    tbm = framed_content_tbs(WireFormat.PUBLIC_MESSAGE, content, group_context) + serialize(auth)
    return suite.mac(key.reveal(), tbm)


def to_public_message(
    suite: CipherSuite,
    content: FramedContent,
    auth: FramedContentAuthData,
    group_context: bytes,
    membership_key: MembershipKey | None,
) -> PublicMessage:
    """Encode as PublicMessage; members' messages get a membership tag (section 6.2)."""
    if content.content_type is ContentType.APPLICATION:
        # "Applications MUST use PrivateMessage to encrypt application messages"
        raise LocalProtocolError("RFC 9420 §6: application messages must be sent as PrivateMessage")
    tag = None
    if isinstance(content.sender, SenderMember):
        if membership_key is None:
            raise LocalProtocolError("a member's PublicMessage needs the membership key")
        tag = _membership_tag(suite, membership_key, content, auth, group_context)
    return PublicMessage(content=content, auth=auth, membership_tag=tag)


def verify_membership_tag(
    suite: CipherSuite, membership_key: MembershipKey, message: PublicMessage, group_context: bytes
) -> None:
    """"When decoding a PublicMessage into an AuthenticatedContent, the application MUST check
    membership_tag" (section 6.2)."""
    if message.membership_tag is None:
        return
    expected = _membership_tag(suite, membership_key, message.content, message.auth, group_context)
    if not constant_time_equal(expected, message.membership_tag):
        raise MembershipTagError("RFC 9420 §6.2: membership tag does not verify")


def public_to_authenticated(message: PublicMessage) -> AuthenticatedContent:
    """The AuthenticatedContent a PublicMessage carries (signature still to be verified)."""
    if message.content.content_type is ContentType.APPLICATION:
        raise ValidationError("RFC 9420 §6: application data must not arrive as a PublicMessage")
    return AuthenticatedContent(wire_format=WireFormat.PUBLIC_MESSAGE, content=message.content, auth=message.auth)


def _ratchet_kind(content_type: ContentType) -> RatchetKind:
    return RatchetKind.APPLICATION if content_type is ContentType.APPLICATION else RatchetKind.HANDSHAKE


def _guarded_nonce(nonce: bytes, reuse_guard: bytes) -> bytes:
    # "XOR it with the first four bytes of the nonce from the key schedule"
    head = bytes(a ^ b for a, b in zip(nonce[:REUSE_GUARD_SIZE], reuse_guard, strict=True))
    return head + nonce[REUSE_GUARD_SIZE:]


def encrypt_private(
    suite: CipherSuite,
    *,
    content: FramedContent,
    auth: FramedContentAuthData,
    secret_tree: SecretTree,
    sender_data_secret: SenderDataSecret,
    random_bytes: RandomSource,
    padding: int = 0,
) -> PrivateMessage:
    """Encrypt ``content`` (from a member) as a PrivateMessage (section 6.3)."""
    sender = content.sender
    if not isinstance(sender, SenderMember):
        # "the sender MUST verify Sender.sender_type is member"
        raise LocalProtocolError("RFC 9420 §6.3.2: only members send PrivateMessages")
    if not 0 <= padding <= MAX_PADDING:
        raise LocalProtocolError(f"padding must be 0..{MAX_PADDING}")
    content_type = content.content_type
    generation, key, nonce = secret_tree.next_key(sender.leaf_index, _ratchet_kind(content_type))
    reuse_guard = random_bytes(REUSE_GUARD_SIZE)
    plaintext = serialize(PrivateMessageContent(content=content.content, auth=auth, length_of_padding=padding))
    aad = serialize(PrivateContentAAD(group_id=content.group_id, epoch=content.epoch,
                                      content_type=content_type, authenticated_data=content.authenticated_data))
    ciphertext = suite.seal(key, _guarded_nonce(nonce, reuse_guard), aad, plaintext)

    sd_key, sd_nonce = sender_data_key_nonce(suite, sender_data_secret, ciphertext)
    sender_data = serialize(SenderData(leaf_index=sender.leaf_index, generation=generation, reuse_guard=reuse_guard))
    sd_aad = serialize(SenderDataAAD(group_id=content.group_id, epoch=content.epoch, content_type=content_type))
    return PrivateMessage(
        group_id=content.group_id,
        epoch=content.epoch,
        content_type=content_type,
        authenticated_data=content.authenticated_data,
        encrypted_sender_data=suite.seal(sd_key, sd_nonce, sd_aad, sender_data),
        ciphertext=ciphertext,
    )


def decrypt_sender_data(
    suite: CipherSuite, message: PrivateMessage, sender_data_secret: SenderDataSecret
) -> SenderData:
    """Decrypt and strictly decode the SenderData of ``message`` (section 6.3.2)."""
    sd_key, sd_nonce = sender_data_key_nonce(suite, sender_data_secret, message.ciphertext)
    sd_aad = serialize(SenderDataAAD(group_id=message.group_id, epoch=message.epoch,
                                     content_type=message.content_type))
    try:
        plaintext = suite.open(sd_key, sd_nonce, sd_aad, message.encrypted_sender_data)
    except AuthenticationError as exc:
        raise SenderDataError("RFC 9420 §6.3.2: sender data does not decrypt") from exc
    r = Reader(plaintext)
    try:
        sender_data = SenderData.decode(r)
        r.finish()
    except (DecodeError, LocalProtocolError) as exc:
        raise SenderDataError("RFC 9420 §6.3.2: sender data does not decode") from exc
    return sender_data


def decrypt_private(
    suite: CipherSuite,
    message: PrivateMessage,
    *,
    secret_tree: SecretTree,
    sender_data_secret: SenderDataSecret,
    is_member: Callable[[LeafIndex], bool],
) -> tuple[AuthenticatedContent, Generation]:
    """Decrypt a PrivateMessage to its AuthenticatedContent (signature not yet verified).

    The sender's ratchet key is consumed only once the content decrypted, so a forged
    message cannot burn a generation.
    """
    sender_data = decrypt_sender_data(suite, message, sender_data_secret)
    leaf = sender_data.leaf_index
    # "the recipient MUST verify that the leaf index indicated in the leaf_index field
    # identifies a non-blank node"
    if leaf >= secret_tree.n_leaves or not is_member(leaf):
        raise UnknownSenderError("RFC 9420 §6.3.2: sender data names a blank leaf", f"leaf {leaf}")
    kind = _ratchet_kind(message.content_type)
    key, nonce = secret_tree.key_for(leaf, kind, sender_data.generation)
    aad = serialize(PrivateContentAAD(group_id=message.group_id, epoch=message.epoch,
                                      content_type=message.content_type,
                                      authenticated_data=message.authenticated_data))
    try:
        plaintext = suite.open(key, _guarded_nonce(nonce, sender_data.reuse_guard), aad, message.ciphertext)
    except AuthenticationError as exc:
        raise ContentDecryptionError("RFC 9420 §6.3.1: content does not decrypt") from exc
    secret_tree.consume(leaf, kind, sender_data.generation)
    private_content = PrivateMessageContent.from_plaintext(plaintext, message.content_type)
    framed = FramedContent(
        group_id=message.group_id,
        epoch=message.epoch,
        sender=SenderMember(leaf_index=leaf),
        authenticated_data=message.authenticated_data,
        content=private_content.content,
    )
    authenticated = AuthenticatedContent(
        wire_format=WireFormat.PRIVATE_MESSAGE, content=framed, auth=private_content.auth
    )
    return authenticated, sender_data.generation
