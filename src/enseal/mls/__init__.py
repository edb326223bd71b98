"""Messaging Layer Security (RFC 9420), sans-I/O: group state, trees, key schedule, framing."""
