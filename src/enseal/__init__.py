"""Enseal: end-to-end encrypted calling, meetings and chat on MLS (RFC 9420) and SFrame (RFC 9605)."""

__version__ = "0.1.0"
