"""Recognises vector files and runs their cases with the matching runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from enseal.vectors import (
    crypto_basics,
    deserialization,
    key_schedule,
    message_protection,
    messages,
    passive_client,
    psk_secret,
    secret_tree,
    sframe_vectors,
    transcript_hashes,
    tree_math,
    tree_operations,
    tree_validation,
    treekem,
    welcome,
)
from enseal.vectors.outcome import Case, VectorSkipped

RUNNERS: tuple[ModuleType, ...] = (
    tree_math,
    messages,
    tree_validation,
    tree_operations,
    treekem,
    crypto_basics,
    deserialization,
    key_schedule,
    message_protection,
    psk_secret,
    secret_tree,
    transcript_hashes,
    sframe_vectors,
    welcome,
    passive_client,
)


class UnrecognisedVectorFile(Exception):
    """No runner recognises the file by its name and shape."""


@dataclass(frozen=True, slots=True)
class LoadedFile:
    name: str
    cases: list[Case]
    run: Callable[[Case], None]


def load(path: Path) -> LoadedFile:
    """Parse ``path`` and pick the runner that recognises it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UnrecognisedVectorFile(f"{path}: cannot read JSON ({exc})") from exc
    for runner in RUNNERS:
        if runner.recognise(path.name, data):
            return LoadedFile(name=path.name, cases=list(runner.cases(data)), run=runner.run)
    raise UnrecognisedVectorFile(f"{path}: not a known test-vector file")


@dataclass(frozen=True, slots=True)
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped)

    def line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def run_file(loaded: LoadedFile, report: Callable[[Case, str], None] | None = None) -> Tally:
    """Run every case; ``report(case, message)`` hears about failures and skips."""
    passed = failed = skipped = 0
    for case in loaded.cases:
        try:
            loaded.run(case)
        except VectorSkipped as skip:
            skipped += 1
            if report:
                report(case, f"skipped: {skip.reason}")
        except Exception as exc:  # a failing case of any kind is reported, not fatal
            failed += 1
            if report:
                report(case, f"FAILED: {type(exc).__name__}: {exc}")
        else:
            passed += 1
    return Tally(passed, failed, skipped)
