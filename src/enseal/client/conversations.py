"""Chat conversations as MLS groups, in the profile: the sans-I/O engine of chat
(docs/client.md, "Chat"; decision record 0904).

A conversation is an MLS group of ``kind: chat`` whose members are every device of its users;
it is named by its users (``bob@acme`` for a 1:1 chat, ``bob@acme,carol@acme`` for a group).
This module turns what arrives from the delivery service (Welcomes, handshakes, application
messages: :mod:`enseal.wire.mailbox`) into group state and history, and produces what to send.
It does no I/O: the session (:mod:`enseal.client.session`) posts and fetches. Every change of a
group, its history and the mailbox position is written in one profile transaction by the caller.

Application messages carry UTF-8 JSON ``{"v": 1, "type": "text", "id", "text", "sent_at"}``; the
sender is the MLS leaf that signed it (never a field of the message).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from enseal.client.device import DeviceIdentity
from enseal.client.device_directory import DeviceDirectory
from enseal.client.errors import ConversationError, UntrustedDevice
from enseal.client.key_package_pool import KeyPackagePool
from enseal.client.profile_store import ProfileStore
from enseal.crypto import RandomSource
from enseal.errors import EnsealError
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.extensions import ExternalSender, ExternalSenders, make_extension
from enseal.mls.framing import MLSMessage
from enseal.mls.group import ApplicationMessage, CommitOutput, Group, ProposalMessage, StagedCommit
from enseal.mls.group_config import GroupConfig
from enseal.mls.key_package import KeyPackage
from enseal.mls.proposals import Add
from enseal.mls.welcome import Welcome
from enseal.mls.wire import deserialize
from enseal.wire import parse_device_identity

CONVERSATIONS_RECORD: Final = "conversations"
GROUP_RECORD_PREFIX: Final = "group:"
GROUP_ID_SIZE: Final = 16
MAX_TEXT_BYTES: Final = 16 * 1024
"""Longest chat text this client sends."""
PAYLOAD_VERSION: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage:
    """One chat message, sent or received, as history keeps it."""

    conversation: str
    message_id: str
    sender: str
    sender_device: str
    text: str
    sent_at: str
    outgoing: bool

    def to_entry(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "from": self.sender,
            "device": self.sender_device,
            "text": self.text,
            "sent_at": self.sent_at,
            "outgoing": self.outgoing,
        }

    @classmethod
    def from_entry(cls, conversation: str, entry: dict[str, Any]) -> TextMessage:
        return cls(
            conversation=conversation,
            message_id=entry["id"],
            sender=entry["from"],
            sender_device=entry["device"],
            text=entry["text"],
            sent_at=entry["sent_at"],
            outgoing=bool(entry["outgoing"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationJoined:
    conversation: str
    group_id: str
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipChanged:
    conversation: str
    group_id: str
    epoch: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Undecryptable:
    """Something for a conversation could not be processed (it is skipped, and said so)."""

    group_id: str
    reason: str


ChatEvent = TextMessage | ConversationJoined | MembershipChanged | Undecryptable


def conversation_name(users: Iterable[str], me: str) -> str:
    """The conversation's name as this user sees it: the other users, sorted, comma-separated
    (a note-to-self conversation is named after oneself)."""
    others = sorted(set(users) - {me})
    return ",".join(others) if others else me


def _user_of(credential: Credential) -> str:
    if not isinstance(credential, BasicCredential):
        raise UntrustedDevice("a member without a basic credential")
    user, _ = parse_device_identity(credential.identity)
    return str(user)


class Conversations:
    """The chat groups of one device."""

    def __init__(
        self,
        store: ProfileStore,
        identity: DeviceIdentity,
        directory: DeviceDirectory,
        key_packages: KeyPackagePool,
    ) -> None:
        self._store = store
        self._identity = identity
        self._directory = directory
        self._key_packages = key_packages
        self._index: dict[str, dict[str, Any]] = store.get_json(CONVERSATIONS_RECORD) or {}
        # Leaves of a chat group were admitted by the server's Authentication Service (it checks
        # each against the device registry), so a device seen first in a group is pinned then;
        # from then on a different key for it is a key substitution (record 0902).
        self.config = GroupConfig(validate_credential=directory.validator(lambda _user, _device: True))

    # -- the index --------------------------------------------------------------------------------

    def _save_index(self) -> None:
        self._store.put_json(CONVERSATIONS_RECORD, self._index)

    def names(self) -> dict[str, list[str]]:
        """Each conversation's name and its group ids (usually one)."""
        out: dict[str, list[str]] = {}
        for group_id, entry in sorted(self._index.items()):
            if not entry.get("left"):
                out.setdefault(entry["name"], []).append(group_id)
        return out

    def group_ids(self) -> list[str]:
        return sorted(g for g, e in self._index.items() if not e.get("left"))

    def find(self, users: Iterable[str]) -> str | None:
        """The group of the conversation with exactly ``users`` (and this user), if any; the
        lowest group id when two were created at the same moment."""
        name = conversation_name(set(users) | {self._identity.address}, self._identity.address)
        return min(self.names().get(name, []), default=None)

    def name_of(self, group_id: str) -> str:
        entry = self._index.get(group_id)
        if entry is None:
            raise ConversationError("no such conversation on this device", group_id)
        return str(entry["name"])

    def knows(self, group_id: str) -> bool:
        return group_id in self._index

    # -- groups -----------------------------------------------------------------------------------

    def load(self, group_id: str) -> Group:
        data = self._store.get(GROUP_RECORD_PREFIX + group_id)
        if data is None:
            raise ConversationError("no such conversation on this device", group_id)
        return Group.from_bytes(data, config=self.config)

    def save(self, group: Group, *, name: str | None = None) -> None:
        group_id = group.group_id.hex()
        self._store.put(GROUP_RECORD_PREFIX + group_id, group.to_bytes().reveal())
        users = sorted({_user_of(m.credential) for m in group.members()})
        entry = self._index.setdefault(group_id, {})
        entry["users"] = users
        entry["name"] = name or entry.get("name") or conversation_name(users, self._identity.address)
        entry["epoch"] = group.epoch
        self._save_index()

    def forget(self, group_id: str) -> None:
        entry = self._index.get(group_id)
        if entry is not None:
            entry["left"] = True
            self._save_index()
            self._store.delete(GROUP_RECORD_PREFIX + group_id)

    # -- creating ---------------------------------------------------------------------------------

    def create(self, *, external_sender: ExternalSender, now: int, rng: RandomSource) -> Group:
        """A new one-member group listing the server as its external sender (the delivery
        service requires it, so it can propose removing revoked devices)."""
        identity = self._identity
        extension = make_extension(ExternalSenders(external_senders=(external_sender,)))
        return Group.create(
            identity.suite,
            group_id=rng(GROUP_ID_SIZE),
            signer=identity.signing_key,
            credential=identity.credential,
            rng=rng,
            now=now,
            extensions=[extension],
            config=self.config,
        )

    @staticmethod
    def add_devices(group: Group, key_packages: Iterable[bytes], *, now: int, rng: RandomSource) -> CommitOutput:
        """Commit adding every device whose (checked) KeyPackage is given; stays pending."""
        adds = []
        for data in key_packages:
            body = deserialize(MLSMessage, data).body
            if not isinstance(body, KeyPackage):
                raise ConversationError("not a KeyPackage")
            adds.append(Add(key_package=body))
        return group.commit(rng=rng, now=now, proposals=adds)

    # -- sending ----------------------------------------------------------------------------------

    def encrypt_text(self, group: Group, text: str, *, message_id: str, rng: RandomSource) -> tuple[bytes, TextMessage]:
        """The PrivateMessage for ``text`` and its history entry."""
        if not text:
            raise ConversationError("the message is empty")
        sent_at = datetime.now(UTC).isoformat(timespec="seconds")
        payload = json.dumps(
            {"v": PAYLOAD_VERSION, "type": "text", "id": message_id, "text": text, "sent_at": sent_at},
            ensure_ascii=False,
        ).encode()
        if len(payload) > MAX_TEXT_BYTES:
            raise ConversationError(f"a message is at most {MAX_TEXT_BYTES} bytes")
        ciphertext = group.encrypt_application(payload, rng=rng)
        message = TextMessage(
            conversation=self.name_of(group.group_id.hex()),
            message_id=message_id,
            sender=self._identity.address,
            sender_device=self._identity.device_id,
            text=text,
            sent_at=sent_at,
            outgoing=True,
        )
        return ciphertext, message

    # -- receiving --------------------------------------------------------------------------------

    def join(self, welcome_data: bytes, *, sender: str, now: int) -> tuple[Group, ConversationJoined]:
        """Join from a Welcome with the KeyPackage bundle it names."""
        body = deserialize(MLSMessage, welcome_data).body
        if not isinstance(body, Welcome):
            raise ConversationError("a group.welcome without a Welcome")
        bundle = self._key_packages.for_welcome(body)
        group = Group.join(welcome_data, bundle, now=now, config=self.config)
        self._key_packages.consumed(bundle)
        self.save(group)
        group_id = group.group_id.hex()
        by, _, _ = sender.partition("/")
        return group, ConversationJoined(conversation=self.name_of(group_id), group_id=group_id, by=by)

    def receive(self, group: Group, message: bytes, *, now: int) -> list[ChatEvent]:
        """Process a handshake or application message of ``group`` (the caller saves it)."""
        group_id = group.group_id.hex()
        result = group.process(message, now=now)
        if isinstance(result, ApplicationMessage):
            return [self._text(group, result)]
        if isinstance(result, ProposalMessage):
            return []
        assert isinstance(result, StagedCommit)
        group.merge(result)
        if result.self_removed:
            self.forget(group_id)
            return [
                MembershipChanged(conversation=self._index[group_id]["name"], group_id=group_id, epoch=result.epoch)
            ]
        self.save(group)
        return [MembershipChanged(conversation=self.name_of(group_id), group_id=group_id, epoch=group.epoch)]

    def _text(self, group: Group, message: ApplicationMessage) -> ChatEvent:
        group_id = group.group_id.hex()
        leaf = group.tree.leaf(message.sender)
        if leaf is None:
            return Undecryptable(group_id=group_id, reason="a message from a leaf that is not a member")
        credential = leaf.credential
        try:
            payload = json.loads(message.data)
            if payload.get("v") != PAYLOAD_VERSION or payload.get("type") != "text":
                return Undecryptable(group_id=group_id, reason="a message of a kind this client does not know")
            text, message_id, sent_at = str(payload["text"]), str(payload["id"]), str(payload["sent_at"])
            assert isinstance(credential, BasicCredential)
            user, device_id = parse_device_identity(credential.identity)
        except (ValueError, KeyError, TypeError, AssertionError, EnsealError):
            return Undecryptable(group_id=group_id, reason="a message that is not well-formed")
        return TextMessage(
            conversation=self.name_of(group_id),
            message_id=message_id,
            sender=str(user),
            sender_device=device_id,
            text=text,
            sent_at=sent_at,
            outgoing=str(user) == self._identity.address,  # sent from another device of this user
        )
