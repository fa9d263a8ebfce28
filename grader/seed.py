"""The grading seed: public (a student reproduces a run with it) or secret.

What is secret, what is public:

- **Secret**: a seed from the environment (``GRADER_SEED``, read by ``grader
  check``, ``ci``, ``batch`` and ``validate``), whatever it holds (an integer
  or any text: ``python -c "import secrets; print(secrets.token_hex(16))"``),
  and the seed of a Gradescope bundle (``bundle.json``). No output a student
  can see shows it: reports show ``secret:<fingerprint>`` instead.
- **Public**: the default seed (1234) and a seed given with ``--seed N``: a
  student reproduces a run with it, so reports show it.

How inputs come from the seed: a public seed keeps the generator it always
had, ``numpy.random.default_rng([seed, crc32(test name)])``. A secret one is
first turned into a key: a secret of 128 bits or more (estimated from its
alphabet and length) is hashed (SHA-256); a shorter one is stretched with
scrypt (2**17 x 8 blocks: about 0.5 s and 128 MB, once per run), so that each
guess of a brute force costs as much. Each test's generator is seeded with
HMAC-SHA256(key, test name): an input array reveals nothing about the key
that is cheaper to use than guessing the secret. The fingerprint shown for
it is an HMAC of the key too, so it is no shortcut either.

A :class:`Seed` holds the key and the fingerprint, never the secret itself;
it pickles, so a batch's job processes receive the key and do not stretch the
secret again.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import string
import zlib

import numpy as np

DEFAULT_SEED = 1234
# Below this many bits a secret is stretched with scrypt; below WEAK_BITS, the
# commands that use a secret seed warn.
STRONG_BITS = 128
WEAK_BITS = 64
MAKE_ONE = 'python -c "import secrets; print(secrets.token_hex(16))"'

_SALT = b"grader secret seed v1"
_SCRYPT = {"n": 2**17, "r": 8, "p": 1, "maxmem": 256 * 1024 * 1024, "dklen": 32}


class Seed:
    """A grading seed: where each test's inputs come from, and what reports show of it."""

    __slots__ = ("value", "secret", "bits", "fingerprint", "_key")

    def __init__(self, value: int | None, secret: bool, bits: float = 0.0, key: bytes = b"",
                 fingerprint: str = ""):
        self.value = value  # the public seed (None for a secret one)
        self.secret = secret
        self.bits = bits  # the secret's estimated strength
        self.fingerprint = fingerprint
        self._key = key

    @classmethod
    def public(cls, value: int) -> "Seed":
        return cls(int(value), secret=False)

    @classmethod
    def from_secret(cls, secret: str | int) -> "Seed":
        """The secret ``secret`` (stretched when short; cached: once per process)."""
        return _secret_seed(str(secret).strip())

    @property
    def shown(self) -> int | str:
        """What reports show: the public seed, or ``secret:<fingerprint>``."""
        return self.value if not self.secret else f"secret:{self.fingerprint}"

    def generator(self, name: str) -> np.random.Generator:
        """The generator for the test ``name``: the same for the same seed and name."""
        if not self.secret:
            return np.random.default_rng([self.value, zlib.crc32(name.encode())])
        digest = hmac.new(self._key, b"test\0" + name.encode(), hashlib.sha256).digest()
        return np.random.default_rng(int.from_bytes(digest, "big"))

    def offset(self, i: int) -> "Seed":
        """The ``i``-th seed after this one (several seeds for one validation)."""
        if not self.secret:
            return Seed.public(self.value + i)
        if i == 0:
            return self
        key = hmac.new(self._key, f"offset {i}".encode(), hashlib.sha256).digest()
        return Seed(None, True, self.bits, key, _fingerprint(key))

    def __str__(self) -> str:
        return str(self.shown)

    def __repr__(self) -> str:
        return f"Seed({self.shown!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Seed) and (self.secret, self.value, self._key) == (other.secret, other.value,
                                                                                     other._key)

    def __hash__(self) -> int:
        return hash((self.secret, self.value, self._key))

    def __getstate__(self):
        return (self.value, self.secret, self.bits, self.fingerprint, self._key)

    def __setstate__(self, state) -> None:
        self.value, self.secret, self.bits, self.fingerprint, self._key = state


def estimated_bits(secret: str) -> float:
    """How many bits of entropy ``secret`` holds at most, from its alphabet and length."""
    if not secret:
        return 0.0
    chars = set(secret)
    for alphabet, size in ((string.digits, 10), (string.hexdigits, 16),
                           (string.ascii_letters + string.digits + "+/=_-", 64)):
        if chars <= set(alphabet):
            return len(secret) * math.log2(size)
    return len(secret) * math.log2(95)


def _fingerprint(key: bytes) -> str:
    return hmac.new(key, b"fingerprint", hashlib.sha256).hexdigest()[:10]


@functools.lru_cache(maxsize=8)
def _secret_seed(secret: str) -> Seed:
    bits = estimated_bits(secret)
    data = secret.encode("utf-8", "surrogatepass")
    if bits >= STRONG_BITS:
        key = hashlib.sha256(_SALT + b"\0" + data).digest()
    else:
        key = hashlib.scrypt(data, salt=_SALT, **_SCRYPT)
    return Seed(None, True, bits, key, _fingerprint(key))


def as_seed(value) -> Seed:
    """``value`` as a Seed: a Seed as it is, an int as a public seed, None as the
    default, text as a secret (it came from a secret's store: the environment, a bundle)."""
    if isinstance(value, Seed):
        return value
    if value is None:
        return Seed.public(DEFAULT_SEED)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return Seed.public(int(value))
    if isinstance(value, str):
        return Seed.from_secret(value)
    raise TypeError(f"a seed is an int, a secret text or a Seed, not {type(value).__name__}")


def seed_from_env() -> Seed:
    """``$GRADER_SEED`` as a secret seed; the public default when it is unset or blank."""
    value = os.environ.get("GRADER_SEED", "").strip()
    return Seed.from_secret(value) if value else Seed.public(DEFAULT_SEED)


def weak_secret_warning(seed: Seed, where: str = "GRADER_SEED") -> str | None:
    """A warning when ``seed`` is a secret shorter than :data:`WEAK_BITS` bits, else None."""
    if not seed.secret or seed.bits >= WEAK_BITS:
        return None
    return (f"warning: {where} holds about {seed.bits:.0f} bits, fewer than {WEAK_BITS}: it is stretched "
            f"(scrypt), but a longer one is safer. Make one with: {MAKE_ONE}")
