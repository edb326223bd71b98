"""Each MUST of RFC 9420 §6 and §9 gives its typed error (issue 3's negative tests)."""

from __future__ import annotations

import pytest

from enseal.crypto import cipher_suite, system_random
from enseal.errors import (
    DecodeError,
    GenerationError,
    MembershipTagError,
    SignatureError,
    TrailingBytesError,
    UnknownSenderError,
    WrongEpochError,
    WrongGroupError,
)
from enseal.mls import message_protection as mp
from enseal.mls.code_points import ContentType, WireFormat
from enseal.mls.framing import (
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PrivateMessage,
    PrivateMessageContent,
    PublicMessage,
    SenderMember,
)
from enseal.mls.group_context import GroupContext
from enseal.mls.key_schedule import EncryptionSecret, MembershipKey, SenderDataSecret
from enseal.mls.proposals import Remove
from enseal.mls.secret_tree import MAX_FORWARD_GENERATIONS, RatchetKind, SecretTree
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, Epoch, LeafIndex

SUITE = cipher_suite(1)
GROUP_ID = b"group"
EPOCH = Epoch(7)
CONTEXT = GroupContext(cipher_suite=CipherSuiteId(1), group_id=GROUP_ID, epoch=EPOCH, tree_hash=b"t" * 32,
                       confirmed_transcript_hash=b"c" * 32).to_bytes()
SIGNER = SUITE.generate_signature_key(system_random)
ENCRYPTION_SECRET = b"\x11" * 32
SENDER_DATA = SenderDataSecret(b"\x22" * 32)
MEMBERSHIP = MembershipKey(b"\x33" * 32)


def tree() -> SecretTree:
    return SecretTree(SUITE, EncryptionSecret(ENCRYPTION_SECRET), 4)


def framed(content: bytes | Remove, sender: int = 1) -> FramedContent:
    return FramedContent(group_id=GROUP_ID, epoch=EPOCH, sender=SenderMember(leaf_index=LeafIndex(sender)),
                         content=content)


def private(data: bytes, sender_tree: SecretTree, *, padding: int = 0) -> PrivateMessage:
    f = framed(data)
    auth = FramedContentAuthData(signature=mp.sign_content(SUITE, SIGNER, WireFormat.PRIVATE_MESSAGE, f, CONTEXT))
    return mp.encrypt_private(SUITE, content=f, auth=auth, secret_tree=sender_tree, sender_data_secret=SENDER_DATA,
                              random_bytes=system_random, padding=padding)


def decrypt(message: PrivateMessage, receiver: SecretTree) -> bytes:
    authenticated, _ = mp.decrypt_private(SUITE, message, secret_tree=receiver, sender_data_secret=SENDER_DATA,
                                          is_member=lambda leaf: leaf < 3)
    verified = mp.verify_content(SUITE, SIGNER.public_key, authenticated, CONTEXT)
    assert isinstance(verified.content.content, bytes)
    return verified.content.content


def test_round_trip_with_padding() -> None:
    assert decrypt(private(b"hello", tree(), padding=100), tree()) == b"hello"


def test_bad_signature() -> None:
    other = SUITE.generate_signature_key(system_random)
    message = private(b"hi", tree())
    authenticated, _ = mp.decrypt_private(SUITE, message, secret_tree=tree(), sender_data_secret=SENDER_DATA,
                                          is_member=lambda leaf: True)
    with pytest.raises(SignatureError, match="§6.1"):
        mp.verify_content(SUITE, other.public_key, authenticated, CONTEXT)
    # signed over another group context
    with pytest.raises(SignatureError, match="§6.1"):
        mp.verify_content(SUITE, SIGNER.public_key, authenticated, CONTEXT + b"x")


def _public_remove() -> PublicMessage:
    f = framed(Remove(removed=LeafIndex(2)))
    auth = FramedContentAuthData(signature=mp.sign_content(SUITE, SIGNER, WireFormat.PUBLIC_MESSAGE, f, CONTEXT))
    return mp.to_public_message(SUITE, f, auth, CONTEXT, MEMBERSHIP)


def test_bad_membership_tag() -> None:
    message = _public_remove()
    mp.verify_membership_tag(SUITE, MEMBERSHIP, message, CONTEXT)
    with pytest.raises(MembershipTagError, match="§6.2"):
        mp.verify_membership_tag(SUITE, MembershipKey(b"\x34" * 32), message, CONTEXT)
    assert message.membership_tag is not None
    forged = PublicMessage(content=message.content, auth=message.auth,
                           membership_tag=bytes([message.membership_tag[0] ^ 1]) + message.membership_tag[1:])
    with pytest.raises(MembershipTagError):
        mp.verify_membership_tag(SUITE, MEMBERSHIP, forged, CONTEXT)


def test_wrong_epoch_and_group() -> None:
    mp.check_group_and_epoch(GROUP_ID, 7, expected_group_id=GROUP_ID, expected_epoch=7)
    with pytest.raises(WrongEpochError, match="§12.4.2"):
        mp.check_group_and_epoch(GROUP_ID, 6, expected_group_id=GROUP_ID, expected_epoch=7)
    with pytest.raises(WrongGroupError):
        mp.check_group_and_epoch(b"other", 7, expected_group_id=GROUP_ID, expected_epoch=7)


