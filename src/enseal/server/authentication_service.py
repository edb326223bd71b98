"""The server as the MLS Authentication Service for its groups (RFC 9420 section 5.3.1; decision
record 0501): a leaf's credential must be a BasicCredential ``user@tenant/device_id`` naming a
registered, unrevoked device whose identity key is the leaf's signature key.

``PublicGroupView`` calls ``validate_credential`` synchronously while it verifies a message, so
:class:`DeviceDirectory` loads every device the message (or tree) names before processing starts
(:func:`credentials_of_message`); a credential it did not load is refused, never looked up late.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from enseal.errors import ValidationError
from enseal.mls.commit import Commit
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.framing import PublicMessage
from enseal.mls.proposals import Add, Proposal, Update
from enseal.storage import DeviceRecord, Transaction
from enseal.wire import InvalidIdentifier, UserAddress, device_identity, parse_device_identity


def _credentials_of_proposal(proposal: Proposal) -> Iterator[Credential]:
    match proposal:
        case Add(key_package=key_package):
            yield key_package.leaf_node.credential
        case Update(leaf_node=leaf_node):
            yield leaf_node.credential


def credentials_of_message(message: PublicMessage) -> list[Credential]:
    """Credentials of the leaf nodes a handshake introduces (Adds, Updates, an UpdatePath)."""
    content = message.content.content
    found: list[Credential] = []
    if isinstance(content, Proposal):
        found.extend(_credentials_of_proposal(content))
    elif isinstance(content, Commit):
        for item in content.proposals:
            if isinstance(item, Proposal):
                found.extend(_credentials_of_proposal(item))
        if content.path is not None:
            found.append(content.path.leaf_node.credential)
    return found


def device_id_of(credential: Credential) -> str | None:
    """The device id a credential names, or None if it names none."""
    if not isinstance(credential, BasicCredential):
        return None
    try:
        return parse_device_identity(credential.identity)[1]
    except InvalidIdentifier:
        return None


def identity_of(device: DeviceRecord) -> str:
    """The credential identity of a device, ``user@tenant/device_id``."""
    address = UserAddress(name=device.user.name, tenant=device.user.tenant_id)
    return device_identity(address, device.device_id).decode()


class DeviceDirectory:
    """The devices one MLS operation may meet, and the AS check over them."""

    def __init__(self, devices: Mapping[str, DeviceRecord]) -> None:
        self._devices = dict(devices)

    @classmethod
    async def load(cls, tx: Transaction, credentials: Iterable[Credential]) -> DeviceDirectory:
        ids = {device_id for credential in credentials if (device_id := device_id_of(credential)) is not None}
        return cls(await tx.devices.get_many(ids))

    def device(self, credential: Credential) -> DeviceRecord:
        """The registered, unrevoked device a credential names; ValidationError otherwise."""
        if not isinstance(credential, BasicCredential):
            raise ValidationError("Enseal: leaves carry BasicCredentials naming a device")
        try:
            address, device_id = parse_device_identity(credential.identity)
        except InvalidIdentifier as exc:
            raise ValidationError(
                "Enseal: a credential identity is user@tenant/device_id", credential.identity[:200].hex()
            ) from exc
        device = self._devices.get(device_id)
        if device is None or device.user.name != address.name or device.user.tenant_id != address.tenant:
            raise ValidationError("RFC 9420 §5.3.1: the credential names no registered device", str(address))
        if not device.active:
            raise ValidationError("RFC 9420 §5.3.1: the credential names a revoked device", identity_of(device))
        return device

    def validate_credential(self, credential: Credential, signature_key: bytes) -> None:
        """RFC 9420 section 5.3.1: "the Authentication Service ... verifies that the signature
        key is bound to the identity". Here: the identity key registered for the device."""
        device = self.device(credential)
        if signature_key != device.signature_key:
            raise ValidationError(
                "RFC 9420 §5.3.1: the leaf's signature key is not the device's registered identity key",
                identity_of(device),
            )
