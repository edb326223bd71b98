"""Leaf nodes (RFC 9420 §7.2) and the leaf-only checks of leaf node validation (§7.3)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given

from enseal.codec import Writer
from enseal.errors import DecodeError, LocalProtocolError, SignatureError, ValidationError
from enseal.mls.code_points import LeafNodeSource
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.extensions import Extension
from enseal.mls.leaf_node import (
    MAX_LEAF_NODE_LIFETIME,
    Capabilities,
    LeafNode,
    Lifetime,
    validate_leaf_node,
)
from enseal.mls.wire import deserialize, serialize
from enseal.types import LeafIndex

from .members import CAPABILITIES, GROUP_ID, NOW, SUITE, accept_credentials, make_member, seeded
from .struct_strategies import leaf_nodes


@given(leaf_nodes())
def test_round_trip(leaf: LeafNode) -> None:
    data = serialize(leaf)
    again = deserialize(LeafNode, data)
    assert again == leaf
    assert serialize(again) == data


def test_source_dependent_fields_are_enforced() -> None:
    member = make_member("a", seeded(1))
    with pytest.raises(LocalProtocolError, match="lifetime"):
        replace(member.leaf, lifetime=None)
    with pytest.raises(LocalProtocolError, match="parent_hash"):
        replace(member.leaf, parent_hash=b"")
    with pytest.raises(LocalProtocolError, match="lifetime"):
        replace(member.leaf, leaf_node_source=LeafNodeSource.UPDATE)


def _signed(source: LeafNodeSource, **fields: object) -> tuple[LeafNode, object]:
    rng = seeded(2)
    key = SUITE.generate_signature_key(rng)
    args: dict[str, object] = {
        "encryption_key": SUITE.generate_hpke_key(rng).public_key,
        "credential": BasicCredential(identity=b"a"),
        "capabilities": CAPABILITIES,
        "leaf_node_source": source,
    }
    if source is LeafNodeSource.KEY_PACKAGE:
        args["lifetime"] = Lifetime(not_before=NOW - 10, not_after=NOW + 10)
    if source is LeafNodeSource.COMMIT:
        args["parent_hash"] = b"ph"
    if source is not LeafNodeSource.KEY_PACKAGE:
        args["group_id"] = GROUP_ID
        args["leaf_index"] = LeafIndex(5)
    args.update(fields)
    return LeafNode.sign(SUITE, key, **args), key


@pytest.mark.parametrize("source", list(LeafNodeSource))
def test_signature_covers_group_and_index_for_update_and_commit(source: LeafNodeSource) -> None:
    leaf, _ = _signed(source)
    leaf.verify_signature(SUITE, group_id=GROUP_ID, leaf_index=LeafIndex(5))
    if source is LeafNodeSource.KEY_PACKAGE:
        # no group context in a KeyPackage's leaf: any context verifies
        leaf.verify_signature(SUITE, group_id=None, leaf_index=None)
        return
    with pytest.raises(SignatureError, match=r"§7\.3: leaf node signature invalid"):
        leaf.verify_signature(SUITE, group_id=b"other", leaf_index=LeafIndex(5))
    with pytest.raises(SignatureError, match=r"§7\.3"):
        leaf.verify_signature(SUITE, group_id=GROUP_ID, leaf_index=LeafIndex(6))
    with pytest.raises(LocalProtocolError, match="needs group_id"):
        leaf.verify_signature(SUITE, group_id=None, leaf_index=None)


def _validate(leaf: LeafNode, *, source: LeafNodeSource | None = None, now: int | None = NOW,
              validator: object = accept_credentials) -> None:
    validate_leaf_node(leaf, SUITE, source=source, group_id=GROUP_ID, leaf_index=LeafIndex(5), now=now,
                       validate_credential=validator)


def test_valid_leaf_passes() -> None:
    for source in LeafNodeSource:
        leaf, _ = _signed(source)
        _validate(leaf, source=source)


def test_tampered_leaf_signature_rejected() -> None:
    leaf, _ = _signed(LeafNodeSource.UPDATE)
    forged = replace(leaf, credential=BasicCredential(identity=b"mallory"))
    with pytest.raises(SignatureError, match=r"§7\.3: leaf node signature invalid"):
        _validate(forged)


def test_wrong_source_rejected() -> None:
    leaf, _ = _signed(LeafNodeSource.KEY_PACKAGE)
    with pytest.raises(ValidationError, match=r"§7\.3: leaf_node_source must be update"):
        _validate(leaf, source=LeafNodeSource.UPDATE)


def test_credential_type_must_be_in_capabilities() -> None:
    leaf, _ = _signed(LeafNodeSource.UPDATE, capabilities=replace(CAPABILITIES, credentials=(2,)))
    with pytest.raises(ValidationError, match=r"§7\.2: leaf credential type not in its capabilities"):
        _validate(leaf)


def test_non_default_extensions_must_be_in_capabilities() -> None:
    ext = Extension(extension_type=0x0A0A, extension_data=b"")
    leaf, _ = _signed(LeafNodeSource.UPDATE, extensions=(ext,))
    with pytest.raises(ValidationError, match=r"§7\.3: leaf extension not listed in its capabilities"):
        _validate(leaf)
    listed, _ = _signed(LeafNodeSource.UPDATE, extensions=(ext,),
                        capabilities=replace(CAPABILITIES, extensions=(0x0A0A,)))
    _validate(listed)
    # application_id is a default extension type: it is never listed
    app_id, _ = _signed(LeafNodeSource.UPDATE, extensions=(Extension(extension_type=1, extension_data=b"\x00"),))
    _validate(app_id)


@pytest.mark.parametrize(
    ("lifetime", "rule"),
    [
        (Lifetime(not_before=NOW + 1, not_after=NOW + 100), "not within the leaf node lifetime"),
        (Lifetime(not_before=NOW - 100, not_after=NOW - 1), "not within the leaf node lifetime"),
        (Lifetime(not_before=NOW - 10, not_after=NOW - 10 + MAX_LEAF_NODE_LIFETIME + 1), "longer than the maximum"),
    ],
)
def test_lifetime_checked_when_now_is_given(lifetime: Lifetime, rule: str) -> None:
    leaf, _ = _signed(LeafNodeSource.KEY_PACKAGE, lifetime=lifetime)
    with pytest.raises(ValidationError, match=rule):
        _validate(leaf)
    _validate(leaf, now=None)  # received trees may carry expired leaves


def test_keys_must_be_keys_of_the_suite() -> None:
    leaf, _ = _signed(LeafNodeSource.UPDATE)
    with pytest.raises(ValidationError, match=r"§10: leaf encryption_key is not a key of the cipher suite"):
        _validate(replace(leaf, encryption_key=b"\x01" * 31))
    with pytest.raises(ValidationError, match=r"§10: leaf signature_key is not a key of the cipher suite"):
        _validate(replace(leaf, signature_key=b"\x01" * 33))


def test_credential_validator_is_consulted() -> None:
    leaf, _ = _signed(LeafNodeSource.UPDATE)
    seen: list[tuple[Credential, bytes]] = []

    def reject(credential: Credential, signature_key: bytes) -> None:
        seen.append((credential, signature_key))
        raise ValidationError("RFC 9420 §5.3.1: credential not accepted by the AS")

    with pytest.raises(ValidationError, match=r"§5\.3\.1"):
        _validate(leaf, validator=reject)
    assert seen == [(leaf.credential, leaf.signature_key)]


def test_capabilities_keep_grease_values() -> None:
    caps = Capabilities(versions=(1, 0x1A1A), cipher_suites=(1, 0x2A2A), extensions=(0x3A3A,),
                        proposals=(0x4A4A,), credentials=(1, 0x5A5A))
    assert deserialize(Capabilities, serialize(caps)) == caps


@pytest.mark.parametrize("source", [0, 4])
def test_unknown_leaf_node_source_rejected(source: int) -> None:
    leaf = make_member("a", seeded(1)).leaf
    w = Writer()
    w.opaque(leaf.encryption_key)
    w.opaque(leaf.signature_key)
    leaf.credential.encode(w)
    leaf.capabilities.encode(w)
    data = serialize(leaf)
    assert data[len(w)] == LeafNodeSource.KEY_PACKAGE
    with pytest.raises(DecodeError, match="unknown LeafNodeSource"):
        deserialize(LeafNode, data[: len(w)] + bytes((source,)) + data[len(w) + 1 :])
