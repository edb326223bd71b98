"""``GET /v1/server/info`` and ``GET /v1/health`` (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter

from enseal import __version__
from enseal.crypto import SUPPORTED_SUITES
from enseal.server.principals import State
from enseal.wire import API_VERSION
from enseal.wire.server_info import ExternalSenderBody, Health, ServerInfo

router = APIRouter(prefix="/v1", tags=["server"])


@router.get("/server/info", response_model=ServerInfo)
async def server_info(state: State) -> ServerInfo:
    sender = state.external_sender
    return ServerInfo(
        server_id=state.server_id,
        version=__version__,
        api_versions=[API_VERSION],
        cipher_suites=list(SUPPORTED_SUITES),
        external_sender=ExternalSenderBody(
            signature_scheme="ed25519",
            signature_key=sender.signing_key.public_key,
            credential_type="basic",
            identity=sender.identity.decode(),
            credential=sender.credential,
        ),
        access_token_lifetime_seconds=int(state.access_token_lifetime.total_seconds()),
    )


@router.get("/health", response_model=Health)
async def health(state: State) -> Health:
    """Answers once the store is open."""
    del state
    return Health(status="ok")
