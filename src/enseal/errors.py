"""The one error tree of Enseal (ARCHITECTURE.md section 5).

Every exception Enseal raises on purpose is an :class:`EnsealError`. There are four branches:

* :class:`LocalProtocolError` -- the local caller misused an API (wrong state, bad argument,
  a limit of our own such as a sender counter that would wrap). Fix the calling code.
* :class:`RemoteProtocolError` -- input from a peer or the server is bad. It always carries a
  ``reason`` naming the rule that was broken (for protocol rules, the RFC section), so a user
  and an operator can tell *why* something was refused.
* :class:`CryptoError` -- a cryptographic check failed (authentication tag, signature, key
  derivation). Also remote in origin, but kept apart because it is the branch that signals
  forgery or tampering.
* :class:`InternalError` -- a bug or an impossible state in Enseal itself.

Verification functions raise; they never return a bool. Foreign exceptions (from
``cryptography``, ``sqlalchemy``, ...) are mapped at the layer boundary with
``raise ... from exc`` so callers only ever catch this tree.

Subsystems subclass these four; the classes below are the ones shared across layers.
"""

from __future__ import annotations


class EnsealError(Exception):
    """Root of every error Enseal raises deliberately."""


# --- local misuse -------------------------------------------------------------------------


class LocalProtocolError(EnsealError):
    """The local caller did something the protocol or API does not allow."""


class LimitExceeded(LocalProtocolError):
    """A named local bound (counter, window, queue) would be exceeded."""


# --- remote bad input ---------------------------------------------------------------------


class RemoteProtocolError(EnsealError):
    """A peer or the server sent input that breaks a rule.

    ``reason`` is a short, stable, human-readable statement of the rule (with its RFC
    section where there is one). ``str(err)`` starts with it.
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(reason if detail is None else f"{reason}: {detail}")


class DecodeError(RemoteProtocolError):
    """Bytes do not decode strictly (truncated, trailing, non-minimal, unknown value)."""


class TrailingBytesError(DecodeError):
    """Bytes remained after a complete value was decoded."""


class ValidationError(RemoteProtocolError):
    """A decoded value breaks a validation rule (a MUST of the RFC)."""


class WrongEpochError(ValidationError):
    """A message is for an epoch other than the one it must be for."""


class WrongGroupError(ValidationError):
    """A message names another group."""


class UnknownSenderError(ValidationError):
    """A message names a sender that is not (or no longer) a member."""


class GenerationError(ValidationError):
    """A ratchet generation is too far ahead, too old or already consumed."""


class ReplayError(ValidationError):
    """A message or frame was already received."""


class CommitConflictError(RemoteProtocolError):
    """Another commit for this epoch was accepted first."""

    def __init__(self, reason: str, *, current_epoch: int, detail: str | None = None) -> None:
        self.current_epoch = current_epoch
        super().__init__(reason, detail)


# --- cryptographic failure ----------------------------------------------------------------


class CryptoError(EnsealError):
    """A cryptographic operation or check failed."""


class AuthenticationError(CryptoError):
    """An AEAD tag or MAC did not verify: the data was forged or altered."""


class SignatureError(CryptoError):
    """A signature did not verify."""


class MembershipTagError(AuthenticationError):
    """A PublicMessage membership tag did not verify (RFC 9420 section 6.2)."""


class ConfirmationTagError(AuthenticationError):
    """A commit's confirmation tag did not verify (RFC 9420 section 8.2)."""


class KeyDerivationError(CryptoError):
    """A key could not be derived (e.g. DeriveKeyPair found no valid scalar)."""


# --- internal ---------------------------------------------------------------------------------


class InternalError(EnsealError):
    """An invariant of Enseal itself was broken: a bug."""
