"""What a device signs to prove it holds its identity key (decision record 0504).

Both signatures use the MLS SignWithLabel construction (RFC 9420 section 5.1.2) of the device's
cipher suite, with labels of their own that no MLS structure uses, so a signature made for one
purpose is never valid for another:

* registration: ``SignWithLabel(key, "Enseal DeviceRegistration v1", RegistrationContent)``
* sign-in:      ``SignWithLabel(key, "Enseal DeviceAuthentication v1", AuthenticationContent)``

The contents are TLS-encoded structs (RFC 9420 variable-length vectors)::

    struct { opaque user<V>; uint16 cipher_suite; opaque signature_key<V>; } RegistrationContent;
    struct { opaque server_id<V>; opaque device_id<V>; opaque challenge_id<V>; opaque nonce<V>; }
        AuthenticationContent;

``server_id`` (from ``GET /v1/server/info``) stops a challenge answered for one server being
relayed to another.
"""

from __future__ import annotations

from typing import Final

from enseal.codec import Writer

REGISTRATION_LABEL: Final = b"Enseal DeviceRegistration v1"
AUTHENTICATION_LABEL: Final = b"Enseal DeviceAuthentication v1"


def registration_content(*, user: str, cipher_suite: int, signature_key: bytes) -> bytes:
    writer = Writer()
    writer.opaque(user.encode("utf-8"))
    writer.u16(cipher_suite)
    writer.opaque(signature_key)
    return writer.getvalue()


def authentication_content(*, server_id: str, device_id: str, challenge_id: str, nonce: bytes) -> bytes:
    writer = Writer()
    writer.opaque(server_id.encode("ascii"))
    writer.opaque(device_id.encode("ascii"))
    writer.opaque(challenge_id.encode("ascii"))
    writer.opaque(nonce)
    return writer.getvalue()
