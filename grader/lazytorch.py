"""``import torch`` in a grader, without paying for torch until it is used.

Importing torch is most of a re-check's time, and with the oracle's results
cached (``oraclecache.py``) a re-check often needs none of it. While grading
with the cache, :func:`install` puts stand-ins for ``torch`` and the
submodules graders import in ``sys.modules``. A grader's ``import torch`` and
``import torch.nn.functional as F`` then bind the stand-ins; ``torch.sigmoid``
or ``F.softmax`` is a :class:`TorchName` that names the function without
importing anything, which is what the oracle's cache keys on. The first time
one is called (an oracle result that is not cached, or a grader that uses
torch directly), the real torch is imported, once, and every stand-in
forwards to it from then on. Nothing is ever computed differently: a
stand-in either names a torch object or is that object.

The stand-ins are in ``sys.modules`` only while graders are imported
(:func:`stand_ins`, around pytest's collection), also where torch is already
imported (a notebook's kernel, a test process), so that a function is named
the same way whether or not torch was loaded: the cache's keys do not depend
on it. Afterwards torch's own code, which imports parts of itself lazily,
sees only the real torch.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import types
from typing import Any, Iterator

# What graders import by name (``import torch.nn.functional as F``).
SUBMODULES = ("torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.autograd",
              "torch.autograd.functional", "torch.linalg", "torch.special", "torch.random")

_real: types.ModuleType | None = None
_installed: dict[str, "LazyModule"] = {}
_lock = threading.Lock()


def loaded() -> bool:
    """Whether the real torch has been imported by this process."""
    return _real is not None or ("torch" in sys.modules and not isinstance(sys.modules["torch"], LazyModule))


@contextlib.contextmanager
def stand_ins() -> Iterator[None]:
    """While this lasts, ``import torch`` (and its submodules in SUBMODULES)
    gives the stand-ins; afterwards ``sys.modules`` is as it was, with the
    real modules if torch was imported meanwhile."""
    global _real
    saved = {name: sys.modules.get(name) for name in SUBMODULES}
    if saved["torch"] is not None and not isinstance(saved["torch"], LazyModule):
        _real = saved["torch"]
    for name in SUBMODULES:
        sys.modules[name] = _installed.setdefault(name, LazyModule(name))
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is not None and not isinstance(module, LazyModule):
                sys.modules[name] = module
            elif _real is not None and name in _real_modules:
                sys.modules[name] = _real_modules[name]
            else:
                sys.modules.pop(name, None)


_real_modules: dict[str, types.ModuleType] = {}


def real() -> types.ModuleType:
    """The real torch (imported now, once, if it was not yet)."""
    global _real
    with _lock:
        if _real is None:
            standing = {name: sys.modules.pop(name) for name in SUBMODULES
                        if isinstance(sys.modules.get(name), LazyModule)}
            import gc

            # Collections during torch's import walk a growing heap for nothing.
            enabled = gc.isenabled()
            gc.disable()
            try:
                torch = importlib.import_module("torch")
                for name in SUBMODULES[1:]:
                    importlib.import_module(name)
            finally:
                if enabled:
                    gc.enable()
            gc.freeze()  # what torch allocated stays out of every later collection
            _real = torch
            _real_modules.update({name: sys.modules[name] for name in SUBMODULES if name in sys.modules})
            sys.modules.update(standing)  # graders still being imported get the stand-ins
    return _real


_uses = 0


def uses() -> int:
    """How many times a stand-in has been used for what it names (called,
    unwrapped, compared): a re-check answered from the cache uses none."""
    return _uses


def _use(path: str) -> Any:
    global _uses
    _uses += 1
    return _resolve(path)


_resolved: dict[str, Any] = {}  # path -> object: an oracle's loop calls the same few thousands of times


def _resolve(path: str) -> Any:
    obj = _resolved.get(path, _resolved)
    if obj is _resolved:
        obj = _real if _real is not None else real()
        for part in path.split(".")[1:]:
            obj = getattr(obj, part)
        _resolved[path] = obj
    return obj


def resolve(value: Any) -> Any:
    """``value`` with stand-ins replaced by the torch objects they name
    (in lists, tuples and dicts too); anything else as it is."""
    return _unwrap(value)


def _unwrap(value: Any) -> Any:
    kind = type(value)
    if kind is TorchName:
        return _use(value._path)
    if kind in (list, tuple):
        return kind(_unwrap(v) for v in value)
    if kind is dict:
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, LazyModule):
        return _use(value.__name__)
    return value


def _attribute(path: str) -> Any:
    """What ``<path>`` is for a grader: a stand-in that names it, or the object itself."""
    if path in SUBMODULES:
        return _installed.get(path) or LazyModule(path)
    if _real is None:
        return TorchName(path)
    obj = _resolve(path)
    if isinstance(obj, types.ModuleType):
        return LazyModule(path)
    # Callables keep their name (the oracle's cache keys on it); values such as
    # dtypes are handed over as they are, to go wherever torch expects them.
    return TorchName(path) if callable(obj) else obj


class LazyModule(types.ModuleType):
    """A stand-in for a torch module: its attributes are named, not imported."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__path__ = []  # a package, so that ``import torch.nn.functional`` finds its parts here

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = _attribute(f"{self.__name__}.{name}")
        if _real is not None:
            # Looked up once: what a name stands for no longer changes once torch is here.
            self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


class TorchName:
    """A torch function, class or value, named by its path (``torch.nn.functional.softmax``)."""

    __slots__ = ("_path",)

    def __init__(self, path: str):
        self._path = path

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if _real is None:
            return TorchName(f"{self._path}.{name}")
        return getattr(_use(self._path), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _use(self._path)(*_unwrap(args), **_unwrap(kwargs))

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, _use(self._path))

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, TorchName):
            return self._path == other._path
        return _use(self._path) == other

    def __hash__(self) -> int:
        return hash(self._path)

    def __repr__(self) -> str:
        return f"<torch name {self._path}>"

    @property
    def torch_path(self) -> str:
        return self._path
