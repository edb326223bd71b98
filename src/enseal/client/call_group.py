"""The MLS group of an end-to-end encrypted 1:1 call (decision record 0903), sans-I/O.

* The **caller** creates the group when a callee device accepts (so a call nobody answers never
  has keys, and only the answering device is in it): a one-member group of its own device, one
  commit adding the KeyPackage that came in ``call.accept``, merged at once (nobody else can
  commit in a two-device call group), and the Welcome sent in ``call.welcome``.
* The **callee** joins from that Welcome with the fresh KeyPackage it put in its accept.
* Both sides then hold the same epoch (1): the same ``epoch_authenticator``, hence the same
  20-digit security code (docs/security-codes.md), and the same SFrame base key
  (``MLS-Exporter("SFrame 1.0 Base Key", "", Nk)``, RFC 9605 section 5.2) with their own leaf
  index in the KID.

Each side checks who is in the group before any key is used: exactly two leaves, its own device
and one device of the peer user the server named, each credential bound to its pinned
signature key (:class:`~enseal.client.device_directory.DeviceDirectory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from enseal.client.device_directory import DeviceDirectory, FirstSight
from enseal.client.errors import UntrustedDevice
from enseal.crypto import CipherSuite, RandomSource, SignaturePrivateKey
from enseal.mls.credential import BasicCredential
from enseal.mls.framing import MLSMessage
from enseal.mls.group import Group
from enseal.mls.group_config import GroupConfig
from enseal.mls.key_package import KeyPackage
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.proposals import Add
from enseal.mls.wire import deserialize
from enseal.sframe import MlsSFrameKeys
from enseal.verification import SecurityCode, call_code_qr_payload, call_security_code

CALL_GROUP_ID_PREFIX: Final = b"enseal-call:"
"""A call group's id is this prefix and the call id, so it can never be a conversation's."""


def call_group_id(call_id: str) -> bytes:
    return CALL_GROUP_ID_PREFIX + call_id.encode("ascii")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPeer:
    user: str
    device_id: str


class CallGroup:
    """One side's MLS group of a call."""

    def __init__(self, group: Group, *, peer: CallPeer) -> None:
        self.group = group
        self.peer = peer

    @staticmethod
    def _check_members(
        group: Group, directory: DeviceDirectory, *, own_identity: bytes, peer_user: str, first_sight: FirstSight
    ) -> CallPeer:
        members = group.members()
        if len(members) != 2:
            raise UntrustedDevice("a 1:1 call group must have exactly two devices", f"{len(members)} members")
        peer: CallPeer | None = None
        for member in members:
            credential = member.credential
            if not isinstance(credential, BasicCredential):
                raise UntrustedDevice("a call member without a basic credential")
            if member.leaf_index == group.own_leaf:
                if credential.identity != own_identity:
                    raise UntrustedDevice("this device's leaf in the call group carries another identity")
                continue
            user, device_id = directory.check(credential, member.signature_key, first_sight=first_sight)
            if user != peer_user:
                raise UntrustedDevice("the other device of the call belongs to another user", f"{user} != {peer_user}")
            peer = CallPeer(user=user, device_id=device_id)
        if peer is None:
            raise UntrustedDevice("the call group has no device of the peer")
        return peer

    @classmethod
    def create(
        cls,
        *,
        call_id: str,
        suite: CipherSuite,
        signer: SignaturePrivateKey,
        own_identity: bytes,
        key_package: bytes,
        peer_user: str,
        directory: DeviceDirectory,
        first_sight: FirstSight,
        now: int,
        rng: RandomSource,
    ) -> tuple[CallGroup, bytes]:
        """The caller's side: the group with the answering device's KeyPackage, and the Welcome.
        ``first_sight`` says which device not pinned yet may be (the one the server named as
        the sender of the accept)."""
        body = deserialize(MLSMessage, key_package).body
        if not isinstance(body, KeyPackage):
            raise UntrustedDevice("call.accept carries something else than a KeyPackage")
        config = GroupConfig(validate_credential=directory.validator(first_sight))
        group = Group.create(
            suite,
            group_id=call_group_id(call_id),
            signer=signer,
            credential=BasicCredential(identity=own_identity),
            rng=rng,
            now=now,
            config=config,
        )
        output = group.commit(rng=rng, now=now, proposals=[Add(key_package=body)])
        group.merge_pending_commit()
        if output.welcome is None:
            raise UntrustedDevice("the call group commit added nobody")
        peer = cls._check_members(
            group, directory, own_identity=own_identity, peer_user=peer_user, first_sight=first_sight
        )
        return cls(group, peer=peer), output.welcome

    @classmethod
    def join(
        cls,
        *,
        call_id: str,
        welcome: bytes,
        bundle: KeyPackageBundle,
        own_identity: bytes,
        peer_user: str,
        directory: DeviceDirectory,
        first_sight: FirstSight,
        now: int,
    ) -> CallGroup:
        """The callee's side: join from the caller's Welcome (``first_sight``: the calling
        device the server named may be pinned if it is new)."""
        group = Group.join(
            welcome, bundle, now=now, config=GroupConfig(validate_credential=directory.validator(first_sight))
        )
        if group.group_id != call_group_id(call_id):
            raise UntrustedDevice("the Welcome is for another group than this call's")
        peer = cls._check_members(
            group, directory, own_identity=own_identity, peer_user=peer_user, first_sight=first_sight
        )
        return cls(group, peer=peer)

    @property
    def security_code(self) -> SecurityCode:
        return call_security_code(self.group.epoch_authenticator)

    @property
    def security_code_qr(self) -> bytes:
        return call_code_qr_payload(self.group.epoch_authenticator, epoch=self.group.epoch)

    def sframe_keys(self) -> MlsSFrameKeys:
        """The SFrame keys of the current epoch, KIDs with this device's leaf index."""
        return MlsSFrameKeys.from_exporter(
            self.group.export_secret, epoch=self.group.epoch, own_leaf_index=self.group.own_leaf
        )
