"""A saved model: everything that turns raw inputs into answers, in one directory.

    <dir>/model.json         format and version, task, classes and target coding, inputs
                             (feature names, image shape, dtype), loss, output activation,
                             preprocessing kinds, config hash, package version
    <dir>/network.json/.npz  the trained Network (nn.io.save_network)
    <dir>/preprocessing.npz  the fitted scalers' arrays (only when there is preprocessing)

`Model.predict(X_raw)` applies the input scaler fitted on that replica's training rows, runs
the network and undoes the target scaling, so the outputs are in the data's own units.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .nn import Network

FORMAT = "perceptron_lab.model"
FORMAT_VERSION = 1
MODEL_FILE = "model.json"
NETWORK_STEM = "network"
PREPROCESSING_FILE = "preprocessing.npz"


@dataclass
class TargetCoding:
    """How class labels become network targets and outputs become predicted labels.

    One output unit for two classes: targets are the output range's low/high and the decision
    threshold is the midpoint. Otherwise one unit per class (one-hot in the output range) and
    the prediction is the argmax.
    """

    n_classes: int
    n_units: int
    low: float
    high: float

    def encode(self, labels: np.ndarray, dtype) -> np.ndarray:
        """labels (m,) int -> targets (m, n_units)."""
        if self.n_units == 1:
            return np.where(labels == 1, self.high, self.low).astype(dtype).reshape(-1, 1)
        targets = np.full((len(labels), self.n_units), self.low, dtype=dtype)
        targets[np.arange(len(labels)), labels] = self.high
        return targets

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """outputs (..., n_units) -> labels (...) int."""
        if self.n_units == 1:
            return (outputs[..., 0] > (self.low + self.high) / 2).astype(np.int64)
        return outputs.argmax(axis=-1)

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """outputs (..., n_units) -> class scores (..., n_classes): the outputs themselves, or
        for one unit its range (low, high) mapped to the positive class's (0, 1) score."""
        if self.n_units > 1:
            return outputs
        positive = (outputs[..., 0] - self.low) / (self.high - self.low)
        return np.stack([1 - positive, positive], axis=-1)

    def to_dict(self) -> dict[str, Any]:
        return {"n_classes": self.n_classes, "n_units": self.n_units, "low": self.low, "high": self.high}


# ---------------------------------------------------------------------------------------------
# Scalers as data: a preprocessing kind plus the fitted attributes of its transformer


def _scaler_arrays(scaler) -> dict[str, np.ndarray]:
    """The fitted attributes (names ending in '_') of a scikit-learn transformer, as arrays."""
    return {
        name: np.asarray(value)
        for name, value in vars(scaler).items()
        if name.endswith("_") and not name.startswith("_") and value is not None
    }


def _restore_scaler(kind: str, arrays: dict[str, np.ndarray]):
    from .data.transforms import make_scaler

    scaler = make_scaler(kind)
    for name, value in arrays.items():
        setattr(scaler, name, value if value.ndim else value[()])
    return scaler


