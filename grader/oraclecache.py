"""The oracle's results, recorded on a first check and replayed on the next.

What the oracle computes depends only on the trusted graders, the inputs it is
given, and the versions of the grader and torch. A student's re-check after an
edit asks the same questions again, so :class:`CachedOracle` keys each
question by a hash of

- the exercise's graders and ``exercise.yaml`` (any edit invalidates all),
  the grader's version and torch's (read from its metadata, not imported);
- the function asked about: a torch function by its name (see
  ``lazytorch.TorchName``), a grader's own function or lambda by its code,
  defaults and captured values; anything else is not cached;
- the inputs' bytes, dtypes and shapes (also an oracle call on values the
  student's code produced: a new key);

and stores the CPU result (after every device agreed) in
``cache_dir()/oracle/``, one file per exercise digest, bounded in size. A
result that does not read back exactly (damaged, truncated, another
exercise's, another format) is ignored and recomputed. torch is imported only
for a result that is missing.

Where a cache is not trusted it is not used: ``grader ci``, ``grader batch``,
the Gradescope autograder and any run with a secret seed compute every value
fresh (``grading.grade(use_cache=False)``, the default). A student who edits
their own cache can only fool their own local check.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import os
import types
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.expected import Expected
from grader.lazytorch import LazyModule, TorchName

FORMAT = 2  # 2: one file per exercise digest
MAX_BYTES = 64 * 1024 * 1024  # the whole oracle cache; the least recently used exercises' files go first


def allowed(refused: bool = False) -> bool:
    """A student's own check replays the oracle's cached results; a run with a
    secret seed (``$GRADER_SEED``: a course's CI or autograder) never does."""
    return not refused and not os.environ.get("GRADER_SEED")


class NotCacheable(Exception):
    """This oracle call's function or values cannot be keyed or stored safely."""


@functools.lru_cache(maxsize=1)
def torch_version() -> str:
    """torch's version without importing torch."""
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"


def exercise_digest(ex, seed: Any) -> str:
    """Everything an exercise's oracle results depend on besides each call's own key."""
    from grader import __version__

    h = hashlib.sha256(f"format {FORMAT}|grader {__version__}|torch {torch_version()}|seed {seed}|".encode())
    for path in sorted(ex.grader_files()) + [ex.path / "exercise.yaml"]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# -- keys ----------------------------------------------------------------------------


def _fingerprint(value: Any, h, depth: int = 0) -> None:
    """Feed a canonical description of ``value`` into the hash ``h``."""
    if depth > 20:
        raise NotCacheable("nested too deeply")
    t = type(value)
    if value is None or t in (bool, int, float, str, bytes, complex):
        h.update(f"{t.__name__}:{value!r};".encode())
    elif isinstance(value, TorchName):
        h.update(f"torch:{value.torch_path};".encode())
    elif isinstance(value, LazyModule):
        h.update(f"torchmodule:{value.__name__};".encode())
    elif isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise NotCacheable("object array")
        data = np.ascontiguousarray(value)
        h.update(f"nd:{data.dtype.str}:{data.shape};".encode())
        h.update(hashlib.sha256(data.tobytes()).digest())
    elif isinstance(value, np.generic):
        _fingerprint(np.asarray(value), h, depth + 1)
    elif t in (list, tuple):
        h.update(f"{t.__name__}[{len(value)}];".encode())
        for v in value:
            _fingerprint(v, h, depth + 1)
    elif t is dict:
        h.update(f"dict[{len(value)}];".encode())
        for k in value:  # insertion order is part of the question
            _fingerprint(k, h, depth + 1)
            _fingerprint(value[k], h, depth + 1)
    elif isinstance(value, partial):
        h.update(b"partial;")
        _fingerprint(value.func, h, depth + 1)
        _fingerprint(value.args, h, depth + 1)
        _fingerprint(dict(value.keywords), h, depth + 1)
    elif isinstance(value, types.FunctionType):
        h.update(f"function:{value.__module__}.{value.__qualname__};".encode())
        _code(value.__code__, h, depth + 1)
        _fingerprint(value.__defaults__, h, depth + 1)
        _fingerprint(dict(value.__kwdefaults__ or {}), h, depth + 1)
        for cell in value.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell: a name bound later in the enclosing function
                raise NotCacheable("empty closure cell") from None
            _fingerprint(contents, h, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A grader's own record of a case (its class is part of the graders' digest).
        h.update(f"dataclass:{t.__module__}.{t.__qualname__};".encode())
        _fingerprint({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, h, depth + 1)
    else:
        # Real torch objects (once torch is loaded), classes, instances: their
        # identity is not a stable description. Not cached, computed each time.
        raise NotCacheable(f"a {t.__name__} in an oracle call")


def _code(code: types.CodeType, h, depth: int) -> None:
    h.update(f"code:{code.co_name}:{code.co_firstlineno}:{code.co_names}:{code.co_varnames};".encode())
    h.update(code.co_code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code(const, h, depth + 1)
        else:
            _fingerprint(const, h, depth + 1)


def call_key(context: str, fn: Callable, inputs: tuple, kwargs: dict) -> str:
    h = hashlib.sha256(context.encode())
    _fingerprint(fn, h)
    _fingerprint(tuple(inputs), h)
    _fingerprint(dict(kwargs), h)
    return h.hexdigest()


# -- values ----------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return {"f": value.hex()}  # exact, and NaN and infinities too
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
            raise NotCacheable(f"an array of {arr.dtype}")
        return {"nd": base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode(), "dtype": arr.dtype.str,
                "shape": list(arr.shape), "scalar": isinstance(value, np.generic)}
    if type(value) in (list, tuple):
        return {"seq": [_encode(v) for v in value], "tuple": type(value) is tuple}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"dict": {k: _encode(v) for k, v in value.items()}}
    raise NotCacheable(f"a result of type {type(value).__name__}")


def _decode(data: Any) -> Any:
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is not dict:
        raise ValueError("not an encoded value")
    if "f" in data:
        return float.fromhex(data["f"])
    if "nd" in data:
        dtype = np.dtype(data["dtype"])
        if dtype.hasobject or dtype.kind not in "biufc":
            raise ValueError("not a numeric dtype")
        shape = tuple(int(n) for n in data["shape"])
        arr = np.frombuffer(base64.b64decode(data["nd"], validate=True), dtype=dtype).reshape(shape).copy()
        return arr[()] if data.get("scalar") else arr
    if "seq" in data:
        items = [_decode(v) for v in data["seq"]]
        return tuple(items) if data.get("tuple") else items
    if "dict" in data:
        return {str(k): _decode(v) for k, v in data["dict"].items()}
    raise ValueError("not an encoded value")


def same(a: Any, b: Any) -> bool:
    """Exactly equal: types, dtypes, shapes and bits (NaN equal to NaN)."""
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        if type(a) is not type(b):
            return False
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is float:
        return a.hex() == b.hex() or (a != a and b != b)
    return a == b


class OracleStore:
    """The cache's folder: one file per exercise digest (its graders,
    versions and seed) holding that exercise's results, read once per session
    and written once at its end (:meth:`flush`); each result is checked
    against its own checksum on every read."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.written = 0
        self._packs: dict[str, dict] = {}  # digest -> {key: entry}
        self._changed: set[str] = set()
        self._dropped: dict[str, set] = {}  # damaged entries, not to be merged back in
        self._used: dict[str, set] = {}  # the keys this session read or wrote

    def _path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.json"

    def _read(self, digest: str) -> dict:
        """The entries on disk for ``digest``; a file that is not one of ours is removed."""
        path = self._path(digest)
        try:
            data = json.loads(path.read_bytes())
            if (type(data) is not dict or data.get("format") != FORMAT or data.get("digest") != digest
                    or type(data.get("entries")) is not dict):
                raise ValueError("not this exercise's results")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError, MemoryError):
            try:
                path.unlink()  # damaged or foreign: recomputed, and rewritten
            except OSError:
                pass
            return {}
        return data["entries"]

    def _pack(self, digest: str) -> dict:
        if digest not in self._packs:
            self._packs[digest] = self._read(digest)
            try:
                os.utime(self._path(digest))  # recently used: kept when the cache is trimmed
            except OSError:
                pass
        return self._packs[digest]

    def load(self, key: str, digest: str) -> tuple[Any, list[str]] | None:
        """The result recorded under ``key`` for the exercise ``digest``, with
        the devices that agreed on it; None when missing or damaged."""
        pack = self._pack(digest)
        entry = pack.get(key)
        if entry is None:
            return None
        try:
            text = entry["result"]
            if type(text) is not str or entry.get("sha256") != hashlib.sha256(text.encode()).hexdigest():
                raise ValueError("not this entry")
            value = _decode(json.loads(text))
            devices = [str(d) for d in entry.get("devices", ["cpu"])][:8]
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError, MemoryError):
            del pack[key]  # damaged: recomputed, and rewritten
            self._dropped.setdefault(digest, set()).add(key)
            self._changed.add(digest)
            return None
        self._used.setdefault(digest, set()).add(key)
        return value, devices

    def store(self, key: str, value: Any, devices: list[str], digest: str) -> None:
        """Record ``value`` (written by :meth:`flush`)."""
        try:
            text = json.dumps(_encode(value))  # keys in their order: it is part of the value
        except NotCacheable:
            return
        self._pack(digest)[key] = {"devices": list(devices), "result": text,
                                   "sha256": hashlib.sha256(text.encode()).hexdigest()}
        self._used.setdefault(digest, set()).add(key)
        self._changed.add(digest)

    def flush(self) -> None:
        """Write each exercise's file that changed, merged with what another
        process wrote meanwhile; an exercise's file past an eighth of the bound
        keeps only this session's results."""
        for digest in sorted(self._changed):
            dropped = self._dropped.get(digest, set())
            entries = {k: v for k, v in self._read(digest).items() if k not in dropped}
            entries.update(self._packs[digest])
            text = json.dumps({"format": FORMAT, "digest": digest, "entries": entries})
            if len(text) > MAX_BYTES // 8:
                used = self._used.get(digest, set())
                entries = {k: v for k, v in entries.items() if k in used}
                text = json.dumps({"format": FORMAT, "digest": digest, "entries": entries})
            self._packs[digest] = entries
            path = self._path(digest)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(text)
                os.replace(tmp, path)  # never a half-written file under the digest's name
                self.written += len(text)
            except OSError:
                pass  # a read-only home: the next check computes again
        self._changed.clear()

    # Which exercises were graded with this cache, each under its digest (the
    # graders, versions and seed): `grader check --all` imports torch once,
    # before its jobs, when one of them was not (the jobs would each import it).
    def seen(self, ex, seed: Any) -> bool:
        return (self.folder / "seen" / exercise_digest(ex, seed)).exists()

    def mark_seen(self, ex, seed: Any) -> None:
        try:
            (self.folder / "seen").mkdir(parents=True, exist_ok=True)
            (self.folder / "seen" / exercise_digest(ex, seed)).touch()
        except OSError:
            pass  # only where torch is imported depends on it

    def trim(self, max_bytes: int = MAX_BYTES) -> None:
        """Remove the least recently used exercises' files beyond ``max_bytes``."""
        try:
            entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.folder.glob("*/*.json")]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= max_bytes:
                break
            try:
                path.unlink()
                total -= size
            except OSError:
                pass


class CachedOracle:
    """An oracle that answers from the cache, and asks the real one (importing
    torch) only for what is missing. Used like ``oracle.Oracle``."""

    def __init__(self, store: OracleStore, context: str, make_oracle: Callable[[], Any], verify: bool = False):
        self.store, self.context, self._make = store, context, make_oracle
        self.verify = verify  # the framework's tests: every replayed value is computed too, and must be equal
        self._oracle = None
        self.hits = self.misses = 0
        self._devices: list[str] | None = None

    @property
    def real(self):
        if self._oracle is None:
            self._oracle = self._make()
        return self._oracle

    @property
    def device_names(self) -> list[str]:
        if self._oracle is not None:
            return self._oracle.device_names
        return self._devices or ["cpu"]

    def __call__(self, fn: Callable[..., Any], *inputs: Any, **kwargs: Any) -> Expected:
        try:
            key = call_key(self.context, fn, inputs, kwargs)
        except NotCacheable:
            key = None
        if key is not None:
            found = self.store.load(key, self.context)
            if found is not None:
                value, devices = found
                self.hits += 1
                self._devices = devices
                if self.verify and not same(value, self.real(fn, *inputs, **kwargs).value):
                    from grader.oracle import OracleFault

                    raise OracleFault(f"the oracle's cache replayed a value that differs from a fresh one ({key})")
                return Expected({"cpu": value})
        self.misses += 1
        expected = self.real(fn, *inputs, **kwargs)  # every device, which must agree
        if key is not None:
            self.store.store(key, expected.value, self.real.device_names, self.context)
        return expected
