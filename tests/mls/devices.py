"""Group-level test members: named devices with signing keys and PSK stores, a group built by
Add + Welcome, delivery of messages, the checks that a device refused a message without
changing, and that a group still works; and a misbehaving member's tools for crafting messages
(:func:`frame`, :func:`seal_public`, :func:`seal_private`, :func:`reseal`) with the lower-level
framing and message-protection functions, signed and tagged with real keys."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from enseal.crypto import CipherSuite, RandomSource, SignaturePrivateKey, cipher_suite
from enseal.errors import EnsealError
from enseal.mls import message_protection as mp
from enseal.mls.code_points import ContentType, WireFormat
from enseal.mls.commit import Commit
from enseal.mls.credential import BasicCredential
from enseal.mls.extensions import Extension
from enseal.mls.framing import (
    FramedContent,
    FramedContentAuthData,
    MLSMessage,
    PublicMessage,
    Sender,
    SenderMember,
)
from enseal.mls.group import ApplicationMessage, CommitOutput, Group, ProposalMessage, StagedCommit
from enseal.mls.group_config import GroupConfig
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.leaf_node import Capabilities
from enseal.mls.proposals import Add, Proposal, ProposalRef
from enseal.mls.wire import deserialize, serialize
from enseal.types import Epoch

NOW = 1_700_000_000
SUITE = cipher_suite(1)


def seeded(seed: object) -> RandomSource:
    return random.Random(repr(seed)).randbytes


@dataclass
class Device:
    """One member's device: name, signing key, PSKs it holds and its group state."""

    name: str
    suite: CipherSuite
    signer: SignaturePrivateKey
    rng: RandomSource
    psks: dict[bytes, bytes] = field(default_factory=dict)
    handshake: WireFormat = WireFormat.PUBLIC_MESSAGE
    capabilities: Capabilities | None = None
    _group: Group | None = None

    @property
    def credential(self) -> BasicCredential:
        return BasicCredential(identity=self.name.encode())

    @property
    def config(self) -> GroupConfig:
        return GroupConfig(external_psk=self.psks.get, handshake_wire_format=self.handshake)

    @property
    def group(self) -> Group:
        assert self._group is not None, f"{self.name} has no group"
        return self._group

    @group.setter
    def group(self, group: Group) -> None:
        self._group = group

    def bundle(self, suite: CipherSuite | None = None) -> KeyPackageBundle:
        return KeyPackageBundle.create(
            suite or self.suite, self.signer, self.credential, rng=self.rng, now=NOW, capabilities=self.capabilities
        )


def make_device(name: str, suite: CipherSuite = SUITE, *, seed: object = 0, **kwargs: Any) -> Device:
    rng = seeded((name, suite.id, seed))
    return Device(name=name, suite=suite, signer=suite.generate_signature_key(rng), rng=rng, **kwargs)


def make_group(
    names: Sequence[str] = ("alice", "bob", "carol"),
    *,
    suite: CipherSuite = SUITE,
    extensions: Sequence[Extension] = (),
    handshake: WireFormat = WireFormat.PUBLIC_MESSAGE,
    seed: object = 0,
    capabilities: Capabilities | None = None,
) -> list[Device]:
    """The first device creates the group and adds the others with one commit; all joined."""
    devices = [make_device(n, suite, seed=seed, handshake=handshake, capabilities=capabilities) for n in names]
    creator = devices[0]
    creator.group = Group.create(
        suite,
        group_id=b"group-" + repr(seed).encode(),
        signer=creator.signer,
        credential=creator.credential,
        rng=creator.rng,
        now=NOW,
        extensions=extensions,
        capabilities=capabilities,
        config=creator.config,
    )
    if len(devices) > 1:
        bundles = [d.bundle() for d in devices[1:]]
        output = creator.group.commit(
            rng=creator.rng, now=NOW, proposals=[Add(key_package=b.key_package) for b in bundles]
        )
        creator.group.merge_pending_commit()
        assert output.welcome is not None
        for device, bundle in zip(devices[1:], bundles, strict=True):
            device.group = Group.join(output.welcome, bundle, now=NOW, config=device.config)
    return devices


