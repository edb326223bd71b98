"""What the key directory accepts (RFC 9420 section 10.1, with the server as Authentication
Service, section 5.3.1; decision record 0507).

A device publishes each KeyPackage as an MLSMessage (``version = mls10``, ``wire_format =
mls_key_package``). It is accepted only if it passes KeyPackage validation and:

* its leaf's credential is a BasicCredential whose identity is the publishing device's
  (``<user>@<tenant>/<device_id>``) and its leaf signature key is the key registered for that
  device, so nobody can publish a package in another device's name;
* its lifetime is at most 12 weeks (ARCHITECTURE.md section 2) and covers now;
* its capabilities list mls10 and its own cipher suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from enseal.codec import Reader
from enseal.errors import CryptoError, DecodeError, LocalProtocolError, ValidationError
from enseal.mls.code_points import ProtocolVersion, WireFormat
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.key_package import KeyPackage, validate_key_package
from enseal.mls.leaf_node import KEY_PACKAGE_LIFETIME
from enseal.server.errors import InvalidKeyPackage
from enseal.storage import DeviceRecord, KeyPackageRecord
from enseal.wire import UserAddress, device_identity


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptedKeyPackage:
    ref: bytes
    cipher_suite: int
    not_after: datetime
    message: bytes
    """The MLSMessage as published: handed out byte for byte."""

    def record(self, *, device_id: str, last_resort: bool) -> KeyPackageRecord:
        return KeyPackageRecord(
            device_id=device_id,
            cipher_suite=self.cipher_suite,
            ref=self.ref,
            data=self.message,
            not_after=self.not_after,
            last_resort=last_resort,
        )


def _decode(message: bytes) -> KeyPackage:
    reader = Reader(message)
    version = reader.u16()
    wire_format = reader.u16()
    if version != ProtocolVersion.MLS10 or wire_format != WireFormat.KEY_PACKAGE:
        raise DecodeError(
            "RFC 9420 section 6: expected an MLSMessage with version mls10 and wire_format mls_key_package",
            f"version {version:#06x}, wire_format {wire_format:#06x}",
        )
    key_package = KeyPackage.decode(reader)
    reader.finish()
    return key_package


def accept_key_package(message: bytes, *, device: DeviceRecord, now: datetime) -> AcceptedKeyPackage:
    """Validate a published KeyPackage for ``device``; :class:`InvalidKeyPackage` names the rule broken."""
    expected_identity = device_identity(
        UserAddress(name=device.user.name, tenant=device.user.tenant_id), device.device_id
    )

    def authenticate(credential: Credential, signature_key: bytes) -> None:
        # RFC 9420 section 5.3.1: the Authentication Service checks that the credential's
        # identity is legitimately bound to signature_key. Here: the binding made at registration.
        if not isinstance(credential, BasicCredential):
            raise ValidationError("Enseal devices use basic credentials")
        if credential.identity != expected_identity:
            raise ValidationError(
                "the credential identity is not the publishing device's", credential.identity[:200].hex()
            )
        if signature_key != device.signature_key:
            raise ValidationError("the leaf signature key is not the device's registered identity key")

    try:
        key_package = _decode(message)
        validated = validate_key_package(
            key_package,
            key_package.cipher_suite,
            now=int(now.timestamp()),
            validate_credential=authenticate,
            max_lifetime=KEY_PACKAGE_LIFETIME,
        )
        capabilities = key_package.leaf_node.capabilities
        if ProtocolVersion.MLS10 not in capabilities.versions:
            raise ValidationError("the leaf's capabilities do not list mls10")
        if key_package.cipher_suite not in capabilities.cipher_suites:
            raise ValidationError("the leaf's capabilities do not list the KeyPackage's cipher suite")
    except (DecodeError, ValidationError, CryptoError, LocalProtocolError) as exc:
        reason = exc.reason if isinstance(exc, DecodeError | ValidationError) else str(exc)
        detail = exc.detail if isinstance(exc, DecodeError | ValidationError) else None
        raise InvalidKeyPackage(reason, detail) from exc
    lifetime = key_package.leaf_node.lifetime
    assert lifetime is not None  # validate_key_package required the key_package source
    return AcceptedKeyPackage(
        ref=bytes(validated.ref),
        cipher_suite=key_package.cipher_suite,
        not_after=datetime.fromtimestamp(lifetime.not_after, tz=UTC),
        message=message,
    )