def _scaler_kind(scaler) -> str:
    """The preprocessing kind whose make_scaler(kind) gives a transformer like `scaler`."""
    from .data.transforms import SCALERS, make_scaler

    for kind in SCALERS:
        fresh = make_scaler(kind)
        if type(fresh) is type(scaler) and fresh.get_params() == scaler.get_params():
            return kind
    raise ValueError(f"{type(scaler).__name__} is not one of the preprocessing kinds {SCALERS}")


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class Model:
    """A trained single-replica network with its preprocessing and its class coding.

    network: Network with replicas=1. task: "classification" or "regression".
    classes: class names (classification). coding: TargetCoding (classification).
    input_scaler / target_scaler: fitted transformers or None. n_features, feature_names,
    input_dtype (the dtype the data loader gives, e.g. float32), image_shape: what the inputs
    are. target_names: the target column(s) of the training data, when it named them.
    loss, output_activation: how it was trained. info: provenance (config_hash, the package
    version, run, fold, seed).
    """

    network: Network
    task: str
    n_features: int
    classes: list[str] | None = None
    coding: TargetCoding | None = None
    input_scaler: Any = None
    target_scaler: Any = None
    feature_names: list[str] | None = None
    input_dtype: str = "float32"
    image_shape: list[int] | None = None
    target_names: list[str] | None = None
    loss: str | None = None
    output_activation: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.network.replicas != 1:
            raise ValueError(f"Model: the network must hold one replica, got {self.network.replicas}")
        if self.task == "classification" and (self.classes is None or self.coding is None):
            raise ValueError("Model: a classifier needs its classes and target coding")

    # -- inference -------------------------------------------------------------------------
    def check_inputs(self, X) -> np.ndarray:
        """X (n, n_features) raw inputs -> (n, n_features) in the loader's dtype; a wrong shape
        or a non-numeric value is a UserError. A DataFrame's columns are taken by feature name."""
        columns = getattr(X, "columns", None)
        if columns is not None and self.feature_names is not None:
            missing = [name for name in self.feature_names if name not in columns]
            if missing:
                raise UserError(
                    f"inputs: no column {missing[0]!r}; the model's features: {self.feature_names}"
                )
            X = X[self.feature_names]
        try:
            X = np.asarray(X, dtype=self.input_dtype)
        except (TypeError, ValueError) as error:
            raise UserError(f"inputs: not numeric ({error})") from None
        if X.ndim == 1 and self.n_features == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise UserError(f"inputs: expected (n, {self.n_features}) features, got shape {X.shape}")
        finite = np.isfinite(X)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            name = self.feature_names[column] if self.feature_names else f"column {column}"
            raise UserError(f"inputs: row {row}, {name!r}: {X[row, column]} is not a finite number")
        return X

    # Public methods take raw X (n, f): they check it (check_inputs) and scale it (_scaled)
    # once; the _-methods below take those network inputs, so an ensemble whose models share
    # a scaler checks and scales each chunk once for all of them.

    def network_inputs(self, X) -> np.ndarray:
        """Raw X (n, f) -> the network's inputs (n, f): the fitted input scaling, network dtype."""
        return self._scaled(self.check_inputs(X))

    def outputs(self, X, batch_size: int | None = None) -> np.ndarray:
        """Raw X (n, f) -> the network's outputs (n, out) (scaled units for scaled targets)."""
        return self._outputs(self.network_inputs(X), batch_size)

    def predict(self, X, batch_size: int | None = None) -> np.ndarray:
        """Raw X (n, f) -> outputs (n, out) in the targets' original units (target scaling undone).

        For a classifier these are the output units themselves; see predict_labels/predict_proba.
        """
        return self._values(self.network_inputs(X), batch_size)

    def predict_proba(self, X, batch_size: int | None = None) -> np.ndarray:
        """Raw X (n, f) -> class scores (n, n_classes), the score_<class> columns of
        predictions.csv: probabilities under a softmax output or one sigmoid unit."""
        return self._scores(self.network_inputs(X), batch_size)

    def predict_index(self, X, batch_size: int | None = None) -> np.ndarray:
        """Raw X (n, f) -> predicted class index (n,) int."""
        return self._index(self.network_inputs(X), batch_size)

    def predict_labels(self, X, batch_size: int | None = None) -> np.ndarray:
        """Raw X (n, f) -> predicted class names (n,) (object array)."""
        return np.asarray(self.classes, dtype=object)[self.predict_index(X, batch_size)]

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        """Checked raw X (n, f) -> network inputs (n, f)."""
        from sklearn import config_context

        X = X.astype(self.network.dtype, copy=False)
        if self.input_scaler is not None and len(X):
            with config_context(assume_finite=True):  # check_inputs checked
                X = self.input_scaler.transform(X)
        return X.astype(self.network.dtype, copy=False)

    def _outputs(self, inputs: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self.network.predict(inputs, batch_size=batch_size)[0]

    def _values(self, inputs: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        out = self._outputs(inputs, batch_size)
        if self.target_scaler is not None and len(out):
            out = self.target_scaler.inverse_transform(out)
        return out

    def _scores(self, inputs: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self._coding().scores(self._outputs(inputs, batch_size))

    def _index(self, inputs: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self._coding().decode(self._outputs(inputs, batch_size))

    def _coding(self) -> TargetCoding:
        if self.coding is None:
            raise UserError("this model is a regressor: it has no classes (use predict)")
        return self.coding

    @property
    def reconstructs(self) -> bool:
        """True for an autoencoder's model: its targets are its own (clean) inputs."""
        return self.info.get("experiment_task") == "reconstruction"

    @property
    def n_outputs(self) -> int:
        """Columns of predict(): output units."""
        return self.network.output_dim

    # -- files -----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The JSON-able contents of model.json."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "classes": self.classes,
            "target_coding": self.coding.to_dict() if self.coding is not None else None,
            "inputs": {
                "n_features": self.n_features,
                "feature_names": self.feature_names,
                "dtype": self.input_dtype,
                "image_shape": self.image_shape,
            },
            "n_outputs": self.n_outputs,
            "target_names": self.target_names,
            "loss": self.loss,
            "output_activation": self.output_activation,
            "preprocessing": {
                "inputs": None if self.input_scaler is None else _scaler_kind(self.input_scaler),
                "targets": None if self.target_scaler is None else _scaler_kind(self.target_scaler),
            },
            "info": self.info,
        }

    def save(self, directory, dill: bool = False) -> Path:
        """Write the model into `directory` (created; its model files replaced). With dill,
        also <dir>/model.dill, this Model pickled (needs the optional dill package)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.save(directory / NETWORK_STEM)
        arrays = {}
        for part, scaler in (("inputs", self.input_scaler), ("targets", self.target_scaler)):
            if scaler is not None:
                arrays.update({f"{part}.{k}": v for k, v in _scaler_arrays(scaler).items()})
        prep = directory / PREPROCESSING_FILE
        if arrays:
            np.savez(prep, **arrays)  # type: ignore[arg-type]
        elif prep.exists():
            prep.unlink()
        # model.json last: a directory without it is not (yet) a model.
        (directory / MODEL_FILE).write_text(json.dumps(self.describe(), indent=1))
        if dill:
            from .extras import require

            dill_module = require("dill", "dill", param="dill")
            with open(directory / "model.dill", "wb") as handle:
                dill_module.dump(self, handle)
        return directory


def _fail(path: Path, message: str) -> UserError:
    return UserError(f"{path}: {message}")


def _read_description(directory: Path) -> dict[str, Any]:
    json_path = directory / MODEL_FILE
    if not directory.is_dir():
        if directory.with_suffix(".json").is_file() or directory.with_suffix(".npz").is_file():
            raise _fail(
                directory,
                "a network saved without its preprocessing and classes by an older perceptron_lab; "
                "load_network reads it, or run the experiment again for a complete model",
            )
        raise _fail(directory, "no such model directory")
    if not json_path.is_file():
        raise _fail(directory, f"not a saved model (no {MODEL_FILE})")
    try:
        description = json.loads(json_path.read_text())
    except json.JSONDecodeError as error:
        raise _fail(json_path, f"not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise _fail(json_path, f"not a saved model (format is not {FORMAT!r})")
    version = description.get("format_version")
    if version != FORMAT_VERSION:
        raise _fail(
            json_path,
            f"model format version {version!r}; this perceptron_lab reads version {FORMAT_VERSION}",
        )
    return description


def _scalers(directory: Path, kinds: dict[str, str | None]) -> dict[str, Any]:
    wanted = {part: kind for part, kind in kinds.items() if kind is not None}
    if not wanted:
        return {}
    path = directory / PREPROCESSING_FILE
    if not path.is_file():
        raise _fail(directory, f"missing {PREPROCESSING_FILE} (the model was saved with preprocessing)")
    out = {}
    try:
        with np.load(path) as npz:
            for part, kind in wanted.items():
                arrays = {key.partition(".")[2]: npz[key] for key in npz.files if key.startswith(part + ".")}
                if not arrays:
                    raise _fail(path, f"no fitted {part} scaler ({kind})")
                out[part] = _restore_scaler(kind, arrays)
    except (OSError, ValueError) as error:
        raise _fail(path, f"cannot read ({error})") from None
    return out


def load_model(directory) -> Model:
    """The Model saved in `directory` (by Model.save, or a run's models/run<r>_fold<k>).

    A directory without a complete model of this format version is a UserError, never a model
    that would answer differently.
    """
    from .nn.io import load_network

    directory = Path(directory)
    description = _read_description(directory)
    try:
        inputs = description["inputs"]
        task = description["task"]
        coding = description["target_coding"]
        kinds = description["preprocessing"]
        network = load_network(directory / NETWORK_STEM)
        scalers = _scalers(directory, kinds)
        model = Model(
            network=network,
            task=task,
            n_features=int(inputs["n_features"]),
            classes=description.get("classes"),
            coding=TargetCoding(**coding) if coding is not None else None,
            input_scaler=scalers.get("inputs"),
            target_scaler=scalers.get("targets"),
            feature_names=inputs.get("feature_names"),
            input_dtype=inputs.get("dtype", "float32"),
            image_shape=inputs.get("image_shape"),
            target_names=description.get("target_names"),
            loss=description.get("loss"),
            output_activation=description.get("output_activation"),
            info=description.get("info", {}),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _fail(directory / MODEL_FILE, f"incomplete model description ({error})") from None
    if network.input_dim != model.n_features or network.output_dim != description["n_outputs"]:
        raise _fail(directory, "the network's input/output sizes do not match model.json")
    for part, scaler, width in (
        ("inputs", model.input_scaler, model.n_features),
        ("targets", model.target_scaler, model.n_outputs),
    ):
        if scaler is not None and int(getattr(scaler, "n_features_in_", -1)) != width:
            raise _fail(
                directory / PREPROCESSING_FILE, f"the {part} scaler was not fitted on {width} columns"
            )
    return model


def load_models(directories: Sequence) -> list[Model]:
    """load_model of each directory, in order."""
    return [load_model(d) for d in directories]
