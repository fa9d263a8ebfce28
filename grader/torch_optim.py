"""torch.optim's optimizers, built and stepped without importing torch's compiler.

An optimizer's constructor and ``step()`` pass through wrappers that exist for
``torch.compile``: functions wrapped by ``torch._disable_dynamo`` and a
``step`` wrapped by ``_use_grad_for_differentiable``. Outside a compile they
change nothing, but their first call imports ``torch._dynamo`` and sympy:
about a second of CPU, as long as importing torch itself, and most of a cold
check of the optimizer exercise.

:func:`make` and :func:`step` run the very same constructor and ``step`` with
those wrappers short-circuited, for the duration of the call only:

- a function wrapped by ``torch._disable_dynamo`` caches its "disabled" form
  on itself (``fn.__dynamo_disable``); it is told, for the call, that this
  form is the function itself, which is what disabling the compiler means
  where nothing is being compiled;
- ``step`` is called beneath ``_use_grad_for_differentiable``, inside the grad
  mode that wrapper would set (``defaults["differentiable"]``); its other
  effect is a ``graph_break()``, a no-op outside a compile.

Nothing is changed where the compiler is already imported, or where a torch
version's wrappers are not the ones recognised here: the optimizer then runs
exactly as ``opt.step()`` does, importing the compiler (slower, never
different). ``tests/test_torch_optim.py`` checks that both ways give bitwise
the same parameters and state.
"""

from __future__ import annotations

import contextlib
import sys
import types
from typing import Any, Iterator

from grader import lazytorch

_ATTRIBUTE = "__dynamo_disable"  # where torch._disable_dynamo caches the disabled function


def _codes() -> tuple[Any, Any] | None:
    """The code objects of torch's two compiler wrappers, or None where this
    torch has other ones."""
    torch = lazytorch.real()
    try:
        from torch.optim.optimizer import _use_grad_for_differentiable

        disable = torch._disable_dynamo(lambda: None).__code__
        use_grad = _use_grad_for_differentiable(lambda self: None).__code__
    except (AttributeError, ImportError, TypeError):
        return None
    return disable, use_grad


def _compiler_imported() -> bool:
    return "torch._dynamo" in sys.modules


def _disable_wrappers(owner: Any, disable_code: Any) -> Iterator[types.FunctionType]:
    """The functions of ``owner`` (a class's MRO or a module) that
    torch._disable_dynamo wraps, also one closure deep (optimizers' functional
    forms wrap a disabled function in a fallback)."""
    namespaces = [vars(k) for k in owner.__mro__] if isinstance(owner, type) else [vars(owner)]
    for namespace in namespaces:
        for value in list(namespace.values()):
            candidates = [value]
            for cell in getattr(value, "__closure__", None) or ():
                try:
                    candidates.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    continue
            for f in candidates:
                if isinstance(f, types.FunctionType) and f.__code__ is disable_code:
                    wrapped = getattr(f, "__wrapped__", None)
                    if isinstance(wrapped, types.FunctionType):
                        yield wrapped


@contextlib.contextmanager
def _without_compiler(cls: type) -> Iterator[Any]:
    """While this lasts, the disabled forms of ``cls``'s wrapped methods and of
    its module's functional forms are the functions themselves; yields the
    code of the step wrapper, or None where nothing is short-circuited."""
    codes = None if _compiler_imported() else _codes()
    if codes is None:
        yield None
        return
    disable_code, use_grad_code = codes
    owners = [cls, sys.modules.get(cls.__module__)]
    seeded = []
    for owner in owners:
        if owner is None:
            continue
        for fn in _disable_wrappers(owner, disable_code):
            if _ATTRIBUTE not in vars(fn):
                setattr(fn, _ATTRIBUTE, fn)
                seeded.append(fn)
    try:
        yield use_grad_code
    finally:
        for fn in seeded:
            if vars(fn).get(_ATTRIBUTE) is fn:
                delattr(fn, _ATTRIBUTE)


def make(cls: Any, params: Any, **hyperparameters: Any) -> Any:
    """``cls(params, **hyperparameters)`` (``cls`` a torch.optim class, or a
    grader's stand-in for one), without importing the compiler."""
    cls = lazytorch.resolve(cls)
    with _without_compiler(cls):
        return cls(params, **hyperparameters)


def step(optimizer: Any) -> None:
    """``optimizer.step()``, without importing the compiler."""
    torch = lazytorch.real()
    with _without_compiler(type(optimizer)) as use_grad_code:
        inner = _beneath(type(optimizer).step, use_grad_code)
        if inner is None:
            optimizer.step()
            return
        with torch.set_grad_enabled(optimizer.defaults.get("differentiable", False)):
            inner(optimizer)


def _beneath(method: Any, use_grad_code: Any) -> Any:
    """The function ``_use_grad_for_differentiable`` wraps in ``method``'s
    chain of wrappers (a profiling hook, that wrapper), or None."""
    if use_grad_code is None:
        return None
    f, seen = method, 0
    while f is not None and seen < 8:
        if getattr(f, "__code__", None) is use_grad_code:
            return getattr(f, "__wrapped__", None)
        f, seen = getattr(f, "__wrapped__", None), seen + 1
    return None
