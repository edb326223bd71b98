"""Request models validate strictly (unknown fields, types, sizes, base64url) and serialise
binary fields as unpadded base64url; the signed contents are fixed byte layouts."""

from __future__ import annotations

import pydantic
import pytest

from enseal.wire import ErrorBody, ErrorCode, ErrorDetail, authentication_content, registration_content
from enseal.wire.binary import decode_b64url, encode_b64url
from enseal.wire.devices import RegisterDeviceRequest
from enseal.wire.events import ClientFrame
from enseal.wire.key_packages import MAX_KEY_PACKAGES_PER_UPLOAD, PublishKeyPackagesRequest
from enseal.wire.policy import AssignPolicyRequest, PolicyBody

KEY = encode_b64url(bytes(range(32)))
SIG = encode_b64url(bytes(64))
VALID = {"user": "alice@acme", "enrollment_code": "ABCDE-FGHJK", "cipher_suite": 1, "signature_key": KEY, "proof": SIG}


def test_a_valid_registration_decodes_binary_fields() -> None:
    request = RegisterDeviceRequest.model_validate_json(pydantic.TypeAdapter(dict).dump_json(VALID))
    assert request.signature_key == bytes(range(32))
    assert request.model_dump(mode="json")["signature_key"] == KEY


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"cipher_suite": "1"},
        {"cipher_suite": 0},
        {"signature_key": KEY + "="},
        {"signature_key": "a"},
        {"signature_key": encode_b64url(bytes(31))},
        {"signature_key": encode_b64url(bytes(200))},
        {"proof": "!!!!"},
        {"user": "alice"},
        {"name": "bad\nname"},
        {"supports_e2ee": "yes"},
    ],
)
def test_invalid_registrations_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        RegisterDeviceRequest.model_validate({**VALID, **change})


def test_bounded_lists_and_settings() -> None:
    with pytest.raises(pydantic.ValidationError):
        PublishKeyPackagesRequest.model_validate({"key_packages": []})
    with pytest.raises(pydantic.ValidationError):
        PublishKeyPackagesRequest.model_validate({"key_packages": ["AAAA"] * (MAX_KEY_PACKAGES_PER_UPLOAD + 1)})
    with pytest.raises(pydantic.ValidationError):
        PolicyBody.model_validate({"name": "P", "calls": "required", "meetings": "disabled"})
    with pytest.raises(pydantic.ValidationError):
        AssignPolicyRequest.model_validate({"target": {"kind": "group", "name": "eng"}, "policy": "P", "rank": 0})
    with pytest.raises(pydantic.ValidationError):
        ClientFrame.model_validate({"type": "subscribe"})


def test_b64url_is_unpadded_and_strict() -> None:
    for data in (b"", b"a", b"ab", b"abc", bytes(range(256))):
        assert decode_b64url(encode_b64url(data)) == data
        assert "=" not in encode_b64url(data)
    for bad in ("A", "AB=C", "AB+/", "ÄBCD"):
        with pytest.raises(ValueError):
            decode_b64url(bad)


def test_signed_contents_are_length_prefixed() -> None:
    content = registration_content(user="alice@acme", cipher_suite=1, signature_key=b"k" * 32)
    assert content == b"\x0aalice@acme" + b"\x00\x01" + b"\x20" + b"k" * 32
    auth = authentication_content(server_id="s", device_id="d", challenge_id="c", nonce=b"n")
    assert auth == b"\x01s\x01d\x01c\x01n"


def test_error_body_shape() -> None:
    body = ErrorBody(error=ErrorDetail(code=ErrorCode.NOT_FOUND, reason="no such user", detail="bob@acme"))
    assert body.model_dump(mode="json", exclude_none=True) == {
        "error": {"code": "not_found", "reason": "no such user", "detail": "bob@acme"}
    }
