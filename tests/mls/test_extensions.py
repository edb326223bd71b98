"""Extensions (RFC 9420 §13.4) and the typed payloads of the default extension types."""

from __future__ import annotations

import pytest
from hypothesis import given

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError, LocalProtocolError, TrailingBytesError
from enseal.mls.code_points import ExtensionType
from enseal.mls.credential import BasicCredential
from enseal.mls.extensions import (
    ApplicationId,
    Extension,
    ExternalPub,
    ExternalSender,
    ExternalSenders,
    RequiredCapabilities,
    find_extension,
    make_extension,
    read_extensions,
    write_extensions,
)

from .struct_strategies import extensions


@given(extensions)
def test_extension_lists_round_trip_with_unknown_and_grease_types(values: tuple[Extension, ...]) -> None:
    w = Writer()
    write_extensions(w, values)
    r = Reader(w.getvalue())
    assert read_extensions(r) == values
    r.finish()


def _two_of_a_kind() -> bytes:
    inner = Writer()
    for ext in (Extension(extension_type=7, extension_data=b"a"), Extension(extension_type=7, extension_data=b"b")):
        ext.encode(inner)
    w = Writer()
    w.opaque(inner.getvalue())
    return w.getvalue()


def test_duplicate_extension_type_rejected_when_decoding() -> None:
    with pytest.raises(DecodeError, match="§13.4: duplicate extension type"):
        read_extensions(Reader(_two_of_a_kind()))


def test_duplicate_extension_type_refused_when_encoding() -> None:
    dup = (Extension(extension_type=1, extension_data=b""), Extension(extension_type=1, extension_data=b"x"))
    with pytest.raises(LocalProtocolError, match="duplicate"):
        write_extensions(Writer(), dup)


@pytest.mark.parametrize(
    "payload",
    [
        ApplicationId(application_id=b"device-7"),
        RequiredCapabilities(extension_types=(0x0A0A,), proposal_types=(8,), credential_types=(1, 2)),
        ExternalPub(external_pub=b"\x01" * 32),
        ExternalSenders(external_senders=(
            ExternalSender(signature_key=b"k" * 32, credential=BasicCredential(identity=b"server")),
        )),
    ],
)
def test_typed_payloads_round_trip_through_extensions(
    payload: ApplicationId | RequiredCapabilities | ExternalPub | ExternalSenders,
) -> None:
    ext = make_extension(payload)
    assert ext.extension_type == payload.EXTENSION_TYPE
    others = (Extension(extension_type=0x2A2A, extension_data=b"grease"), ext)
    assert find_extension(others, type(payload)) == payload


def test_missing_extension_is_none() -> None:
    assert find_extension((), ExternalPub) is None


def test_payload_must_fill_extension_data() -> None:
    ext = Extension(extension_type=ExtensionType.EXTERNAL_PUB, extension_data=b"\x01\xaa\xbb")
    with pytest.raises(TrailingBytesError):
        find_extension((ext,), ExternalPub)
