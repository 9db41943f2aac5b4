"""Engine benchmark 1: one epoch of a 784-256-128-64-10 network on MNIST-shaped data.

    python benchmarks/engine_mnist.py [--batches 32 128] [--repeat 1] [--samples 60000] [--blas-threads N]

Synthetic data shaped like MNIST (60000 x 784 float32 in [0, 1), 10 random classes). Both sides
train the same network (sigmoid hidden layers, softmax output with cross-entropy, Adam
lr 1e-3, betas 0.9/0.999, eps 1e-8, no L2) for one epoch with the same batch size:
- sklearn: MLPClassifier(activation="logistic", solver="adam", alpha=0, max_iter=1).fit(X, y)
- ours: Trainer(..., eval_every=None).fit(network, X, Y): training alone, the same work; also
  timed with the default evaluations (the whole training set before and after the epoch).
Printed in one run: the times and their ratios; our training GFLOP/s (the epoch's matmul FLOPs
over the training time) against a plain
np.matmul loop of exactly the same shapes. With --repeat N each timing is the fastest of N.
--blas-threads N runs everything (sklearn, ours, the plain loop) with N BLAS threads
(default: the library's own choice).
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from perceptron_lab.nn import Dense, Network
from perceptron_lab.train import Trainer

SIZES = (784, 256, 128, 64, 10)


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n)
    return X, y, np.eye(SIZES[-1], dtype=np.float32)[y]


def time_sklearn(X, y, batch: int) -> float:
    clf = MLPClassifier(
        hidden_layer_sizes=SIZES[1:-1],
        activation="logistic",
        solver="adam",
        alpha=0.0,
        batch_size=batch,
        learning_rate_init=1e-3,
        max_iter=1,
        shuffle=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        clf.fit(X, y)
        elapsed = time.perf_counter() - started
    assert clf.coefs_[0].dtype == np.float32
    return elapsed


def time_ours(X, Y, batch: int) -> tuple[float, float]:
    """(seconds of fit training alone, seconds of fit that also evaluates before and after).

    Training alone (eval_every=None) is the work scikit-learn's fit does; the default fit also
    evaluates the whole training set at epoch 0 and after the last epoch.
    """
    times = []
    for eval_every in (None, 1):
        network = Network(
            [Dense(n, "sigmoid") for n in SIZES[1:-1]] + [Dense(SIZES[-1], "softmax")],
            input_dim=SIZES[0],
            seed=0,
        )
        trainer = Trainer(
            loss="categorical_crossentropy",
            optimizer={"name": "adam", "learning_rate": 1e-3},
            epochs=1,
            batch_size=batch,
            eval_every=eval_every,
        )
        started = time.perf_counter()
        trainer.fit(network, X, Y)
        times.append(time.perf_counter() - started)
        assert np.isfinite(np.concatenate([w.ravel() for w in network.get_weights()])).all()
    return times[0], times[1]


def training_flops(n: int, batch: int) -> float:
    """Matmul FLOPs of one epoch: forward, weight gradients, input gradients past layer 0."""
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    per_row = sum(2 * fi * fo for fi, fo in pairs)  # forward
    per_row += sum(2 * fi * fo for fi, fo in pairs)  # dL/dW
    per_row += sum(2 * fi * fo for fi, fo in pairs[1:])  # dL/dh
    return float(per_row) * n


def time_plain_matmul(n: int, batch: int) -> float:
    """The same GEMMs as one training epoch, with preallocated outputs and nothing else."""
    rng = np.random.default_rng(1)
    kernels = [
        rng.standard_normal((fi, fo), dtype=np.float32) * 0.05 for fi, fo in zip(SIZES[:-1], SIZES[1:])
    ]
    grads = [np.empty_like(k) for k in kernels]
    widths = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    buffers = {}
    for b in set(widths):
        acts = [rng.random((b, s), dtype=np.float32) for s in SIZES]
        deltas = [rng.standard_normal((b, s), dtype=np.float32) for s in SIZES]
        buffers[b] = (acts, deltas)
    started = time.perf_counter()
    for b in widths:
        acts, deltas = buffers[b]
        for i, k in enumerate(kernels):
            np.matmul(acts[i], k, out=acts[i + 1])
        for i in range(len(kernels) - 1, -1, -1):
            np.matmul(acts[i].T, deltas[i + 1], out=grads[i])
            if i > 0:
                np.matmul(deltas[i + 1], kernels[i].T, out=deltas[i])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--blas-threads", type=int, default=None)
    args = parser.parse_args()
    X, y, Y = make_data(args.samples)
    threads = "default" if args.blas_threads is None else args.blas_threads
    print(
        f"784-256-128-64-10 sigmoid + softmax/cross-entropy, Adam 1e-3, 1 epoch, {args.samples} x 784 float32, "
        f"BLAS threads: {threads}"
    )
    limit = (
        contextlib.nullcontext()
        if args.blas_threads is None
        else threadpool_limits(args.blas_threads, "blas")
    )
    with limit:
        run(args, X, y, Y)


def run(args, X, y, Y) -> None:
    for batch in args.batches:
        runs = [
            (time_sklearn(X, y, batch), time_ours(X, Y, batch), time_plain_matmul(args.samples, batch))
            for _ in range(args.repeat)
        ]  # interleaved, so a busy spell hits every side
        sk = min(r[0] for r in runs)
        train_only = min(r[1][0] for r in runs)
        fit = min(r[1][1] for r in runs)
        plain = min(r[2] for r in runs)
        flops = training_flops(args.samples, batch)
        ours_gflops, plain_gflops = flops / train_only / 1e9, flops / plain / 1e9
        print(
            f"batch {batch:4d}: sklearn {sk:7.3f} s | ours {train_only:7.3f} s | ours/sklearn {train_only / sk:.3f}"
            f" | with the 2 evaluation passes {fit:7.3f} s ({fit / sk:.3f})"
        )
        print(
            f"            training GFLOP/s: ours {ours_gflops:6.1f} | plain np.matmul {plain_gflops:6.1f} "
            f"| ours/plain {ours_gflops / plain_gflops:.0%}"
        )


if __name__ == "__main__":
    main()