def test_generation_too_far_ahead() -> None:
    receiver = tree()
    with pytest.raises(GenerationError, match="too far ahead"):
        receiver.key_for(1, RatchetKind.APPLICATION, MAX_FORWARD_GENERATIONS + 1)
    receiver.key_for(1, RatchetKind.APPLICATION, MAX_FORWARD_GENERATIONS)  # the bound itself is fine


def test_reused_generation_rejected() -> None:
    sender, receiver = tree(), tree()
    message = private(b"once", sender)
    assert decrypt(message, receiver) == b"once"
    with pytest.raises(GenerationError, match="§9.2"):
        decrypt(message, receiver)


def test_out_of_order_within_window() -> None:
    sender, receiver = tree(), tree()
    messages = [private(bytes([i]), sender) for i in range(5)]
    for i in (4, 0, 2, 1, 3):
        assert decrypt(messages[i], receiver) == bytes([i])


def test_forged_ciphertext_does_not_burn_the_key() -> None:
    sender, receiver = tree(), tree()
    message = private(b"real", sender)
    forged = PrivateMessage(group_id=message.group_id, epoch=message.epoch, content_type=message.content_type,
                            authenticated_data=message.authenticated_data,
                            encrypted_sender_data=message.encrypted_sender_data,
                            ciphertext=message.ciphertext[:-1] + bytes([message.ciphertext[-1] ^ 1]))
    # the tag is past the sender-data sample, so sender data still decrypts and names generation 0
    with pytest.raises(mp.ContentDecryptionError):
        decrypt(forged, receiver)
    assert decrypt(message, receiver) == b"real"


def test_wrong_sender_data() -> None:
    message = private(b"x", tree())
    tampered = PrivateMessage(group_id=message.group_id, epoch=message.epoch, content_type=message.content_type,
                              authenticated_data=message.authenticated_data,
                              encrypted_sender_data=bytes([message.encrypted_sender_data[0] ^ 1])
                              + message.encrypted_sender_data[1:],
                              ciphertext=message.ciphertext)
    with pytest.raises(mp.SenderDataError, match="§6.3.2"):
        decrypt(tampered, tree())
    with pytest.raises(mp.SenderDataError):
        mp.decrypt_private(SUITE, message, secret_tree=tree(), sender_data_secret=SenderDataSecret(b"\x23" * 32),
                           is_member=lambda leaf: True)


def test_sender_data_naming_a_blank_leaf() -> None:
    message = private(b"x", tree())
    with pytest.raises(UnknownSenderError, match="blank leaf"):
        mp.decrypt_private(SUITE, message, secret_tree=tree(), sender_data_secret=SENDER_DATA,
                           is_member=lambda leaf: False)


def test_content_under_wrong_aad_fails() -> None:
    message = private(b"x", tree())
    moved = PrivateMessage(group_id=message.group_id, epoch=message.epoch, content_type=message.content_type,
                           authenticated_data=b"changed", encrypted_sender_data=message.encrypted_sender_data,
                           ciphertext=message.ciphertext)
    with pytest.raises(mp.ContentDecryptionError, match="§6.3.1"):
        decrypt(moved, tree())


def test_nonzero_padding_rejected() -> None:
    auth = FramedContentAuthData(signature=b"sig")
    plaintext = serialize(PrivateMessageContent(content=b"x", auth=auth, length_of_padding=4))
    PrivateMessageContent.from_plaintext(plaintext, ContentType.APPLICATION)
    with pytest.raises(DecodeError, match="padding"):
        PrivateMessageContent.from_plaintext(plaintext[:-1] + b"\x01", ContentType.APPLICATION)


def test_trailing_bytes_rejected() -> None:
    data = serialize(MLSMessage(body=private(b"x", tree())))
    deserialize(MLSMessage, data)
    with pytest.raises(TrailingBytesError):
        deserialize(MLSMessage, data + b"\x00")


def test_application_data_never_public() -> None:
    f = framed(b"secret")
    auth = FramedContentAuthData(signature=b"s")
    with pytest.raises(Exception, match="PrivateMessage"):
        mp.to_public_message(SUITE, f, auth, CONTEXT, MEMBERSHIP)


def test_secret_tree_never_reveals_secrets_in_repr() -> None:
    t = tree()
    t.next_key(0, RatchetKind.APPLICATION)
    assert ENCRYPTION_SECRET.hex() not in repr(t)


def test_secret_tree_persists() -> None:
    from enseal.codec import Reader, Writer

    sender, receiver = tree(), tree()
    messages = [private(bytes([i]), sender) for i in range(3)]
    assert decrypt(messages[2], receiver) == b"\x02"
    w = Writer()
    receiver.encode(w)
    restored = SecretTree.decode(SUITE, Reader(w.getvalue()))
    assert decrypt(messages[0], restored) == b"\x00"
    with pytest.raises(GenerationError):
        decrypt(messages[2], restored)
