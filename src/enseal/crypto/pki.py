"""The server's private PKI: a certificate authority and the TLS server certificate it issues
(X.509, RFC 5280; ARCHITECTURE.md section 1: "TLS 1.3 on every client-server link").

``enseal server init`` creates both. Clients trust the CA file instead of the system roots. Keys
are ECDSA P-256, which every TLS 1.3 stack accepts; private keys leave this module only as
:class:`~enseal.crypto.secret.Secret` PEM bytes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from enseal.crypto.secret import Secret
from enseal.errors import CryptoError, LocalProtocolError

CA_VALIDITY = timedelta(days=3650)
"""How long the private CA is valid."""

SERVER_CERTIFICATE_VALIDITY = timedelta(days=397)
"""How long a server certificate is valid (the CA/Browser Forum maximum, a habit worth keeping)."""

MAX_SUBJECT_ALT_NAMES = 64
"""Most DNS names plus IP addresses one server certificate may carry."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedCertificate:
    """A certificate (PEM) and its private key (PEM, secret)."""

    certificate_pem: bytes
    private_key_pem: Secret


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Enseal"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> Secret:
    return Secret(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def create_certificate_authority(*, common_name: str, now: datetime) -> IssuedCertificate:
    """A new self-signed CA that may sign server certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return IssuedCertificate(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM), private_key_pem=_private_pem(key)
    )


def issue_server_certificate(
    *, authority: IssuedCertificate, dns_names: Sequence[str], ip_addresses: Sequence[str], now: datetime
) -> IssuedCertificate:
    """A TLS server certificate for ``dns_names`` and ``ip_addresses``, signed by ``authority``."""
    if not dns_names and not ip_addresses:
        raise LocalProtocolError("a server certificate needs at least one DNS name or IP address")
    if len(dns_names) + len(ip_addresses) > MAX_SUBJECT_ALT_NAMES:
        raise LocalProtocolError(f"at most {MAX_SUBJECT_ALT_NAMES} subject alternative names")
    try:
        ca_certificate = x509.load_pem_x509_certificate(authority.certificate_pem)
        ca_key = serialization.load_pem_private_key(authority.private_key_pem.reveal(), password=None)
        ips = [ipaddress.ip_address(address) for address in ip_addresses]
    except ValueError as exc:
        raise CryptoError("cannot load the certificate authority or an IP address") from exc
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise CryptoError("the certificate authority key is not an ECDSA key")
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alt_names += [x509.IPAddress(ip) for ip in ips]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0] if dns_names else ip_addresses[0]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_CERTIFICATE_VALIDITY, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return IssuedCertificate(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM), private_key_pem=_private_pem(key)
    )


def certificate_fingerprint(certificate_pem: bytes) -> str:
    """SHA-256 fingerprint of a PEM certificate, as colon-separated hex (for operators to compare)."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise CryptoError("not a PEM certificate") from exc
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()
