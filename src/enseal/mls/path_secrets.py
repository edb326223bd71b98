"""Path secrets to node key pairs (RFC 9420 section 7.4):

    path_secret[n] = DeriveSecret(path_secret[n-1], "path")
    node_secret[n] = DeriveSecret(path_secret[n], "node")
    node_priv[n], node_pub[n] = KEM.DeriveKeyPair(node_secret[n])

and the commit secret, "the value path_secret[n+1] derived from the last path secret value".
"""

from __future__ import annotations

from typing import Final

from enseal.crypto import CipherSuite, HpkePrivateKey, Secret
from enseal.mls.key_schedule import CommitSecret

PATH_LABEL: Final = b"path"
NODE_LABEL: Final = b"node"


def next_path_secret(suite: CipherSuite, path_secret: Secret) -> Secret:
    """DeriveSecret(path_secret, "path"): the path secret of the next node up."""
    return Secret(suite.derive_secret(path_secret.reveal(), PATH_LABEL))


def node_key_pair(suite: CipherSuite, path_secret: Secret) -> HpkePrivateKey:
    """DeriveKeyPair(DeriveSecret(path_secret, "node"))."""
    return suite.derive_key_pair(suite.derive_secret(path_secret.reveal(), NODE_LABEL))


def commit_secret_after(suite: CipherSuite, last_path_secret: Secret) -> CommitSecret:
    """The commit secret: one more "path" derivation after the last path secret."""
    return CommitSecret(suite.derive_secret(last_path_secret.reveal(), PATH_LABEL))
