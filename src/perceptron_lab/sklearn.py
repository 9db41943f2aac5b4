"""scikit-learn estimators on the lab's engine: `LabClassifier` and `LabRegressor`.

Their parameters are the config keys (hidden layer sizes instead of the whole architecture,
which fit() learns from the data). `replicas=R` trains R seeds stacked in one network and
predicts with their ensemble: the mean of the class scores, or of the outputs in the
targets' units. They work with clone, Pipeline, GridSearchCV and cross_val_score.

    from perceptron_lab.sklearn import LabClassifier
    LabClassifier(hidden_sizes=(8,), learning_rate=0.01, epochs=100, replicas=5).fit(X, y).score(X, y)
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .data.transforms import make_scaler
from .experiment.predict import ensemble_predict
from .model import Model, TargetCoding
from .nn import Dense, Dropout, Network, get_activation
from .train import EarlyStopping, Trainer

__all__ = ["LabClassifier", "LabRegressor"]


class _LabEstimator(BaseEstimator):
    """Shared parameters and training. Subclasses define the targets and the predictions.

    hidden_sizes: units of each hidden layer (the config's architecture without its input and
    output sizes). activation / output_activation / initializer / optimizer: registry names (or
    {"name": ..., **params} dicts). loss: a loss name or "auto". batch_size: int or "full".
    replicas: networks trained stacked, each from seed (seed, r). l1 / l2 / dropout: the config's
    regularization keys. preprocessing: input scaler kind (none, minmax, minmax01, standard,
    mean_image), fitted on the training rows. early_stopping: hold out validation_split of the
    rows and stop each replica when its validation loss has not improved for `patience` epochs.
    dtype: the network's float type (float64 by default, as scikit-learn's own estimators compute).
    """

    _default_output = "identity"

    def __init__(
        self,
        hidden_sizes=(16,),
        activation="tanh",
        output_activation=None,
        loss="auto",
        optimizer="adam",
        learning_rate=0.01,
        epochs=100,
        batch_size=32,
        shuffle=True,
        replicas=1,
        seed=0,
        initializer="glorot_uniform",
        l1=0.0,
        l2=0.0,
        dropout=0.0,
        preprocessing="standard",
        early_stopping=False,
        validation_split=0.1,
        patience=10,
        min_delta=0.0,
        dtype="float64",
    ):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.replicas = replicas
        self.seed = seed
        self.initializer = initializer
        self.l1 = l1
        self.l2 = l2
        self.dropout = dropout
        self.preprocessing = preprocessing
        self.early_stopping = early_stopping
        self.validation_split = validation_split
        self.patience = patience
        self.min_delta = min_delta
        self.dtype = dtype

    # -- building ---------------------------------------------------------------------------
    def _output(self):
        return self.output_activation or self._default_output

    def _resolved_loss(self) -> str:
        if self.loss != "auto":
            return self.loss
        output = self._output()
        name = output if isinstance(output, str) else output.get("name")
        return "categorical_crossentropy" if name == "softmax" else "mse"

    def _optimizer(self) -> dict:
        """{"name", "learning_rate", ...}: the optimizer's own keys win over learning_rate."""
        spec = {"name": self.optimizer} if isinstance(self.optimizer, str) else dict(self.optimizer)
        return {"learning_rate": self.learning_rate, **spec}

    def _network(self, n_features: int, n_outputs: int) -> Network:
        if (
            isinstance(self.replicas, bool)
            or not isinstance(self.replicas, numbers.Integral)
            or self.replicas < 1
        ):
            raise ValueError(f"replicas must be a positive int, got {self.replicas!r}")
        sizes = [int(units) for units in self.hidden_sizes]
        layers: list = []
        for i, units in enumerate([*sizes, n_outputs]):
            if self.dropout and i > 0:
                layers.append(Dropout(self.dropout))
            layers.append(
                Dense(
                    units,
                    activation=self._output() if i == len(sizes) else self.activation,
                    kernel_initializer=self.initializer,
                    l1=self.l1,
                    l2=self.l2,
                )
            )
        return Network(
            layers,
            input_dim=n_features,
            seeds=[(self.seed, r) for r in range(self.replicas)],
            dtype=self.dtype,
        )

    def _train(self, X: np.ndarray, Y: np.ndarray, stratify) -> None:
        """Fit the input scaler and the stacked network on X (n, f), encoded targets Y (n, out)."""
        self.input_scaler_ = None if self.preprocessing == "none" else make_scaler(self.preprocessing).fit(X)
        Xs = X if self.input_scaler_ is None else self.input_scaler_.transform(X)
        self.network_ = self._network(X.shape[1], Y.shape[1])
        eval_sets, rule = {}, None
        if self.early_stopping:
            Xs, Xv, Y, Yv = train_test_split(
                Xs, Y, test_size=self.validation_split, random_state=self.seed, stratify=stratify
            )
            eval_sets = {"validation": (Xv, Yv, None)}
            rule = EarlyStopping("validation.loss", self.patience, self.min_delta)
        trainer = Trainer(
            loss=self._resolved_loss(),
            optimizer=self._optimizer(),
            epochs=self.epochs,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            early_stopping=rule,
            eval_every=1 if rule is not None else None,
        )
        self.history_ = trainer.fit(self.network_, Xs, Y, eval_sets=eval_sets)

    def _replica_models(self, task: str, **parts) -> list[Model]:
        return [
            Model(
                network=self.network_.select([r]),
                task=task,
                n_features=self.n_features_in_,
                input_scaler=self.input_scaler_,
                input_dtype="float64",
                loss=self._resolved_loss(),
                output_activation=self._output(),
                **parts,
            )
            for r in range(self.network_.replicas)
        ]

    def _inputs(self, X) -> np.ndarray:
        """X (n, f) validated against the fitted inputs, as float64."""
        check_is_fitted(self, "network_")
        return validate_data(self, X, reset=False, dtype=np.float64)


