"""Welcome, GroupSecrets, PathSecret, EncryptedGroupSecrets (RFC 9420 §12.4.3.1)."""

from __future__ import annotations

from hypothesis import given

from enseal.crypto import Secret
from enseal.mls.welcome import GroupSecrets, PathSecret, Welcome
from enseal.mls.wire import deserialize, serialize

from .struct_strategies import group_secrets, welcomes


@given(welcomes)
def test_welcome_round_trip(welcome: Welcome) -> None:
    assert deserialize(Welcome, serialize(welcome)) == welcome


@given(group_secrets)
def test_group_secrets_round_trip(secrets: GroupSecrets) -> None:
    data = serialize(secrets)
    assert deserialize(GroupSecrets, data) == secrets
    assert serialize(deserialize(GroupSecrets, data)) == data


def test_secrets_are_hidden_from_repr() -> None:
    secrets = GroupSecrets(joiner_secret=Secret(b"joiner-secret-bytes"),
                           path_secret=PathSecret(path_secret=Secret(b"path-secret-bytes")))
    text = repr(secrets)
    assert "joiner-secret-bytes" not in text and "path-secret-bytes" not in text
    assert "6a6f696e6572" not in text  # nor as hex
