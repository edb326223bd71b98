"""Errors of the client SDK (:mod:`enseal.client`), in the tree of :mod:`enseal.errors`.

The CLI catches :class:`~enseal.errors.EnsealError` at its boundary and prints ``str(error)``:
every message here is written for the person at the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from enseal.errors import LocalProtocolError, RemoteProtocolError, ValidationError


class ProfileError(LocalProtocolError):
    """The local profile is missing, damaged, locked or used wrongly."""


class ProfileNotFound(ProfileError):
    """No profile in the directory (run ``enseal register`` first)."""


class ProfileExists(ProfileError):
    """A profile already lives in the directory."""


class ProfileBusy(ProfileError):
    """Another process has the profile open."""


class PassphraseRequired(ProfileError):
    """No passphrase was given and there is no terminal to ask on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyReason:
    """One reason of a policy decision as the server explained it."""

    code: str
    message: str
    side: str | None = None
    user: str | None = None


class ServerRefused(RemoteProtocolError):
    """The server answered a request with an error (``code`` is its stable error code)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int,
        code: str,
        detail: str | None = None,
        reasons: Sequence[PolicyReason] = (),
        retry_after: int | None = None,
        current_epoch: int | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.reasons = tuple(reasons)
        self.retry_after = retry_after
        self.current_epoch = current_epoch
        super().__init__(f"{code}: {reason}", detail)

    def __str__(self) -> str:
        text = super().__str__()
        return text + "".join(f"\n  - {r.message}" for r in self.reasons)


class ServerUnreachable(RemoteProtocolError):
    """The server could not be reached, or the connection broke (TLS, network, timeout)."""


class UntrustedDevice(ValidationError):
    """A device's credential or key does not match what this client knows about the device
    (a wrong identity, a key substitution, or a device the directory does not list)."""


class UnknownDevice(UntrustedDevice):
    """A credential names a device this client has not learnt yet; fetch the directory and retry."""

    def __init__(self, reason: str, *, user: str, device_id: str) -> None:
        self.user = user
        self.device_id = device_id
        super().__init__(reason, f"{user}/{device_id}")


class ConversationError(LocalProtocolError):
    """A conversation does not exist or cannot do what was asked."""


class CallRefused(RemoteProtocolError):
    """A call or a call feature was refused (by the peer, the policy or this client)."""

    def __init__(self, reason: str, detail: str | None = None, *, reasons: Sequence[PolicyReason] = ()) -> None:
        self.reasons = tuple(reasons)
        super().__init__(reason, detail)

    def __str__(self) -> str:
        return super().__str__() + "".join(f"\n  - {r.message}" for r in self.reasons)