def deliver(message: bytes, receivers: Iterable[Device]) -> list[ProposalMessage | StagedCommit | ApplicationMessage]:
    """Every receiver processes ``message``; commits are merged."""
    results = []
    for device in receivers:
        result = device.group.process(message, now=NOW)
        if isinstance(result, StagedCommit):
            device.group.merge(result)
        results.append(result)
    return results


def commit(committer: Device, others: Iterable[Device], **kwargs: Any) -> CommitOutput:
    """``committer`` commits (pending proposals and ``kwargs``), merges, and the others follow."""
    output = committer.group.commit(rng=committer.rng, now=NOW, **kwargs)
    committer.group.merge_pending_commit()
    deliver(output.commit, others)
    return output


def propose(device: Device, message: bytes, receivers: list[Device]) -> ProposalRef:
    """Deliver ``device``'s proposal; the receivers' ref (equal at every receiver)."""
    refs = {r.ref for r in deliver(message, receivers) if isinstance(r, ProposalMessage)}
    assert len(refs) == 1
    return refs.pop()


def others(devices: Sequence[Device], *excluded: Device) -> list[Device]:
    return [d for d in devices if all(d is not e for e in excluded)]


def assert_agree(devices: Sequence[Device]) -> None:
    """Same epoch authenticator, and each device's application message decrypts at the others."""
    first = devices[0].group
    for device in devices:
        assert device.group.epoch_authenticator == first.epoch_authenticator, device.name
    for sender in devices:
        data = f"hello from {sender.name} at {sender.group.epoch}".encode()
        ciphertext = sender.group.encrypt_application(data, rng=sender.rng)
        for receiver in others(devices, sender):
            message = receiver.group.process(ciphertext, now=NOW)
            assert isinstance(message, ApplicationMessage)
            assert message.data == data
            assert message.sender == sender.group.own_leaf


def assert_works(devices: Sequence[Device], committer: Device) -> None:
    """The group still works: ``committer`` commits what is pending with a path, everyone follows
    and everyone reads everyone."""
    epoch = committer.group.epoch
    commit(committer, others(devices, committer), force_path=True)
    assert all(d.group.epoch == epoch + 1 for d in devices)
    assert_agree(devices)


@dataclass(frozen=True)
class Snapshot:
    """What must not change when a device refuses a message."""

    epoch: int
    epoch_authenticator: bytes
    group_context: bytes
    pending: tuple[ProposalRef, ...]
    has_pending_commit: bool
    state: bytes

    @classmethod
    def of(cls, group: Group) -> Snapshot:
        return cls(
            epoch=group.epoch,
            epoch_authenticator=group.epoch_authenticator,
            group_context=group.group_context.to_bytes(),
            pending=tuple(p.ref for p in group.pending_proposals),
            has_pending_commit=group.has_pending_commit,
            state=group.to_bytes().reveal(),
        )


def assert_refused(
    message: bytes,
    receivers: Iterable[Device],
    error: type[EnsealError],
    rule: str,
    *,
    ratchet_advances: bool = False,
) -> None:
    """Each receiver refuses ``message`` with ``error`` whose text names ``rule``, and its group
    is as it was. ``ratchet_advances``: the message is a PrivateMessage that decrypts before it
    fails, so the receiver deletes the used key ("a member ... MUST delete the key and nonce of
    a message once it decrypted it", section 9.2): everything else must be unchanged."""
    for device in receivers:
        before = Snapshot.of(device.group)
        with pytest.raises(error, match=re.escape(rule)):
            device.group.process(message, now=NOW)
        after = Snapshot.of(device.group)
        if ratchet_advances:
            assert replace(after, state=b"") == replace(before, state=b""), device.name
        else:
            assert after == before, device.name


# -- a misbehaving member's tools ---------------------------------------------------------------------


