"""How an application configures its MLS groups: the Authentication Service hook, PSK lookup,
wire format of handshake messages, padding and retention bounds.

Enseal's defaults: handshake messages are PublicMessages (the delivery service must see them to
enforce policy, ARCHITECTURE.md section 2), the ratchet tree travels in Welcome and GroupInfo,
GroupInfo carries external_pub (meetings are joined by external commit), application messages
are padded to a multiple of :data:`DEFAULT_PADDING_BLOCK` bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from enseal.errors import ValidationError
from enseal.mls.code_points import CredentialType, WireFormat
from enseal.mls.credential import BasicCredential, Credential
from enseal.mls.proposal_list import SameClient

DEFAULT_PADDING_BLOCK: Final = 32
"""Application plaintexts are padded up to a multiple of this many bytes (section 16.4)."""
MAX_PAST_EPOCHS: Final = 2
"""How many earlier epochs' keys are kept to read late application messages (section 14)."""
MAX_RESUMPTION_PSKS: Final = 16
"""How many of this group's past resumption PSKs are kept for branching and reinit (section 8.6)."""
KEY_PACKAGE_LIFETIME: Final = 12 * 7 * 24 * 3600
"""KeyPackages live 12 weeks (OpenMLS-based peers reject longer lifetimes)."""
CLOCK_SKEW: Final = 3600
"""A new KeyPackage's lifetime starts this long before "now", for peers with slow clocks."""


def accept_basic_credentials(credential: Credential, signature_key: bytes) -> None:
    """A permissive Authentication Service for tests and vectors: any basic credential.

    Enseal's client and server pass a validator that binds the credential's identity to the
    device's registered signature key (the server is the Authentication Service).
    """
    if credential.credential_type not in (CredentialType.BASIC, CredentialType.X509):
        raise ValidationError("RFC 9420 §5.3: unsupported credential type")
    if isinstance(credential, BasicCredential) and not credential.identity:
        raise ValidationError("RFC 9420 §5.3.1: empty identity")


def _no_psk(_psk_id: bytes) -> bytes | None:
    return None


def _no_resumption(_group_id: bytes, _epoch: int) -> bytes | None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupConfig:
    """Application choices for a group (not persisted with it: supply it when loading)."""

    validate_credential: Callable[[Credential, bytes], None] = accept_basic_credentials
    """Raises ValidationError unless the credential is acceptable for the signature key."""
    same_client: SameClient | None = None
    """Whether two credentials present the same client; None: identical signature keys only."""
    external_psk: Callable[[bytes], bytes | None] = _no_psk
    """The PSK for an external psk_id, or None if this client does not hold it."""
    resumption_psk: Callable[[bytes, int], bytes | None] = _no_resumption
    """The resumption PSK of another group at an epoch (branch/reinit sources), or None."""
    handshake_wire_format: WireFormat = WireFormat.PUBLIC_MESSAGE
    padding_block: int = DEFAULT_PADDING_BLOCK
    ratchet_tree_in_welcome: bool = True
    external_pub_in_group_info: bool = True
    max_past_epochs: int = MAX_PAST_EPOCHS
    max_key_package_lifetime: int | None = None
    """Longest total lifetime accepted for a KeyPackage in an Add (section 7.2); None: no
    maximum. Enseal's key directory enforces :data:`KEY_PACKAGE_LIFETIME` when a package is
    published, so a group follows whatever its members committed."""
