"""The QR encoder of the verification screens: structure per ISO/IEC 18004, and (when zbarimg
is installed) decoding by an independent reader, which is the real proof."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from enseal.cli.terminal_qr import QUIET_ZONE, QrCode, _rs_divisor, _rs_remainder
from enseal.errors import LocalProtocolError


def test_versions_fit_the_payloads() -> None:
    assert QrCode(bytes(42)).version == 3  # a call security code's QR payload
    assert QrCode(bytes(66)).version == 5  # a safety number's
    with pytest.raises(LocalProtocolError):
        QrCode(bytes(200))


def test_function_patterns() -> None:
    code = QrCode(b"enseal")
    size = code.size
    assert size == 21
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):
        assert code.dark(cx, cy) and not code.dark(cx - 2, cy) and code.dark(cx - 3, cy)
    assert [code.dark(x, 6) for x in range(8, size - 8)] == [x % 2 == 0 for x in range(8, size - 8)]
    assert code.dark(8, size - 8)  # the dark module


def test_reed_solomon_matches_the_standard_example() -> None:
    # ISO/IEC 18004 annex I: "01234567" in version 1-M, data codewords and their 10 EC codewords
    data = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
    assert _rs_remainder(data, _rs_divisor(10)) == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55]


def _pbm(code: QrCode, path: Path, scale: int = 6) -> None:
    n = (code.size + 2 * QUIET_ZONE) * scale
    rows = [
        " ".join("1" if code.dark(px // scale - QUIET_ZONE, py // scale - QUIET_ZONE) else "0" for px in range(n))
        for py in range(n)
    ]
    path.write_text(f"P1\n{n} {n}\n" + "\n".join(rows) + "\n")


@pytest.mark.parametrize("length", [1, 17, 42, 66, 100])
def test_an_independent_reader_decodes_it(tmp_path: Path, length: int) -> None:
    if shutil.which("zbarimg") is None:
        if os.environ.get("CI"):
            pytest.skip("zbarimg (Debian zbar-tools) is not installed on this CI machine")
        pytest.skip("zbarimg is not installed")
    payload = bytes(0x41 + (i * 7 + length) % 26 for i in range(length))
    _pbm(QrCode(payload), tmp_path / "code.pbm")
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "code.pbm")], capture_output=True, check=True)
    assert decoded.stdout.rstrip(b"\n") == payload


def test_terminal_drawing_has_the_quiet_zone() -> None:
    lines = QrCode(b"x").terminal_lines()
    assert len(lines) == (21 + 2 * QUIET_ZONE + 1) // 2
    assert all(len(line) == 21 + 2 * QUIET_ZONE for line in lines)
    assert lines[0].strip() == ""
