"""Bearer tokens, enrollment codes and their digests."""

from __future__ import annotations

import random
import re

from enseal.crypto.tokens import new_bearer_token, new_enrollment_code, normalise_enrollment_code, token_digest


def test_bearer_tokens_are_prefixed_random_and_hidden() -> None:
    rng = random.Random(3).randbytes
    first, second = new_bearer_token("est", rng), new_bearer_token("est", rng)
    assert re.fullmatch(r"est_[A-Za-z0-9_-]{43}", first.text())
    assert first != second
    assert first.text() not in repr(first)


def test_enrollment_codes_normalise_to_the_same_digest() -> None:
    code = new_enrollment_code(random.Random(4).randbytes).text()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{5}-){3}[0-9A-HJKMNP-TV-Z]{5}", code)
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalise_enrollment_code(typed) == normalise_enrollment_code(code) == code.replace("-", "")
    assert token_digest("enrollment", normalise_enrollment_code(typed)) == token_digest(
        "enrollment", code.replace("-", "")
    )
    assert token_digest("enrollment", "x") != token_digest("access", "x")