class LabClassifier(ClassifierMixin, _LabEstimator):
    """A multilayer perceptron classifier: one output unit per class, softmax and categorical
    cross-entropy by default (see _LabEstimator for the parameters).

    Attributes after fit: classes_ (n_classes,), n_features_in_, network_ (replicas stacked),
    models_ (one perceptron_lab Model per replica; each can be saved), history_.
    """

    _default_output = "softmax"

    def fit(self, X, y):
        """X (n, f) numbers, y (n,) class labels of any kind."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, labels = np.unique(column_or_1d(y, warn=True), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; got 1 class")
        low, high = get_activation(self._output()).output_range
        coding = TargetCoding(len(self.classes_), len(self.classes_), low, high)
        stratify = labels if self.early_stopping else None
        self._train(X, coding.encode(labels, self.dtype), stratify)
        self.models_ = self._replica_models(
            "classification", classes=[str(c) for c in self.classes_], coding=coding
        )
        return self

    def predict_proba(self, X) -> np.ndarray:
        """(n, n_classes): the mean over replicas of each class's score (softmax probabilities
        by default)."""
        X = self._inputs(X)
        values, _ = ensemble_predict(self.models_, X)
        return values

    def predict(self, X) -> np.ndarray:
        """(n,) labels from classes_: the class with the highest mean score."""
        scores = self.predict_proba(X)
        return self.classes_[scores.argmax(axis=1)]


class LabRegressor(RegressorMixin, _LabEstimator):
    """A multilayer perceptron regressor: identity output and MSE by default; targets scaled
    by `target_preprocessing` for training and predicted back in their own units.

    Attributes after fit: n_features_in_, network_, models_, target_scaler_, history_.
    """

    def __init__(
        self,
        hidden_sizes=(16,),
        activation="tanh",
        output_activation=None,
        loss="auto",
        optimizer="adam",
        learning_rate=0.01,
        epochs=100,
        batch_size=32,
        shuffle=True,
        replicas=1,
        seed=0,
        initializer="glorot_uniform",
        l1=0.0,
        l2=0.0,
        dropout=0.0,
        preprocessing="standard",
        target_preprocessing="standard",
        early_stopping=False,
        validation_split=0.1,
        patience=10,
        min_delta=0.0,
        dtype="float64",
    ):
        super().__init__(
            hidden_sizes=hidden_sizes,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            replicas=replicas,
            seed=seed,
            initializer=initializer,
            l1=l1,
            l2=l2,
            dropout=dropout,
            preprocessing=preprocessing,
            early_stopping=early_stopping,
            validation_split=validation_split,
            patience=patience,
            min_delta=min_delta,
            dtype=dtype,
        )
        self.target_preprocessing = target_preprocessing

    def fit(self, X, y):
        """X (n, f), y (n,) or (n, n_targets) numbers."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        kind = self.target_preprocessing
        self.target_scaler_ = None if kind == "none" else make_scaler(kind).fit(Y)
        encoded = Y if self.target_scaler_ is None else self.target_scaler_.transform(Y)
        self._train(X, encoded, None)
        self.models_ = self._replica_models("regression", target_scaler=self.target_scaler_)
        return self

    def predict(self, X) -> np.ndarray:
        """(n,) or (n, n_targets) like the fitted y: the mean over replicas, in y's units."""
        X = self._inputs(X)
        values, _ = ensemble_predict(self.models_, X)
        return values[:, 0] if self._y_1d else values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
