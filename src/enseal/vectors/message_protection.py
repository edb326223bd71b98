"""Runner for ``message-protection.json``: PublicMessage and PrivateMessage protection of a
proposal, a commit and application data (RFC 9420 §6), sender at leaf 1 of a two-leaf tree."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.crypto import CipherSuite, SignaturePrivateKey, cipher_suite, system_random
from enseal.errors import LocalProtocolError
from enseal.mls import message_protection as mp
from enseal.mls.code_points import WireFormat
from enseal.mls.commit import Commit
from enseal.mls.framing import (
    Content,
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PrivateMessage,
    PublicMessage,
    SenderMember,
)
from enseal.mls.group_context import GroupContext
from enseal.mls.key_schedule import EncryptionSecret, MembershipKey, SenderDataSecret
from enseal.mls.proposals import Proposal
from enseal.mls.secret_tree import SecretTree
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, Epoch, LeafIndex
from enseal.vectors.outcome import Case, VectorMismatch, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, list_cases

NAME = "message-protection"
SENDER = LeafIndex(1)


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"cipher_suite", "membership_key", "commit_priv"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


class _Epoch:
    def __init__(self, case: Case) -> None:
        d = case.data
        self.suite: CipherSuite = cipher_suite(integer(d, "cipher_suite"))
        self.group_context = GroupContext(
            cipher_suite=CipherSuiteId(self.suite.id),
            group_id=hexb(d, "group_id"),
            epoch=Epoch(integer(d, "epoch")),
            tree_hash=hexb(d, "tree_hash"),
            confirmed_transcript_hash=hexb(d, "confirmed_transcript_hash"),
        ).to_bytes()
        self.group_id = hexb(d, "group_id")
        self.epoch = Epoch(integer(d, "epoch"))
        self.signer: SignaturePrivateKey = self.suite.signature_key(hexb(d, "signature_priv"))
        self.signature_pub = hexb(d, "signature_pub")
        self.encryption_secret = hexb(d, "encryption_secret")
        self.sender_data_secret = SenderDataSecret(hexb(d, "sender_data_secret"))
        self.membership_key = MembershipKey(hexb(d, "membership_key"))

    def tree(self) -> SecretTree:
        return SecretTree(self.suite, EncryptionSecret(self.encryption_secret), 2)

    def unprotect_public(self, data: bytes) -> Content:
        message = deserialize(MLSMessage, data).body
        assert isinstance(message, PublicMessage)
        mp.verify_membership_tag(self.suite, self.membership_key, message, self.group_context)
        verified = mp.verify_content(
            self.suite, self.signature_pub, mp.public_to_authenticated(message), self.group_context
        )
        return verified.content.content

    def unprotect_private(self, data: bytes, tree: SecretTree) -> Content:
        message = deserialize(MLSMessage, data).body
        assert isinstance(message, PrivateMessage)
        authenticated, _ = mp.decrypt_private(
            self.suite, message, secret_tree=tree, sender_data_secret=self.sender_data_secret,
            is_member=lambda leaf: leaf in (0, 1),
        )
        return mp.verify_content(self.suite, self.signature_pub, authenticated, self.group_context).content.content

    def framed(self, content: Content) -> FramedContent:
        return FramedContent(group_id=self.group_id, epoch=self.epoch, sender=SenderMember(leaf_index=SENDER),
                             content=content)

    def auth(self, wire_format: WireFormat, framed: FramedContent, tag: bytes | None) -> FramedContentAuthData:
        signature = mp.sign_content(self.suite, self.signer, wire_format, framed, self.group_context)
        return FramedContentAuthData(signature=signature, confirmation_tag=tag)

    def protect_public(self, content: Content, tag: bytes | None) -> bytes:
        framed = self.framed(content)
        auth = self.auth(WireFormat.PUBLIC_MESSAGE, framed, tag)
        message = mp.to_public_message(self.suite, framed, auth, self.group_context, self.membership_key)
        return serialize(MLSMessage(body=message))

    def protect_private(self, content: Content, tag: bytes | None, tree: SecretTree) -> bytes:
        framed = self.framed(content)
        auth = self.auth(WireFormat.PRIVATE_MESSAGE, framed, tag)
        message = mp.encrypt_private(self.suite, content=framed, auth=auth, secret_tree=tree,
                                     sender_data_secret=self.sender_data_secret, random_bytes=system_random)
        return serialize(MLSMessage(body=message))


def _confirmation_tag(data: bytes) -> bytes | None:
    body = deserialize(MLSMessage, data).body
    assert isinstance(body, PublicMessage)
    return body.auth.confirmation_tag


def run(case: Case) -> None:
    epoch = _Epoch(case)
    d = case.data
    raw: dict[str, Content] = {
        "proposal": deserialize(Proposal, hexb(d, "proposal")),
        "commit": deserialize(Commit, hexb(d, "commit")),
        "application": hexb(d, "application"),
    }
    for name, content in raw.items():
        tag = _confirmation_tag(hexb(d, "commit_pub")) if name == "commit" else None
        if name != "application":
            expect_equal(f"{name}_pub content", epoch.unprotect_public(hexb(d, f"{name}_pub")), content)
            expect_equal(f"{name} own PublicMessage", epoch.unprotect_public(epoch.protect_public(content, tag)),
                         content)
        else:
            try:
                epoch.protect_public(content, tag)
            except LocalProtocolError:
                pass
            else:
                raise VectorMismatch("application data was protected as a PublicMessage")
        expect_equal(f"{name}_priv content", epoch.unprotect_private(hexb(d, f"{name}_priv"), epoch.tree()), content)
        own = epoch.protect_private(content, tag, epoch.tree())
        expect_equal(f"{name} own PrivateMessage", epoch.unprotect_private(own, epoch.tree()), content)
