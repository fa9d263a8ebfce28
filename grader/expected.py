"""What the oracle answers: one expected value per device (no torch needed to hold one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Expected:
    """One expected value per device, as NumPy (or Python) values."""

    by_device: dict[str, Any]

    @property
    def value(self) -> Any:
        return self.by_device["cpu"]

    def __getitem__(self, key) -> "Expected":
        return Expected({d: v[key] for d, v in self.by_device.items()})
