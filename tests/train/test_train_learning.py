"""The networks learn what the course says they learn."""

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from perceptron_lab.nn import Dense, Network
from perceptron_lab.train import Trainer
from perceptron_lab.train.metrics import classification_metrics, confusion_matrices

GATE_X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
GATES = {"and": [-1, -1, -1, 1], "or": [-1, 1, 1, 1], "xor": [-1, 1, 1, -1]}


def _errors_per_epoch(y):
    """Evaluator: misclassified rows per replica, for a single ±1 output."""

    def evaluator(split, outputs, index, mask):
        wrong = (np.where(outputs[..., 0] >= 0, 1.0, -1.0) != y[index]) & mask
        return {"errors": wrong.sum(axis=1).astype(float)}

    return evaluator


def _train_step_perceptron(gate, epochs):
    y = np.array(GATES[gate], dtype=float)
    net = Network(
        [Dense(1, "step", kernel_initializer={"name": "uniform", "low": -1, "high": 1})],
        input_dim=2,
        replicas=5,
        seed=0,
    )
    history = Trainer(
        loss="sse",
        optimizer={"name": "sgd", "learning_rate": 0.1},
        epochs=epochs,
        batch_size=1,
        evaluator=_errors_per_epoch(y),
    ).fit(net, GATE_X, y[:, None])
    return history.logs["train"]["errors"]


def test_step_perceptron_learns_and_or():
    for gate in ("and", "or"):
        errors = _train_step_perceptron(gate, 50)
        assert (errors[-1] == 0).all(), gate


def test_step_perceptron_never_learns_xor():
    errors = _train_step_perceptron("xor", 200)
    assert (errors >= 1).all()


def test_tanh_2_3_1_solves_xor_in_most_seeds():
    y = np.array(GATES["xor"], dtype=float)
    net = Network([Dense(3, "tanh"), Dense(1, "tanh")], input_dim=2, replicas=5, seed=0, dtype="float64")
    history = Trainer(
        loss="sse",
        optimizer={"name": "sgd", "learning_rate": 0.1},
        epochs=400,
        batch_size=1,
        eval_every=100,
        evaluator=_errors_per_epoch(y),
    ).fit(net, GATE_X, y[:, None])
    assert (history.logs["train"]["errors"][-1] == 0).sum() >= 4


def test_iris_holdout_accuracy():
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, stratify=data.target, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    def accuracy(split, outputs, index, mask):
        truth = (y_train if split == "train" else y_test)[index]
        return classification_metrics(confusion_matrices(truth, outputs.argmax(axis=2), mask, 3))

    net = Network([Dense(8, "tanh"), Dense(3, "softmax")], input_dim=4, replicas=3, seed=0)
    history = Trainer(
        loss="categorical_crossentropy",
        optimizer={"name": "adam", "learning_rate": 0.01},
        epochs=100,
        batch_size=16,
        evaluator=accuracy,
        eval_every=50,
    ).fit(net, X_train, np.eye(3)[y_train], eval_sets={"test": (X_test, np.eye(3)[y_test], None)})
    test_accuracy = history.logs["test"]["accuracy"][-1]
    assert (test_accuracy >= 0.93).all(), test_accuracy
