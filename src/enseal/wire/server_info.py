"""``GET /v1/server/info``: who the server is and what it speaks (docs/protocol.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from enseal.wire.binary import CredentialB64, PublicKeyB64
from enseal.wire.common import Response


class ExternalSenderBody(Response):
    """The server as an MLS external sender (RFC 9420 section 12.1.8.1): its signature key and
    BasicCredential, to be listed in a group's external_senders extension."""

    signature_scheme: Literal["ed25519"]
    signature_key: PublicKeyB64
    credential_type: Literal["basic"]
    identity: str
    credential: CredentialB64 = Field(description="the TLS-encoded Credential struct")


class ServerInfo(Response):
    server_id: str = Field(description="stable random id; bound into every device-authentication signature")
    version: str
    api_versions: list[str]
    cipher_suites: list[int]
    external_sender: ExternalSenderBody
    access_token_lifetime_seconds: int


class Health(Response):
    status: Literal["ok"]
