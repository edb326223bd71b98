"""Runner for ``messages.json``: every RFC 9420 message structure decodes strictly and re-encodes
byte for byte, and nothing else is accepted (the same bytes with one byte appended, or cut short,
are rejected).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError
from enseal.mls.code_points import ContentType, WireFormat
from enseal.mls.commit import Commit
from enseal.mls.framing import MLSMessage, PublicMessage
from enseal.mls.proposals import (
    Add,
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    Proposal,
    ReInit,
    Remove,
    Update,
)
from enseal.mls.tree_nodes import RatchetTreeExtension
from enseal.mls.welcome import GroupSecrets
from enseal.vectors.outcome import Case, VectorMismatch, expect_equal
from enseal.vectors.shape import has_keys, hexb, list_cases

NAME = "messages"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"mls_welcome", "commit", "private_message"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


@dataclass(frozen=True, slots=True)
class _Codec:
    """How one field of the vector is decoded, re-encoded and checked."""

    decode: Callable[[Reader], object]
    encode: Callable[[Writer, object], None]
    check: Callable[[object], None]


def _struct(cls: type[Commit] | type[GroupSecrets] | type[RatchetTreeExtension]) -> _Codec:
    def encode(w: Writer, value: object) -> None:
        assert isinstance(value, cls)
        value.encode(w)

    return _Codec(cls.decode, encode, lambda value: None)


def _proposal_body(cls: type[Proposal]) -> _Codec:
    def encode(w: Writer, value: object) -> None:
        assert isinstance(value, cls)
        value.encode_body(w)

    return _Codec(cls.decode_body, encode, lambda value: None)


def _message(wire_format: WireFormat, content_type: ContentType | None = None) -> _Codec:
    def encode(w: Writer, value: object) -> None:
        assert isinstance(value, MLSMessage)
        value.encode(w)

    def check(value: object) -> None:
        assert isinstance(value, MLSMessage)
        expect_equal("wire_format", value.wire_format, wire_format)
        if content_type is not None:
            assert isinstance(value.body, PublicMessage)
            expect_equal("content_type", value.body.content.content_type, content_type)

    return _Codec(MLSMessage.decode, encode, check)


FIELDS: dict[str, _Codec] = {
    "mls_welcome": _message(WireFormat.WELCOME),
    "mls_group_info": _message(WireFormat.GROUP_INFO),
    "mls_key_package": _message(WireFormat.KEY_PACKAGE),
    "ratchet_tree": _struct(RatchetTreeExtension),
    "group_secrets": _struct(GroupSecrets),
    "add_proposal": _proposal_body(Add),
    "update_proposal": _proposal_body(Update),
    "remove_proposal": _proposal_body(Remove),
    "pre_shared_key_proposal": _proposal_body(PreSharedKey),
    "re_init_proposal": _proposal_body(ReInit),
    "external_init_proposal": _proposal_body(ExternalInit),
    "group_context_extensions_proposal": _proposal_body(GroupContextExtensions),
    "commit": _struct(Commit),
    "public_message_application": _message(WireFormat.PUBLIC_MESSAGE, ContentType.APPLICATION),
    "public_message_proposal": _message(WireFormat.PUBLIC_MESSAGE, ContentType.PROPOSAL),
    "public_message_commit": _message(WireFormat.PUBLIC_MESSAGE, ContentType.COMMIT),
    "private_message": _message(WireFormat.PRIVATE_MESSAGE),
}


def _decode_exactly(codec: _Codec, data: bytes) -> object:
    r = Reader(data)
    value = codec.decode(r)
    r.finish()
    return value


def _expect_rejected(what: str, codec: _Codec, data: bytes) -> None:
    try:
        _decode_exactly(codec, data)
    except DecodeError:
        return
    raise VectorMismatch(f"{what} was accepted")


def run(case: Case) -> None:
    for name, codec in FIELDS.items():
        data = hexb(case.data, name)
        value = _decode_exactly(codec, data)
        codec.check(value)
        w = Writer()
        codec.encode(w, value)
        expect_equal(f"{name} re-encoded", w.getvalue(), data)
        _expect_rejected(f"{name} with a trailing byte", codec, data + b"\x00")
        _expect_rejected(f"{name} without its last byte", codec, data[:-1])
        _expect_rejected(f"{name} cut in half", codec, data[: len(data) // 2])
