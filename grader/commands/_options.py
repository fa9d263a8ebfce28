"""Option types and checks shared by the subcommands (not a subcommand itself)."""

from __future__ import annotations

import argparse
import math
import os


def percent(text: str) -> float:
    """An argparse type: a percentage, 0 to 100 (a usage error otherwise, exit status 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(value) or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage is between 0 and 100, not {text}")
    return value


def weak_env_seed_warning() -> str | None:
    """The warning for a ``$GRADER_SEED`` of fewer than 64 bits (None when it is unset or strong).

    Told from the secret's alphabet and length alone: nothing is stretched here."""
    value = os.environ.get("GRADER_SEED", "").strip()
    if not value:
        return None
    from grader.seed import Seed, estimated_bits, weak_secret_warning

    return weak_secret_warning(Seed(None, secret=True, bits=estimated_bits(value)))
