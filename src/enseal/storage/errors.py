"""Errors of the storage layer, in the one error tree (src/enseal/errors.py).

A request that names a missing row or would duplicate a unique one is bad input from the
client (:class:`NotFound`, :class:`AlreadyExists`); a database that cannot be reached or a
schema that cannot be migrated is :class:`StorageUnavailable`.
"""

from __future__ import annotations

from enseal.errors import InternalError, RemoteProtocolError


class NotFound(RemoteProtocolError):
    """The named tenant, user, group, device, policy ... does not exist."""


class AlreadyExists(RemoteProtocolError):
    """A tenant, user, group ... of that name already exists."""


class Conflict(RemoteProtocolError):
    """The request conflicts with the current state (e.g. a used enrollment code)."""


class StorageUnavailable(InternalError):
    """The database cannot be opened, reached or migrated."""


class KeyringError(InternalError):
    """The key-encryption key file is missing, unreadable or does not match the database."""
