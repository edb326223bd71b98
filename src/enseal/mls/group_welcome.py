"""Welcome messages (RFC 9420 section 12.4.3.1): building one for the new members of a Commit,
and opening one as a new member.

The GroupInfo is encrypted once with the welcome key and nonce derived from the joiner secret;
the joiner secret, the path secret of the lowest common ancestor and the PSK ids are encrypted
to each new member's init key with EncryptWithLabel(init_key, "Welcome", encrypted_group_info,
group_secrets).
"""

from __future__ import annotations

from collections.abc import Sequence

from enseal.crypto import CipherSuite, HpkePrivateKey, RandomSource, Secret
from enseal.errors import AuthenticationError, CryptoError, DecodeError, ValidationError
from enseal.mls import key_schedule as ks
from enseal.mls.commit import HPKECiphertext
from enseal.mls.group_info import GroupInfo
from enseal.mls.key_package import KeyPackageRef
from enseal.mls.proposals import PreSharedKeyID
from enseal.mls.welcome import EncryptedGroupSecrets, GroupSecrets, PathSecret, Welcome
from enseal.mls.wire import deserialize, serialize
from enseal.types import CipherSuiteId

WELCOME_LABEL = b"Welcome"


def build_welcome(
    suite: CipherSuite,
    *,
    group_info: GroupInfo,
    joiner_secret: ks.JoinerSecret,
    psk_secret: ks.PskSecret | None,
    psks: Sequence[PreSharedKeyID],
    new_members: Sequence[tuple[KeyPackageRef, bytes, Secret | None]],
    rng: RandomSource,
) -> Welcome:
    """A Welcome for ``new_members``: (KeyPackageRef, init public key, path secret or None)."""
    key, nonce = ks.welcome_key_nonce(suite, ks.welcome_secret(suite, joiner_secret, psk_secret))
    encrypted_group_info = suite.seal(key, nonce, b"", serialize(group_info))
    secrets = []
    for ref, init_key, path_secret in new_members:
        group_secrets = GroupSecrets(
            joiner_secret=Secret(joiner_secret.reveal()),
            path_secret=PathSecret(path_secret=path_secret) if path_secret is not None else None,
            psks=tuple(psks),
        )
        kem_output, ciphertext = suite.encrypt_with_label(
            init_key, WELCOME_LABEL, encrypted_group_info, serialize(group_secrets), rng
        )
        secrets.append(EncryptedGroupSecrets(
            new_member=ref, encrypted_group_secrets=HPKECiphertext(kem_output=kem_output, ciphertext=ciphertext)
        ))
    return Welcome(cipher_suite=CipherSuiteId(suite.id), secrets=tuple(secrets),
                   encrypted_group_info=encrypted_group_info)


def open_group_secrets(
    suite: CipherSuite, welcome: Welcome, *, key_package_ref: KeyPackageRef, init_key: HpkePrivateKey
) -> GroupSecrets:
    """"Identify an entry in the secrets array where the new_member value corresponds to one of
    this client's KeyPackages" and decrypt it."""
    if welcome.cipher_suite != suite.id:
        raise ValidationError("RFC 9420 §12.4.3.1: Welcome cipher suite differs from the KeyPackage's")
    entry = next((e for e in welcome.secrets if e.new_member == key_package_ref), None)
    if entry is None:
        raise ValidationError("RFC 9420 §12.4.3.1: Welcome is not for this KeyPackage")
    ciphertext = entry.encrypted_group_secrets
    try:
        plaintext = suite.decrypt_with_label(
            init_key, WELCOME_LABEL, welcome.encrypted_group_info, ciphertext.kem_output, ciphertext.ciphertext
        )
    except CryptoError as exc:
        raise AuthenticationError("RFC 9420 §12.4.3.1: group secrets do not decrypt") from exc
    return deserialize(GroupSecrets, plaintext)


def open_group_info(
    suite: CipherSuite, welcome: Welcome, *, joiner_secret: ks.JoinerSecret, psk_secret: ks.PskSecret | None
) -> GroupInfo:
    """Decrypt the Welcome's GroupInfo with the welcome key and nonce."""
    key, nonce = ks.welcome_key_nonce(suite, ks.welcome_secret(suite, joiner_secret, psk_secret))
    try:
        plaintext = suite.open(key, nonce, b"", welcome.encrypted_group_info)
    except AuthenticationError as exc:
        raise AuthenticationError("RFC 9420 §12.4.3.1: GroupInfo does not decrypt") from exc
    try:
        return deserialize(GroupInfo, plaintext)
    except DecodeError as exc:
        raise DecodeError("RFC 9420 §12.4.3.1: GroupInfo does not decode", str(exc)) from exc
