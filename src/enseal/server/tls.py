"""TLS contexts (ARCHITECTURE.md section 1: "TLS 1.3 on every client-server link ... the server
refuses plaintext connections").

The server context accepts TLS 1.3 only; a TLS 1.2 (or older) ClientHello fails the handshake.
There is no plaintext listener at all. The client context trusts exactly the server's private CA
and also requires TLS 1.3.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def server_ssl_context(certificate: Path, private_key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(certfile=str(certificate), keyfile=str(private_key))
    context.set_alpn_protocols(["http/1.1"])
    return context


def client_ssl_context(ca_certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_certificate))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context
