"""Welcome messages (RFC 9420 section 12.4.3.1): ``PathSecret``, ``GroupSecrets``,
``EncryptedGroupSecrets`` and ``Welcome``. The secrets are :class:`~enseal.crypto.Secret` values,
hidden from ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from enseal.codec import Reader, Writer
from enseal.crypto import Secret
from enseal.mls.commit import HPKECiphertext
from enseal.mls.key_package import KeyPackageRef
from enseal.mls.proposals import PreSharedKeyID
from enseal.mls.wire import write_optional, write_vector
from enseal.types import CipherSuiteId


@dataclass(frozen=True, slots=True, kw_only=True)
class PathSecret:
    """``PathSecret``: the path secret of the lowest node shared by the committer's and the new
    member's direct paths."""

    path_secret: Secret

    def encode(self, w: Writer) -> None:
        w.opaque(self.path_secret.reveal())

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(path_secret=Secret(r.opaque()))


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSecrets:
    """``GroupSecrets``: what each new member decrypts from a Welcome."""

    joiner_secret: Secret
    path_secret: PathSecret | None = None
    psks: tuple[PreSharedKeyID, ...] = ()

    def encode(self, w: Writer) -> None:
        w.opaque(self.joiner_secret.reveal())
        write_optional(w, self.path_secret)
        write_vector(w, self.psks)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            joiner_secret=Secret(r.opaque()),
            path_secret=r.optional(PathSecret.decode),
            psks=tuple(r.vector(PreSharedKeyID.decode)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedGroupSecrets:
    """``EncryptedGroupSecrets``: GroupSecrets encrypted to one new member's init key."""

    new_member: KeyPackageRef
    encrypted_group_secrets: HPKECiphertext

    def encode(self, w: Writer) -> None:
        w.opaque(self.new_member)
        self.encrypted_group_secrets.encode(w)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(new_member=KeyPackageRef(r.opaque()), encrypted_group_secrets=HPKECiphertext.decode(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class Welcome:
    """``Welcome``."""

    cipher_suite: CipherSuiteId
    secrets: tuple[EncryptedGroupSecrets, ...]
    encrypted_group_info: bytes

    def encode(self, w: Writer) -> None:
        w.u16(self.cipher_suite)
        write_vector(w, self.secrets)
        w.opaque(self.encrypted_group_info)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(
            cipher_suite=CipherSuiteId(r.u16()),
            secrets=tuple(r.vector(EncryptedGroupSecrets.decode)),
            encrypted_group_info=r.opaque(),
        )
