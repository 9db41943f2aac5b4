"""Autoencoder figures from `reconstructions.npz` (written by a reconstruction run):
noisy / reconstructed / clean rows of a few test images per noise level, and the 2-D codes."""

from __future__ import annotations

import math

import numpy as np

from ..experiment.results_dir import RunResults
from .style import Plot, new_figure

ROWS = ("noisy", "reconstructed", "clean")


def load_reconstructions(results: RunResults) -> dict[str, np.ndarray] | None:
    path = results.path / "reconstructions.npz"
    if not path.exists():
        return None
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def _image_shape(arrays: dict[str, np.ndarray], n_features: int) -> tuple[int, ...]:
    """(H, W) or (H, W, C) of one flattened sample; a square when the run has no image shape."""
    if "image_shape" in arrays:
        shape = tuple(int(s) for s in arrays["image_shape"])
        return shape[:2] if len(shape) == 3 and shape[2] == 1 else shape
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def _split_title(split: str) -> str:
    return "clean test" if split == "test" else f"noise α = {split.removeprefix('test_noise_')}"


def reconstruction_figure(results: RunResults, arrays: dict[str, np.ndarray]) -> Plot:
    """One block of noisy / reconstructed / clean rows per test split, k images per row."""
    splits = [str(s) for s in arrays["splits"]]
    n_splits, k, n_features = arrays["noisy"].shape
    shape = _image_shape(arrays, n_features)
    # The clean images' range: noise beyond it saturates, so the clean rows keep their contrast.
    low = float(arrays["clean"].min())
    high = max(float(arrays["clean"].max()), low + 1e-12)
    figure = new_figure(1.0 * k + 1.6, 1.0 * 3 * n_splits + 0.6)
    axes = figure.subplots(3 * n_splits, k, squeeze=False)
    for s, split in enumerate(splits):
        for r, row in enumerate(ROWS):
            for j in range(k):
                ax = axes[3 * s + r, j]
                image = np.clip(arrays[row][s, j].reshape(shape), low, high)
                if len(shape) == 3:  # colour: scale to [0, 1] for imshow
                    ax.imshow((image - low) / (high - low))
                else:
                    ax.imshow(image, cmap="gray", vmin=low, vmax=high)
                ax.set_xticks([])
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(f"{_split_title(split)}\n{row}" if r == 0 else row, fontsize=7)
    figure.suptitle(f"{results.name}: test images, first replica", fontsize=10)
    return Plot("reconstructions", "Noisy / reconstructed / clean test images", "Reconstruction", figure)


def codes_figure(results: RunResults, arrays: dict[str, np.ndarray]) -> Plot:
    """The 2-unit bottleneck's outputs on the clean test rows, coloured by class when known."""
    codes = arrays["codes"]
    figure = new_figure(5.2, 4.4)
    ax = figure.subplots()
    labels = arrays.get("code_labels")
    if labels is not None and len(labels) == len(codes):
        for c in np.unique(labels):
            mine = labels == c
            ax.scatter(codes[mine, 0], codes[mine, 1], s=6, alpha=0.7, label=str(int(c)))
        ax.legend(fontsize=7, markerscale=2, loc="best", ncol=2)
    else:
        ax.scatter(codes[:, 0], codes[:, 1], s=6, alpha=0.7)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    ax.set_title(f"{results.name}: bottleneck codes of the clean test rows", fontsize=10)
    return Plot("codes", "2-D bottleneck codes by class", "Reconstruction", figure)


def reconstruction_plots(results: RunResults) -> list[Plot]:
    arrays = load_reconstructions(results)
    if arrays is None:
        return []
    plots = [reconstruction_figure(results, arrays)]
    if "codes" in arrays:
        plots.append(codes_figure(results, arrays))
    return plots
