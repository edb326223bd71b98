"""Credentials (RFC 9420 section 5.3): ``basic`` and ``x509``.

``Credential`` is the tagged union; its variants :class:`BasicCredential` and
:class:`X509Credential` subclass it, and ``encode``/``decode`` of any of them read and write the
whole ``Credential`` struct (type and body). Unknown credential types do not decode: GREASE
values "MUST NOT be sent" in ``Credential.credential_type`` (section 13.5), and a credential this
implementation cannot read could not be validated with the Authentication Service anyway.

Validating a credential with the Authentication Service (section 5.3.1) is the application's
job: the validation functions of this package take a :data:`CredentialValidator`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError
from enseal.mls.code_points import CredentialType
from enseal.mls.wire import read_enum, write_vector

CredentialValidator = Callable[["Credential", bytes], None]
"""``validate(credential, signature_key)``: the Authentication Service (section 5.3.1).

It raises :class:`~enseal.errors.ValidationError` unless the credential's presented identifiers
are legitimately bound to ``signature_key`` and acceptable to the application. For an X.509
credential that includes: "The public key encoded in the subjectPublicKeyInfo of the end-entity
certificate MUST be identical to the signature_key".
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """``Credential`` (section 5.3): abstract; use a subclass."""

    credential_type: ClassVar[CredentialType]

    def encode(self, w: Writer) -> None:
        w.u16(self.credential_type)
        self._encode_body(w)

    def _encode_body(self, w: Writer) -> None:
        raise NotImplementedError

    @classmethod
    def decode(cls, r: Reader) -> Self:
        credential_type = read_enum(r, CredentialType, 2)
        value: Credential
        if credential_type is CredentialType.BASIC:
            value = BasicCredential(identity=r.opaque())
        else:
            value = X509Credential(certificates=tuple(r.vector(Certificate.decode)))
        if not isinstance(value, cls):
            raise DecodeError(f"expected a {cls.__name__}", f"got {type(value).__name__}")
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class BasicCredential(Credential):
    """``basic``: "a bare assertion of an identity"; the format is the application's."""

    credential_type: ClassVar[CredentialType] = CredentialType.BASIC
    identity: bytes

    def _encode_body(self, w: Writer) -> None:
        w.opaque(self.identity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """``Certificate``: one DER-encoded X.509 certificate."""

    cert_data: bytes

    def encode(self, w: Writer) -> None:
        w.opaque(self.cert_data)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(cert_data=r.opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class X509Credential(Credential):
    """``x509``: a chain, end-entity certificate first."""

    credential_type: ClassVar[CredentialType] = CredentialType.X509
    certificates: tuple[Certificate, ...]

    def _encode_body(self, w: Writer) -> None:
        write_vector(w, self.certificates)
