"""Assertions on drawn figures and written image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def assert_labelled(ax) -> None:
    assert ax.get_xlabel().strip(), f"axes {ax.get_title()!r} has no x label"
    assert ax.get_ylabel().strip(), f"axes {ax.get_title()!r} has no y label"


def visible_axes(figure) -> list:
    return [ax for ax in figure.axes if ax.axison]


def assert_image(path: Path, min_bytes: int = 5_000) -> np.ndarray:
    """A real picture: big enough, not one flat colour, a fair share of non-white pixels."""
    path = Path(path)
    assert path.is_file(), path
    assert path.stat().st_size > min_bytes, f"{path.name}: only {path.stat().st_size} bytes"
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    assert pixels.std() > 0, f"{path.name} is blank"
    inked = (pixels < 240).any(axis=2).mean()
    assert inked > 0.02, f"{path.name}: only {inked:.1%} of the pixels are drawn"
    return pixels
