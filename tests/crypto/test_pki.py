"""The private CA and server certificate: names, constraints, chain."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from enseal.crypto.pki import certificate_fingerprint, create_certificate_authority, issue_server_certificate
from enseal.errors import LocalProtocolError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_server_certificate_is_signed_by_the_ca_for_its_names() -> None:
    ca = create_certificate_authority(common_name="test CA", now=NOW)
    issued = issue_server_certificate(
        authority=ca, dns_names=["localhost", "enseal.example"], ip_addresses=["127.0.0.1", "::1"], now=NOW
    )
    ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem)
    cert = x509.load_pem_x509_certificate(issued.certificate_pem)
    cert.verify_directly_issued_by(ca_cert)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "enseal.example"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ExtendedKeyUsageOID.SERVER_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert cert.not_valid_after_utc <= ca_cert.not_valid_after_utc
    assert b"PRIVATE KEY" in issued.private_key_pem.reveal() and "hidden" in repr(issued.private_key_pem)
    assert len(certificate_fingerprint(ca.certificate_pem).split(":")) == 32


def test_a_certificate_needs_a_name() -> None:
    ca = create_certificate_authority(common_name="test CA", now=NOW)
    with pytest.raises(LocalProtocolError):
        issue_server_certificate(authority=ca, dns_names=[], ip_addresses=[], now=NOW)
