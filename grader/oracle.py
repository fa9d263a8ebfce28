"""The oracle: expected values computed with PyTorch, in float64, on every device.

``Oracle.__call__(fn, *inputs)`` converts NumPy inputs to float64 tensors on
each device present (CPU always, CUDA and MPS when available), runs ``fn``
(torch functional ops, autograd for gradients) and returns an
:class:`Expected` holding one NumPy result per device. Reduced-precision
shortcuts (TF32) are switched off. The devices must agree with each other: a
disagreement is a fault of the grader, never the student's.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grader.expected import Expected  # noqa: F401  (graders import it from here too)
from grader.lazytorch import real

# The real torch, even while graders hold stand-ins for it (lazytorch.py).
torch = real()


class OracleFault(RuntimeError):
    """The oracle is inconsistent (devices disagree): a grader fault."""


def _disable_tf32() -> None:
    # One API only: mixing the legacy allow_tf32 flags with fp32_precision
    # raises in torch >= 2.9 (see docs/pytorch-notes.md, "GPUs").
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        if hasattr(torch.backends.cudnn, "rnn"):
            torch.backends.cudnn.rnn.fp32_precision = "ieee"
    else:  # older torch
        matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def available_devices() -> list[torch.device]:
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(torch.device("mps"))
    return devices


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


class Oracle:
    """Runs reference computations in float64 on every available device."""

    def __init__(self, devices: list[torch.device] | None = None):
        _disable_tf32()
        # The oracle's tensors are tiny: intra-op threads only add overhead
        # (tens of ms per op on a busy machine instead of microseconds).
        torch.set_num_threads(1)
        self.devices = devices or available_devices()
        # MPS has no float64: it is listed but only used for float32-safe ops.
        self.devices = [d for d in self.devices if d.type != "mps"] or [torch.device("cpu")]

    @property
    def device_names(self) -> list[str]:
        return [describe_device(d) for d in self.devices]

    def __call__(self, fn: Callable[..., Any], *inputs: Any, **kwargs: Any) -> Expected:
        results = {}
        for device in self.devices:
            args = [_to_torch(x, device) for x in inputs]
            kw = {k: _to_torch(v, device) for k, v in kwargs.items()}
            results[device.type] = _to_numpy(fn(*args, **kw))
        expected = Expected(results)
        _check_agreement(expected)
        return expected


def _to_torch(value: Any, device: torch.device) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return torch.tensor(value, dtype=torch.float64, device=device)
        if value.dtype.kind in "iu":
            return torch.tensor(value.astype(np.int64), device=device)
        return torch.tensor(value, device=device)
    if isinstance(value, dict):
        return {k: _to_torch(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return type(value)(_to_torch(v, device) for v in value)
    return value


def _to_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy().copy()
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    return value


def _check_agreement(expected: Expected) -> None:
    reference = expected.by_device.get("cpu")
    for device, value in expected.by_device.items():
        if device != "cpu" and not _agree(reference, value):
            raise OracleFault(f"the oracle's results on cpu and {device} disagree")


def _agree(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_agree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_agree, a, b))
    if isinstance(a, (np.ndarray, float, np.floating)):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(a).max(initial=0)), equal_nan=True)
    return a == b
