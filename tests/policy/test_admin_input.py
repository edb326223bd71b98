"""Validation of admin input: policy names, identifiers, ranks, setting values."""

from __future__ import annotations

import pytest

from enseal.errors import RemoteProtocolError
from enseal.policy import (
    MAX_DESCRIPTION_LENGTH,
    MAX_GROUP_ASSIGNMENTS,
    MAX_IDENTIFIER_LENGTH,
    MAX_POLICY_NAME_LENGTH,
    CallsMode,
    InvalidDescription,
    InvalidIdentifier,
    InvalidPolicyName,
    InvalidRank,
    InvalidSetting,
    MeetingsMode,
    PolicyInputError,
    TenantE2EE,
    TenantKind,
    is_global_policy_name,
    parse_setting,
    validate_description,
    validate_identifier,
    validate_policy_name,
    validate_rank,
)


@pytest.mark.parametrize(
    "name", ["A", "Strict", "E2EE for finance", "eng-2024_v1.2", "9", "x" * MAX_POLICY_NAME_LENGTH, "Global"]
)
def test_good_policy_names(name: str) -> None:
    assert validate_policy_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        " Strict",
        "Strict ",
        "-x",
        ".x",
        "x" * (MAX_POLICY_NAME_LENGTH + 1),
        "Pólicy",
        "a\tb",
        "a\nb",
        "a/b",
        "a\x00",
    ],
)
def test_bad_policy_names(name: str) -> None:
    with pytest.raises(InvalidPolicyName) as raised:
        validate_policy_name(name)
    assert isinstance(raised.value, RemoteProtocolError)
    assert raised.value.reason == InvalidPolicyName.rule


def test_global_name_in_any_case() -> None:
    assert is_global_policy_name("Global") and is_global_policy_name("GLOBAL") and is_global_policy_name("global")
    assert not is_global_policy_name("Global1")


@pytest.mark.parametrize(
    "value",
    ["alice", "alice@example.org", "3f0c9d8e-6a8b-4b8e-9f1d-2a7c1e5b9d00", "Group A", "x" * MAX_IDENTIFIER_LENGTH],
)
def test_good_identifiers(value: str) -> None:
    assert validate_identifier("user_id", value) == value


@pytest.mark.parametrize("value", ["", " alice", "alice ", "a\tb", "a\x1bb", "x" * (MAX_IDENTIFIER_LENGTH + 1)])
def test_bad_identifiers(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as raised:
        validate_identifier("group_id", value)
    assert raised.value.detail is not None and raised.value.detail.startswith("group_id ")


def test_ranks() -> None:
    assert validate_rank(1) == 1
    assert validate_rank(MAX_GROUP_ASSIGNMENTS) == MAX_GROUP_ASSIGNMENTS
    for bad in (0, -1, MAX_GROUP_ASSIGNMENTS + 1, True):
        with pytest.raises(InvalidRank):
            validate_rank(bad)


def test_descriptions() -> None:
    assert validate_description("x" * MAX_DESCRIPTION_LENGTH)
    with pytest.raises(InvalidDescription):
        validate_description("x" * (MAX_DESCRIPTION_LENGTH + 1))


def test_parse_every_setting_value() -> None:
    for kind in (CallsMode, MeetingsMode, TenantKind, TenantE2EE):
        for member in kind:
            assert parse_setting(kind, member.value) is member
    assert parse_setting(CallsMode, "user_override") is CallsMode.USER_OVERRIDE
    assert parse_setting(MeetingsMode, "required") is MeetingsMode.REQUIRED


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (CallsMode, "required"),
        (CallsMode, "Disabled"),
        (MeetingsMode, "DisabledUserOverride"),
        (TenantKind, ""),
        (TenantE2EE, "yes"),
    ],
)
def test_parse_refuses_unknown_values(kind: type[CallsMode], text: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        parse_setting(kind, text)
    assert isinstance(raised.value, PolicyInputError)
    assert raised.value.detail is not None and "is not one of" in raised.value.detail
