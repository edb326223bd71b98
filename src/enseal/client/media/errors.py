"""Errors of the media path (:mod:`enseal.client.media`), in the tree of :mod:`enseal.errors`."""

from __future__ import annotations

from enseal.errors import LocalProtocolError, RemoteProtocolError


class TransportClosed(LocalProtocolError):
    """The transport was closed by its owner; nothing more can be sent or received."""


class MediaPathError(RemoteProtocolError):
    """A media path could not be set up, or stopped working."""


class DirectPathFailed(MediaPathError):
    """No candidate pair passed its connectivity checks in time (or the peer offered none)."""


class DirectPathLost(MediaPathError):
    """The selected direct path stopped answering consent checks."""


class RelayClosed(MediaPathError):
    """The relay channel was closed (by the server or the network)."""
