"""Every case of every official vector file, through the same runners as ``python -m enseal.vectors``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from enseal.vectors.outcome import Case, VectorSkipped
from enseal.vectors.registry import LoadedFile, UnrecognisedVectorFile, load

DATA = Path(__file__).parent / "data"
VECTOR_FILES = sorted(p for p in DATA.glob("*/*.json"))


def _collect() -> list[tuple[LoadedFile, Case]]:
    params = []
    for path in VECTOR_FILES:
        try:
            loaded = load(path)
        except UnrecognisedVectorFile:
            continue  # test_every_file_recognised reports these
        params.extend((loaded, case) for case in loaded.cases)
    return params


_PARAMS = _collect()


@pytest.mark.parametrize(("loaded", "case"), _PARAMS, ids=[f"{f.name}:{c.case_id}" for f, c in _PARAMS])
def test_vector_case(loaded: LoadedFile, case: Case) -> None:
    try:
        loaded.run(case)
    except VectorSkipped as skip:
        pytest.skip(skip.reason)


def test_data_integrity() -> None:
    for sums in DATA.glob("*/SHA256SUMS"):
        for line in sums.read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            path = sums.parent / name.strip().removeprefix("./")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path


KNOWN_FILES = {
    "mls": {"tree-math", "crypto-basics", "deserialization", "messages", "tree-validation", "tree-operations",
            "treekem"},
    "sframe": {"rfc9605-test-vectors", "sframe-wg-head-test-vectors", "sframe-wg-head-test-vectors-aes256"},
}


def test_implemented_files_recognised() -> None:
    for folder, names in KNOWN_FILES.items():
        for name in names:
            load(DATA / folder / f"{name}.json")


def test_unrecognised_file_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('[{"what": 1}]')
    with pytest.raises(UnrecognisedVectorFile):
        load(bogus)