def frame(
    device: Device,
    content: Commit | Proposal | bytes,
    *,
    epoch: int | None = None,
    group_id: bytes | None = None,
    sender: Sender | None = None,
) -> FramedContent:
    group = device.group
    return FramedContent(
        group_id=group.group_id if group_id is None else group_id,
        epoch=Epoch(group.epoch if epoch is None else epoch),
        sender=sender or SenderMember(leaf_index=group.own_leaf),
        content=content,
    )


def _auth(
    device: Device,
    framed: FramedContent,
    wire_format: WireFormat,
    signer: SignaturePrivateKey | None,
    confirmation_tag: bytes | None,
) -> FramedContentAuthData:
    group = device.group
    signature = mp.sign_content(
        group.suite, signer or device.signer, wire_format, framed, group.group_context.to_bytes()
    )
    if framed.content_type is ContentType.COMMIT and confirmation_tag is None:
        confirmation_tag = bytes(group.suite.hash_size)
    return FramedContentAuthData(signature=signature, confirmation_tag=confirmation_tag)


def seal_public(
    device: Device,
    framed: FramedContent,
    *,
    signer: SignaturePrivateKey | None = None,
    confirmation_tag: bytes | None = None,
    tamper: Callable[[FramedContentAuthData], FramedContentAuthData] | None = None,
) -> bytes:
    """``framed`` signed (by ``device`` unless ``signer``) as a PublicMessage of ``device``'s
    epoch, with a valid membership tag for a member sender. ``tamper`` changes the auth data
    after signing (the membership tag is computed over the tampered data)."""
    group = device.group
    auth = _auth(device, framed, WireFormat.PUBLIC_MESSAGE, signer, confirmation_tag)
    if tamper is not None:
        auth = tamper(auth)
    key = group._state.secrets.membership_key if isinstance(framed.sender, SenderMember) else None
    body = mp.to_public_message(group.suite, framed, auth, group.group_context.to_bytes(), key)
    return serialize(MLSMessage(body=body))


def seal_private(device: Device, framed: FramedContent, *, confirmation_tag: bytes | None = None) -> bytes:
    """``framed`` signed by ``device`` and encrypted with its keys as a PrivateMessage."""
    group = device.group
    auth = _auth(device, framed, WireFormat.PRIVATE_MESSAGE, None, confirmation_tag)
    body = mp.encrypt_private(
        group.suite,
        content=framed,
        auth=auth,
        secret_tree=group._secret_tree,
        sender_data_secret=group._state.secrets.sender_data_secret,
        random_bytes=device.rng,
    )
    return serialize(MLSMessage(body=body))


def seal(device: Device, framed: FramedContent, wire_format: WireFormat) -> bytes:
    if wire_format is WireFormat.PUBLIC_MESSAGE:
        return seal_public(device, framed)
    return seal_private(device, framed)


def public_message(data: bytes) -> PublicMessage:
    body = deserialize(MLSMessage, data).body
    assert isinstance(body, PublicMessage)
    return body


def reseal(
    device: Device,
    data: bytes,
    *,
    signature: bytes | None = None,
    confirmation_tag: bytes | None = None,
    membership_tag: bytes | None = None,
) -> bytes:
    """A PublicMessage of ``device`` with its auth data replaced *after* signing: the membership
    tag is recomputed over the change unless ``membership_tag`` is given."""
    message = public_message(data)
    auth = FramedContentAuthData(
        signature=message.auth.signature if signature is None else signature,
        confirmation_tag=message.auth.confirmation_tag if confirmation_tag is None else confirmation_tag,
    )
    group = device.group
    resealed = mp.to_public_message(
        group.suite, message.content, auth, group.group_context.to_bytes(), group._state.secrets.membership_key
    )
    if membership_tag is not None:
        resealed = replace(resealed, membership_tag=membership_tag)
    return serialize(MLSMessage(body=resealed))


def flip(data: bytes, index: int = -1) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)
