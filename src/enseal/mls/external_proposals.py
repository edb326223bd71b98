"""Proposals from outside the group (RFC 9420 section 12.1.8): from a pre-provisioned external
sender listed in the group's ``external_senders`` extension (Enseal's server uses this to remove
a departed or revoked device), and a joiner's own Add (``new_member_proposal``).

"An external proposal MUST be sent as a PublicMessage object, since the sender will not have the
keys necessary to construct a PrivateMessage object."
"""

from __future__ import annotations

from enseal.crypto import SignaturePrivateKey, cipher_suite
from enseal.errors import LocalProtocolError, ValidationError
from enseal.mls import message_protection as mp
from enseal.mls.code_points import EXTERNAL_SENDER_PROPOSAL_TYPES, WireFormat
from enseal.mls.extensions import ExternalSenders, find_extension
from enseal.mls.framing import (
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PublicMessage,
    SenderExternal,
    SenderNewMemberProposal,
)
from enseal.mls.group_context import GroupContext
from enseal.mls.group_info import GroupInfo
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import Add, Proposal
from enseal.mls.wire import deserialize, serialize


def external_sender_index(group_context: GroupContext, signature_key: bytes) -> int:
    """The index of ``signature_key`` in the group's ``external_senders`` extension."""
    senders = find_extension(group_context.extensions, ExternalSenders)
    if senders is not None:
        for index, sender in enumerate(senders.external_senders):
            if sender.signature_key == signature_key:
                return index
    raise ValidationError("RFC 9420 §12.1.8.1: this signer is not an external sender of the group")


def external_proposal(
    group_context: GroupContext,
    proposal: Proposal,
    *,
    signer: SignaturePrivateKey,
    sender_index: int | None = None,
    authenticated_data: bytes = b"",
) -> bytes:
    """A proposal signed by an external sender, as an MLSMessage(PublicMessage)."""
    if proposal.proposal_type not in EXTERNAL_SENDER_PROPOSAL_TYPES:
        raise LocalProtocolError("RFC 9420 §12.1.8: external senders may not send this proposal type")
    index = external_sender_index(group_context, signer.public_key) if sender_index is None else sender_index
    suite = cipher_suite(group_context.cipher_suite)
    framed = FramedContent(group_id=group_context.group_id, epoch=group_context.epoch,
                           sender=SenderExternal(sender_index=index), authenticated_data=authenticated_data,
                           content=proposal)
    signature = mp.sign_content(suite, signer, WireFormat.PUBLIC_MESSAGE, framed, group_context.to_bytes())
    return serialize(MLSMessage(body=PublicMessage(content=framed, auth=FramedContentAuthData(signature=signature))))


def new_member_add_proposal(group_info: bytes, bundle: KeyPackageBundle, *, authenticated_data: bytes = b"") -> bytes:
    """A joiner's own Add for the epoch of ``group_info``, signed with its KeyPackage's key."""
    info = deserialize(MLSMessage, group_info).body
    if not isinstance(info, GroupInfo):
        raise ValidationError("expected a GroupInfo", type(info).__name__)
    context = info.group_context
    suite = cipher_suite(context.cipher_suite)
    framed = FramedContent(group_id=context.group_id, epoch=context.epoch, sender=SenderNewMemberProposal(),
                           authenticated_data=authenticated_data, content=Add(key_package=bundle.key_package))
    signature = mp.sign_content(suite, bundle.signer, WireFormat.PUBLIC_MESSAGE, framed, context.to_bytes())
    return serialize(MLSMessage(body=PublicMessage(content=framed, auth=FramedContentAuthData(signature=signature))))
