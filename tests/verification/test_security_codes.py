"""Security codes and safety numbers: the documented construction, stability, binding, QR payloads.

``documented_*`` below re-derive the values with hashlib straight from docs/security-codes.md, so the
doc and the code cannot drift apart.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from enseal.errors import LocalProtocolError
from enseal.verification import (
    FINGERPRINT_ITERATIONS,
    MalformedVerificationPayload,
    SecurityCode,
    SecurityCodeEpochMismatch,
    SecurityCodeMismatch,
    UserIdentity,
    call_code_qr_payload,
    call_security_code,
    safety_number,
    safety_number_qr_payload,
    verify_call_code_qr,
    verify_safety_number_qr,
)


def documented_fingerprint(label: bytes, fields: list[bytes], remix: bytes) -> bytes:
    h = hashlib.sha512(label + b"".join(len(f).to_bytes(2, "big") + f for f in fields)).digest()
    for _ in range(5200):
        h = hashlib.sha512(h + remix).digest()
    return h


def documented_digits(h: bytes, groups: int, width: int) -> str:
    return "".join(str(int.from_bytes(h[5 * i : 5 * i + 5], "big") % 10**width).zfill(width) for i in range(groups))


AUTH = bytes.fromhex("5f" * 32)
ALICE = UserIdentity(user_id="alice@example.org", identity_key=bytes(range(32)))
BOB = UserIdentity(user_id="bob@example.org", identity_key=bytes(range(32, 64)))


def test_call_code_follows_the_documented_construction() -> None:
    assert FINGERPRINT_ITERATIONS == 5200
    h = documented_fingerprint(b"Enseal 1.0 call security code", [AUTH], AUTH)
    code = call_security_code(AUTH)
    assert code.digits == documented_digits(h, 5, 4)
    assert len(code.digits) == 20 and code.digits.isdigit()
    assert code.groups == tuple(code.digits[i : i + 4] for i in range(0, 20, 4))
    assert str(code) == " ".join(code.groups)
    assert call_code_qr_payload(AUTH, 9) == b"\x01\x01" + (9).to_bytes(8, "big") + h[:32]


def test_call_code_is_per_epoch_authenticator() -> None:
    other = bytes.fromhex("5f" * 31 + "5e")
    assert call_security_code(AUTH) == call_security_code(bytes(AUTH))  # same epoch, every member
    assert call_security_code(AUTH).digits != call_security_code(other).digits
    with pytest.raises(LocalProtocolError):
        call_security_code(b"")


def test_call_code_qr_verification() -> None:
    payload = call_code_qr_payload(AUTH, 12)
    verify_call_code_qr(payload, epoch_authenticator=AUTH, epoch=12)
    with pytest.raises(SecurityCodeEpochMismatch) as info:
        verify_call_code_qr(payload, epoch_authenticator=os.urandom(32), epoch=13)
    assert (info.value.scanned_epoch, info.value.local_epoch) == (12, 13)
    with pytest.raises(SecurityCodeMismatch):
        verify_call_code_qr(payload, epoch_authenticator=os.urandom(32), epoch=12)
    for bad in (payload[:-1], b"\x02" + payload[1:], payload[:1] + b"\x02" + payload[2:], b""):
        with pytest.raises(MalformedVerificationPayload):
            verify_call_code_qr(bad, epoch_authenticator=AUTH, epoch=12)


def test_safety_number_follows_the_documented_construction() -> None:
    halves = sorted(
        (
            documented_digits(h, 6, 5),
            h[:32],
        )
        for h in (
            documented_fingerprint(b"Enseal 1.0 safety number", [u.identity_key, u.user_id.encode()], u.identity_key)
            for u in (ALICE, BOB)
        )
    )
    number = safety_number(ALICE, BOB)
    assert number == SecurityCode(digits=halves[0][0] + halves[1][0], group_size=5)
    assert len(number.digits) == 60 and len(number.groups) == 12
    assert safety_number_qr_payload(ALICE, BOB) == b"\x01\x02" + halves[0][1] + halves[1][1]


def test_safety_number_is_order_independent_and_binds_ids_and_keys() -> None:
    number = safety_number(ALICE, BOB)
    assert safety_number(BOB, ALICE) == number
    assert safety_number_qr_payload(BOB, ALICE) == safety_number_qr_payload(ALICE, BOB)
    new_key = UserIdentity(user_id=BOB.user_id, identity_key=os.urandom(32))
    other_id = UserIdentity(user_id="mallory@example.org", identity_key=BOB.identity_key)
    for changed in (new_key, other_id):
        assert safety_number(ALICE, changed).digits != number.digits
    with pytest.raises(LocalProtocolError):
        safety_number(ALICE, UserIdentity(user_id="", identity_key=b"k"))


def test_safety_number_qr_verification() -> None:
    payload = safety_number_qr_payload(ALICE, BOB)
    verify_safety_number_qr(payload, BOB, ALICE)
    impostor = UserIdentity(user_id=BOB.user_id, identity_key=os.urandom(32))
    with pytest.raises(SecurityCodeMismatch):
        verify_safety_number_qr(payload, ALICE, impostor)
    with pytest.raises(MalformedVerificationPayload):
        verify_safety_number_qr(payload[:-1], ALICE, BOB)
    with pytest.raises(MalformedVerificationPayload):
        verify_safety_number_qr(call_code_qr_payload(AUTH, 1), ALICE, BOB)
