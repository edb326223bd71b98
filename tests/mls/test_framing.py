"""Message framing (RFC 9420 §6): round trips of every structure and wire format, and the MUSTs
enforced when decoding (select rules, sender/content rules, zero padding)."""

from __future__ import annotations

import pytest
from hypothesis import given

from enseal.codec import Writer
from enseal.errors import DecodeError, LocalProtocolError
from enseal.mls.code_points import ContentType, WireFormat
from enseal.mls.commit import Commit
from enseal.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PrivateMessageContent,
    PublicMessage,
    SenderData,
    SenderExternal,
    SenderMember,
    SenderNewMemberCommit,
    SenderNewMemberProposal,
)
from enseal.mls.leaf_node import LeafNode
from enseal.mls.proposals import ExternalInit, Remove, Update
from enseal.mls.wire import deserialize, serialize
from enseal.types import Epoch, Generation, LeafIndex

from .struct_strategies import (
    authenticated_contents,
    leaf_nodes,
    mls_messages,
    private_message_contents,
    public_messages,
    sender_datas,
)


@given(mls_messages)
def test_mls_message_round_trip(message: MLSMessage) -> None:
    data = serialize(message)
    again = deserialize(MLSMessage, data)
    assert again == message
    assert again.wire_format is message.wire_format
    assert serialize(again) == data


@given(authenticated_contents())
def test_authenticated_content_round_trip(value: AuthenticatedContent) -> None:
    assert deserialize(AuthenticatedContent, serialize(value)) == value


@given(public_messages())
def test_public_message_round_trip(value: PublicMessage) -> None:
    assert deserialize(PublicMessage, serialize(value)) == value


@given(private_message_contents())
def test_private_message_content_round_trip(value: PrivateMessageContent) -> None:
    data = serialize(value)
    assert PrivateMessageContent.from_plaintext(data, value.content_type) == value


@given(sender_datas)
def test_sender_data_round_trip(value: SenderData) -> None:
    assert deserialize(SenderData, serialize(value)) == value


def _member_content(content: bytes | Commit | Remove) -> FramedContent:
    return FramedContent(group_id=b"g", epoch=Epoch(1), sender=SenderMember(leaf_index=LeafIndex(0)), content=content)


def test_padding_must_be_all_zero() -> None:
    content = PrivateMessageContent(content=b"hi", auth=FramedContentAuthData(signature=b"s"), length_of_padding=3)
    plaintext = serialize(content)
    assert plaintext.endswith(b"\x00\x00\x00")
    assert PrivateMessageContent.from_plaintext(plaintext, ContentType.APPLICATION) == content
    with pytest.raises(DecodeError, match=r"§6\.3\.1: padding must be all zero"):
        PrivateMessageContent.from_plaintext(plaintext[:-1] + b"\x01", ContentType.APPLICATION)


def test_confirmation_tag_present_iff_commit() -> None:
    with pytest.raises(LocalProtocolError, match="confirmation_tag"):
        PublicMessage(content=_member_content(Commit()), auth=FramedContentAuthData(signature=b"s"),
                      membership_tag=b"m")
    with pytest.raises(LocalProtocolError, match="confirmation_tag"):
        PublicMessage(content=_member_content(b"x"), auth=FramedContentAuthData(signature=b"s", confirmation_tag=b"t"),
                      membership_tag=b"m")
    # decoding reads the tag exactly for commits
    commit = PublicMessage(content=_member_content(Commit()),
                           auth=FramedContentAuthData(signature=b"s", confirmation_tag=b"t"), membership_tag=b"m")
    assert deserialize(PublicMessage, serialize(commit)) == commit


def test_membership_tag_present_iff_member() -> None:
    with pytest.raises(LocalProtocolError, match="membership_tag"):
        PublicMessage(content=_member_content(b"x"), auth=FramedContentAuthData(signature=b"s"))
    external = FramedContent(group_id=b"g", epoch=Epoch(1), sender=SenderExternal(sender_index=0),
                             content=Remove(removed=LeafIndex(1)))
    with pytest.raises(LocalProtocolError, match="membership_tag"):
        PublicMessage(content=external, auth=FramedContentAuthData(signature=b"s"), membership_tag=b"m")
    message = PublicMessage(content=external, auth=FramedContentAuthData(signature=b"s"))
    assert serialize(message).endswith(b"\x01s")  # no membership tag after the signature


def _framed_bytes(sender: bytes, content_type: int, body: bytes) -> bytes:
    w = Writer()
    w.opaque(b"g")
    w.u64(1)
    w.fixed(sender)
    w.opaque(b"")
    w.u8(content_type)
    w.fixed(body)
    return w.getvalue()


@pytest.mark.parametrize(
    ("sender", "content_type", "body"),
    [
        (b"\x02\x00\x00\x00\x00", 1, b"\x00"),  # external sender, application data
        (b"\x02\x00\x00\x00\x00", 2, serialize(ExternalInit(kem_output=b""))),  # external_init not allowed
        (b"\x04", 2, serialize(Remove(removed=LeafIndex(0)))),  # new_member_commit sending a proposal
        (b"\x03", 2, serialize(Remove(removed=LeafIndex(0)))),  # new_member_proposal sending a Remove
        (b"\x03", 3, serialize(Commit())),  # new_member_proposal sending a commit
    ],
)
def test_sender_content_rules_rejected_as_malformed(sender: bytes, content_type: int, body: bytes) -> None:
    with pytest.raises(DecodeError, match=r"§6\.1"):
        deserialize(FramedContent, _framed_bytes(sender, content_type, body))


@given(leaf_nodes())
def test_update_from_an_external_sender_cannot_be_built(leaf: LeafNode) -> None:
    with pytest.raises(LocalProtocolError, match=r"§6\.1"):
        FramedContent(group_id=b"g", epoch=Epoch(0), sender=SenderExternal(sender_index=0),
                      content=Update(leaf_node=leaf))


def test_new_member_senders_round_trip() -> None:
    for sender in (SenderNewMemberCommit(), SenderNewMemberProposal()):
        assert deserialize(type(sender), serialize(sender)) == sender


@pytest.mark.parametrize("data", ["0001", "0001000000", "00010006", "00020001"])
def test_unknown_version_or_wire_format_rejected(data: str) -> None:
    # version 1 but truncated / wire format 0 / wire format 6 / version 2
    with pytest.raises(DecodeError):
        deserialize(MLSMessage, bytes.fromhex(data))


def test_unknown_sender_type_rejected() -> None:
    with pytest.raises(DecodeError, match="unknown SenderType"):
        deserialize(FramedContent, _framed_bytes(b"\x05", 1, b"\x00"))


def test_unknown_content_type_rejected() -> None:
    with pytest.raises(DecodeError, match="unknown ContentType"):
        deserialize(FramedContent, _framed_bytes(b"\x01\x00\x00\x00\x00", 4, b"\x00"))


def test_sender_data_reuse_guard_is_four_bytes() -> None:
    with pytest.raises(LocalProtocolError, match="reuse_guard"):
        SenderData(leaf_index=LeafIndex(0), generation=Generation(0), reuse_guard=b"abc")


def test_wire_format_follows_body() -> None:
    message = MLSMessage(body=PublicMessage(content=_member_content(b"x"), auth=FramedContentAuthData(signature=b""),
                                            membership_tag=b""))
    assert message.wire_format is WireFormat.PUBLIC_MESSAGE
    assert serialize(message)[:4] == b"\x00\x01\x00\x01"
