"""KeyPackages (RFC 9420 §10) and KeyPackage validation (§10.1)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given

from enseal.crypto import UnsupportedCipherSuite, cipher_suite
from enseal.errors import LocalProtocolError, SignatureError, ValidationError
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.key_package import KeyPackage, ValidatedKeyPackage, validate_key_package
from enseal.mls.leaf_node import LeafNode
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId, LeafIndex

from .members import GROUP_ID, NOW, SUITE, accept_credentials, make_member, seeded
from .struct_strategies import key_packages


@given(key_packages)
def test_round_trip(key_package: KeyPackage) -> None:
    assert deserialize(KeyPackage, serialize(key_package)) == key_package


def _validate(key_package: KeyPackage, suite: int = 1) -> ValidatedKeyPackage:
    return validate_key_package(key_package, suite, now=NOW, validate_credential=accept_credentials)


def test_valid_key_package() -> None:
    member = make_member("a", seeded(3))
    kp = member.key_package()
    validated = _validate(kp)
    assert validated.key_package == kp
    assert validated.ref == SUITE.ref_hash(b"MLS 1.0 KeyPackage Reference", serialize(kp))
    assert validated.ref == kp.ref(SUITE)
    assert validate_key_package(kp, SUITE, now=NOW, validate_credential=accept_credentials) == validated


def test_validated_key_package_only_from_validation() -> None:
    kp = make_member("a", seeded(3)).key_package()
    with pytest.raises(LocalProtocolError, match="only validate_key_package"):
        ValidatedKeyPackage(key_package=kp, ref=kp.ref(SUITE), _token=object())


def test_cipher_suite_must_match_the_group() -> None:
    kp = make_member("a", seeded(3)).key_package()
    with pytest.raises(ValidationError, match=r"§10\.1: KeyPackage cipher suite differs"):
        _validate(kp, suite=2)
    unsupported = replace(kp, cipher_suite=CipherSuiteId(0x0A0A))
    with pytest.raises(UnsupportedCipherSuite):
        _validate(unsupported, suite=0x0A0A)


def test_signature_must_verify() -> None:
    member = make_member("a", seeded(3))
    kp = member.key_package()
    with pytest.raises(SignatureError, match=r"§10\.1: KeyPackage signature invalid"):
        _validate(replace(kp, signature=kp.signature[::-1]))
    with pytest.raises(SignatureError, match=r"§10\.1: KeyPackage signature invalid"):
        _validate(replace(kp, init_key=member.leaf_key.public_key[::-1]))


def test_init_key_must_differ_from_encryption_key() -> None:
    member = make_member("a", seeded(3))
    kp = KeyPackage.sign(SUITE, member.signing_key, init_key=member.leaf.encryption_key, leaf_node=member.leaf)
    with pytest.raises(ValidationError, match=r"§10\.1: KeyPackage init_key equals leaf encryption_key"):
        _validate(kp)


def test_init_key_must_be_a_key_of_the_suite() -> None:
    member = make_member("a", seeded(3))
    kp = KeyPackage.sign(SUITE, member.signing_key, init_key=b"\x00" * 5, leaf_node=member.leaf)
    with pytest.raises(ValidationError, match=r"§10: KeyPackage init_key is not a key"):
        _validate(kp)


def test_leaf_must_have_the_key_package_source() -> None:
    member = make_member("a", seeded(3))
    leaf = LeafNode.sign(SUITE, member.signing_key, encryption_key=member.leaf.encryption_key,
                         credential=member.leaf.credential, capabilities=member.leaf.capabilities,
                         leaf_node_source=LeafNodeSource.UPDATE, group_id=GROUP_ID, leaf_index=LeafIndex(0))
    kp = KeyPackage.sign(SUITE, member.signing_key, init_key=member.init_key.public_key, leaf_node=leaf)
    with pytest.raises(ValidationError, match=r"§7\.3: leaf_node_source must be key_package"):
        _validate(kp)


def test_expired_key_package_rejected() -> None:
    kp = make_member("a", seeded(3)).key_package()
    with pytest.raises(ValidationError, match=r"§7\.3: current time not within"):
        validate_key_package(kp, 1, now=NOW + 365 * 24 * 3600, validate_credential=accept_credentials)


def test_signing_key_must_be_the_leafs() -> None:
    member = make_member("a", seeded(3))
    other = cipher_suite(1).generate_signature_key(seeded(4))
    with pytest.raises(LocalProtocolError, match="leaf node's signature key"):
        KeyPackage.sign(SUITE, other, init_key=member.init_key.public_key, leaf_node=member.leaf)
