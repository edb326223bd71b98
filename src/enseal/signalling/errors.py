"""Errors of :mod:`enseal.signalling`, as subclasses of the one tree in :mod:`enseal.errors`.

* A local command the call's state does not allow (accepting a call that is not ringing) is
  :class:`CallStateError`, a :class:`~enseal.errors.LocalProtocolError`.
* A message from the peer or the server that the call's state does not allow (an accept for a
  call that was never placed) is :class:`UnexpectedCallMessage`; a message that does not decode
  strictly is :class:`MalformedSignallingMessage`. Both are
  :class:`~enseal.errors.RemoteProtocolError` s with a ``reason``.
* A connectivity check that does not decode is :class:`MalformedCheckError`; one whose MAC does
  not verify is :class:`CheckAuthenticationError` (a :class:`~enseal.errors.CryptoError`: it is
  what a third party trying to hijack the media path produces).
"""

from __future__ import annotations

from enseal.errors import AuthenticationError, DecodeError, LocalProtocolError, ValidationError


class CallStateError(LocalProtocolError):
    """A local command is not allowed in the call's current state."""


class UnexpectedCallMessage(ValidationError):
    """A signalling message from the peer or the server is not allowed in the call's current state
    (or contradicts what was agreed earlier in the call)."""


class MalformedSignallingMessage(DecodeError):
    """A signalling message does not decode strictly (JSON, fields, types, bounds)."""


class MalformedCheckError(DecodeError):
    """A connectivity-check datagram does not decode strictly."""


class CheckAuthenticationError(AuthenticationError):
    """A connectivity check's MAC does not verify, or it names addresses other than the ones it
    travelled between: it was not sent by the peer of this call."""


class CheckMismatchError(ValidationError):
    """An authenticated connectivity check does not fit this agent's state (a response to no
    request of ours, a request claiming our own role)."""
