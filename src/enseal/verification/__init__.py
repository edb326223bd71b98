"""Security codes and safety numbers that people compare to verify end-to-end encryption.

* :func:`call_security_code` -- 20 digits for a call or meeting from the MLS epoch authenticator,
  the same on every member's screen at the same epoch; :func:`call_code_qr_payload` /
  :func:`verify_call_code_qr` for scanning it.
* :func:`safety_number` -- 60 digits for a pair of users from their ids and identity keys, the same
  for both; :func:`safety_number_qr_payload` / :func:`verify_safety_number_qr`.

The exact derivations are in docs/security-codes.md. Verification raises, never returns a bool.
"""

from enseal.verification.call_code import call_code_qr_payload, call_security_code, verify_call_code_qr
from enseal.verification.errors import (
    MalformedVerificationPayload,
    SecurityCodeEpochMismatch,
    SecurityCodeMismatch,
)
from enseal.verification.fingerprint import FINGERPRINT_ITERATIONS
from enseal.verification.safety_number import (
    UserIdentity,
    safety_number,
    safety_number_qr_payload,
    verify_safety_number_qr,
)
from enseal.verification.security_code import SecurityCode

__all__ = [
    "FINGERPRINT_ITERATIONS",
    "MalformedVerificationPayload",
    "SecurityCode",
    "SecurityCodeEpochMismatch",
    "SecurityCodeMismatch",
    "UserIdentity",
    "call_code_qr_payload",
    "call_security_code",
    "safety_number",
    "safety_number_qr_payload",
    "verify_call_code_qr",
    "verify_safety_number_qr",
]
