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

**One run's inputs teach nothing about the next.** A report quotes what a
failing call raised, so a submission can print its inputs; with the same
inputs on every run, answers computed offline would score on the next push.
So a secret seed grades each run (``grader ci``, ``grader check``, each
student of ``grader batch``, each Gradescope run) with a *run seed*:
:meth:`Seed.for_run` mixes a fresh nonce (``os.urandom``, picked by the
grader, never by the submission or the repository) into the key, HMAC-SHA256(
key, nonce). Reports show ``secret:<fingerprint>/run:<nonce>``: useless for
the next run, which draws its own nonce, and what staff need to reproduce the
grade (``GRADER_SEED=<secret> grader check EX --run-nonce <nonce>``); only the
secret's holder can.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import re
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
NONCE_BYTES = 8  # 64 bits: two runs drawing the same nonce is out of reach (2**-32 after 2**16 runs)
_NONCE = re.compile(rf"[0-9a-f]{{{2 * NONCE_BYTES}}}")
_SCRYPT = {"n": 2**17, "r": 8, "p": 1, "maxmem": 256 * 1024 * 1024, "dklen": 32}


class Seed:
    """A grading seed: where each test's inputs come from, and what reports show of it."""

    __slots__ = ("value", "secret", "bits", "fingerprint", "_key", "run", "_secret_key")

    def __init__(self, value: int | None, secret: bool, bits: float = 0.0, key: bytes = b"",
                 fingerprint: str = "", run: str | None = None, secret_key: bytes | None = None):
        self.value = value  # the public seed (None for a secret one)
        self.secret = secret
        self.bits = bits  # the secret's estimated strength
        self.fingerprint = fingerprint
        self._key = key  # what the inputs are drawn from (the run's key for a run seed)
        self.run = run  # the run's nonce (hex), None outside a run
        self._secret_key = key if secret_key is None else secret_key  # the key before any run was mixed in

    @classmethod
    def public(cls, value: int) -> "Seed":
        return cls(int(value), secret=False)

    @classmethod
    def from_secret(cls, secret: str | int) -> "Seed":
        """The secret ``secret`` (stretched when short; cached: once per process)."""
        return _secret_seed(str(secret).strip())

    @property
    def shown(self) -> int | str:
        """What reports show: the public seed, ``secret:<fingerprint>``, or for one run of a
        secret seed ``secret:<fingerprint>/run:<nonce>``."""
        if not self.secret:
            return self.value
        return f"secret:{self.fingerprint}" + (f"/run:{self.run}" if self.run else "")

    def for_run(self, nonce: str | None = None) -> "Seed":
        """This seed for one grading run. A secret seed gets a key of its own for the run,
        HMAC(key, nonce): ``nonce`` is a fresh one (``os.urandom``) unless given, which is
        for staff reproducing a run they graded (the nonce its report shows). A public seed
        is returned as it is (it protects nothing: it is for reproducing)."""
        if not self.secret:
            return self
        nonce = new_nonce() if nonce is None else parse_nonce(nonce)
        key = hmac.new(self._secret_key, b"run\0" + nonce.encode(), hashlib.sha256).digest()
        return Seed(None, True, self.bits, key, self.fingerprint, run=nonce, secret_key=self._secret_key)

    @property
    def without_run(self) -> "Seed":
        """The secret seed this run seed was made from (itself when not a run seed)."""
        if not self.run:
            return self
        return Seed(None, True, self.bits, self._secret_key, self.fingerprint)

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
        return Seed(None, True, self.bits, key, _fingerprint(key), run=self.run)

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
        return (self.value, self.secret, self.bits, self.fingerprint, self._key, self.run, self._secret_key)

    def __setstate__(self, state) -> None:
        (self.value, self.secret, self.bits, self.fingerprint, self._key, self.run,
         self._secret_key) = state


def new_nonce() -> str:
    """A fresh run nonce: random bytes from the operating system, as hex."""
    return os.urandom(NONCE_BYTES).hex()


def parse_nonce(text: str) -> str:
    """``text`` as a run nonce (as a report shows it: ``run:`` optional), or ValueError."""
    nonce = str(text).strip().lower().removeprefix("run:")
    if not _NONCE.fullmatch(nonce):
        raise ValueError(f"a run nonce is {2 * NONCE_BYTES} hexadecimal digits, as a report shows it after "
                         f"'/run:', not {str(text)[:40]!r}")
    return nonce


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


def run_seed(public: int | None = None, nonce: str | None = None) -> Seed:
    """The seed of one grading run: ``--seed N`` as it is (public); else ``$GRADER_SEED``
    for this run (:meth:`Seed.for_run`: a fresh nonce unless ``nonce``, given by staff
    reproducing a run); else the default. ValueError for a malformed nonce, or a nonce
    without a secret seed (it would change nothing)."""
    seed = Seed.public(public) if public is not None else seed_from_env()
    if nonce is not None and not seed.secret:
        raise ValueError("--run-nonce reproduces a run of a secret seed: set GRADER_SEED to that secret "
                         "(and give no --seed)")
    return seed.for_run(nonce)


def weak_secret_warning(seed: Seed, where: str = "GRADER_SEED") -> str | None:
    """A warning when ``seed`` is a secret shorter than :data:`WEAK_BITS` bits, else None."""
    if not seed.secret or seed.bits >= WEAK_BITS:
        return None
    return (f"warning: {where} holds about {seed.bits:.0f} bits, fewer than {WEAK_BITS}: it is stretched "
            f"(scrypt), but a longer one is safer. Make one with: {MAKE_ONE}")
