"""Case references: short, unambiguous to read out on the phone, unique enough to need no
central counter (32^8 combinations per prefix)."""

from __future__ import annotations

import random
import re

# Crockford's base 32: no I, L, O or U, so nothing is misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PATTERN = re.compile(r"^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def new_reference(prefix: str, rng: random.Random) -> str:
    """`rng` is `workflow.random()` inside a workflow (deterministic on replay) or
    `random.SystemRandom()` outside."""
    body = "".join(rng.choice(ALPHABET) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"
