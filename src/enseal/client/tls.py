"""The TLS context of every client connection (ARCHITECTURE.md section 1: "TLS 1.3 on every
client-server link"): TLS 1.3 only, trusting exactly the server's private CA, host names checked."""

from __future__ import annotations

import ssl
from pathlib import Path

from enseal.client.errors import ProfileError


def client_tls_context(ca_certificate: Path) -> ssl.SSLContext:
    """A context that accepts only a TLS 1.3 server whose certificate chains to ``ca_certificate``."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_certificate))
    except (OSError, ssl.SSLError) as exc:
        raise ProfileError(f"cannot load the server's CA certificate {ca_certificate}: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context
