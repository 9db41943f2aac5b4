"""What a reconstruction (autoencoder) run keeps for its figures: a few test images per noise
level as noisy input / reconstruction / clean target, and the 2-D codes of the bottleneck.

Everything is taken from the first replica and returned in the dataset's original units (the
inputs' scaler undone), as the arrays `reconstructions.npz` stores:

    image_shape (2,) or (3,)         the dataset's image shape, when it has one
    splits (S,)                      split names: test, then test_noise_<alpha> by alpha
    noisy, reconstructed, clean      (S, k, f): k test samples per split, the same samples in every split
    labels (k,)                      their class labels (classification datasets)
    codes (n, 2), code_labels (n,)   bottleneck outputs on the clean test rows (2-unit bottleneck only)
"""

from __future__ import annotations

import numpy as np

from ..data import Dataset
from ..nn import Dense, Network
from .preparation import SplitData

N_IMAGES = 8
MAX_CODES = 2000


def bottleneck_index(network: Network) -> int | None:
    """Index in network.layers of the narrowest Dense layer before the output, or None."""
    hidden = [(layer.units, i) for i, layer in enumerate(network.layers[:-1]) if isinstance(layer, Dense)]
    return min(hidden)[1] if hidden else None


def _units(network: Network, index: int) -> int | None:
    layer = network.layers[index]
    return layer.units if isinstance(layer, Dense) else None


def encoder(network: Network, upto: int) -> Network:
    """The network's layers 0..upto (inclusive) with their trained parameters and state
    (BatchNorm's running statistics), every replica."""
    config = network.get_config()
    config["layers"] = config["layers"][: upto + 1]
    part = Network.from_config(config, initialize=False)
    for layer, arrays in part.parameters.views.items():  # a prefix keeps its layers' names
        for name, view in arrays.items():
            view[...] = network.parameters.views[layer][name]
    return part


def _original_units(values: np.ndarray, scaler) -> np.ndarray:
    return scaler.inverse_transform(values) if scaler is not None else values


def reconstruction_arrays(
    network: Network, splits: dict[str, SplitData], scaler, test_data: Dataset, n_images: int = N_IMAGES
) -> dict[str, np.ndarray]:
    """The arrays described in the module docstring, for replica 0 of `network`.

    scaler: replica 0's fitted input scaler (None without input preprocessing); test_data: the
    dataset the test rows come from (their labels and image shape).
    """
    from ..report.inputs import order_splits

    names = [s for s in order_splits(splits) if s.startswith("test")]
    test = splits["test"]
    rows = test.index[0][:n_images]
    sources = test.source[rows]
    one = network.select([0])
    noisy, reconstructed, clean = [], [], []
    for name in names:
        split = splits[name]
        mine = split.index[0]
        # The first row of this split (noisy copy) whose source is each chosen test sample.
        chosen = np.array([mine[np.flatnonzero(split.source[mine] == s)[0]] for s in sources], dtype=int)
        inputs = split.X[chosen]
        noisy.append(_original_units(inputs, scaler))
        reconstructed.append(_original_units(one.predict(inputs)[0], scaler))
        clean.append(np.asarray(split.truth[chosen], dtype=np.float64))
    arrays: dict[str, np.ndarray] = {
        "splits": np.asarray(names),
        "noisy": np.stack(noisy),
        "reconstructed": np.stack(reconstructed),
        "clean": np.stack(clean),
    }
    if "image_shape" in test_data.meta:
        arrays["image_shape"] = np.asarray(test_data.meta["image_shape"], dtype=int)
    classified = test_data.task == "classification"
    if classified:
        arrays["labels"] = test_data.y[sources]
    index = bottleneck_index(one)
    if index is not None and _units(one, index) == 2:
        code_rows = test.index[0][:MAX_CODES]
        arrays["codes"] = encoder(one, index).predict(test.X[code_rows])[0]
        if classified:
            arrays["code_labels"] = test_data.y[test.source[code_rows]]
    return arrays
