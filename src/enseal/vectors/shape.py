"""Reading fields out of vector JSON with clear errors, and splitting files into cases."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.vectors.outcome import Case


class MalformedVector(Exception):
    """A vector case lacks a field or has one of the wrong type."""


def has_keys(data: object, keys: set[str]) -> bool:
    """True if ``data`` is a non-empty list whose first object has ``keys``."""
    return (
        isinstance(data, list) and bool(data) and isinstance(data[0], dict) and keys <= set(data[0])
    )


def field(obj: dict[str, object], key: str) -> object:
    if key not in obj:
        raise MalformedVector(f"missing field {key!r}")
    return obj[key]


def hexb(obj: dict[str, object], key: str) -> bytes:
    value = field(obj, key)
    if not isinstance(value, str):
        raise MalformedVector(f"field {key!r} is not a hex string")
    return bytes.fromhex(value)


def opt_hexb(obj: dict[str, object], key: str) -> bytes | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedVector(f"field {key!r} is not a hex string")
    return bytes.fromhex(value)


def integer(obj: dict[str, object], key: str) -> int:
    value = field(obj, key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedVector(f"field {key!r} is not an integer")
    return value


def sub(obj: dict[str, object], key: str) -> dict[str, object]:
    value = field(obj, key)
    if not isinstance(value, dict):
        raise MalformedVector(f"field {key!r} is not an object")
    return value


def items(obj: dict[str, object], key: str) -> list[object]:
    value = field(obj, key)
    if not isinstance(value, list):
        raise MalformedVector(f"field {key!r} is not a list")
    return value


def list_cases(kind: str, data: object) -> Iterator[Case]:
    """Cases of a file whose top level is a list of JSON objects: one case per object."""
    if not isinstance(data, list):
        return
    for index, item in enumerate(data):
        if isinstance(item, dict):
            suite = item.get("cipher_suite")
            suffix = f"-suite{suite}" if isinstance(suite, int) else ""
            yield Case(kind=kind, case_id=f"{kind}[{index}]{suffix}", data=item)
