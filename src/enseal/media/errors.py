"""Errors raised by :mod:`enseal.media`, as subclasses of the one tree in :mod:`enseal.errors`.

* Bad input from a peer (a datagram, a codec payload, a received picture) raises a
  :class:`~enseal.errors.RemoteProtocolError` subclass, never a PyAV exception.
* Misuse by the local caller (a wrong size, a file that cannot be opened, frames out of order
  on the sending side) raises a :class:`~enseal.errors.LocalProtocolError` subclass.
"""

from __future__ import annotations

from enseal.errors import DecodeError, LocalProtocolError, ValidationError


class MediaFileError(LocalProtocolError):
    """A local media file cannot be opened, read or written (or has no usable stream)."""


class MalformedDatagramError(DecodeError):
    """A media datagram does not decode strictly (version, kind, flags, lengths, bounds)."""


class InconsistentFragmentError(ValidationError):
    """A fragment disagrees with earlier fragments of the same frame about the frame's fields."""


class CorruptFrameError(DecodeError):
    """An encoded frame's payload is not a valid bitstream for its codec."""


class OutOfOrderFrameError(ValidationError):
    """A decoder was given a frame that is not newer than the last frame it accepted."""


class PatternNotRecognisedError(ValidationError):
    """A received picture does not show the frame-number code of the generated test pattern."""
