"""Engine benchmark 1: one epoch of a 784-256-128-64-10 network on MNIST-shaped data.

    python benchmarks/engine_mnist.py [--batches 32 128] [--repeat 1] [--samples 60000] [--blas-threads N]
                                      [--skip-torch] [--skip-startup]

Synthetic data shaped like MNIST (60000 x 784 float32 in [0, 1), 10 random classes). Every side
trains the same network (sigmoid hidden layers, softmax output with cross-entropy, Adam
lr 1e-3, betas 0.9/0.999, eps 1e-8, no L2) for one epoch with the same batch size, shuffled:
- sklearn: MLPClassifier(activation="logistic", solver="adam", alpha=0, max_iter=1).fit(X, y)
- ours: Trainer(..., eval_every=None).fit(network, X, Y): training alone, the same work; also
  timed with the default evaluations (the whole training set before and after the epoch).
- PyTorch (CPU, when it imports): nn.Sequential of nn.Linear and nn.Sigmoid, nn.CrossEntropyLoss,
  torch.optim.Adam, batches of a torch.randperm order of the same data.
Printed in one run: the times (wall and CPU seconds) and their ratios; our training GFLOP/s
(the epoch's matmul FLOPs over the training time) against a plain np.matmul loop of exactly the
same shapes, and our time over the loop's; which kernel path ran (nn/kernels.py: numba or
NumPy) and, from fresh processes, what numba adds to the first fit (its import and compiling
the kernels, or loading them from numba's cache). With --repeat N each timing is the fastest of
N interleaved runs. --blas-threads N runs everything (sklearn, ours and our compiled kernels,
the plain loop, torch.set_num_threads) with N threads (default: each library's own choice).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from perceptron_lab.nn import Dense, Network, kernels
from perceptron_lab.train import Trainer

SIZES = (784, 256, 128, 64, 10)


class Clock:
    """Wall and CPU seconds (process_time: every thread of the process) since construction."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n)
    return X, y, np.eye(SIZES[-1], dtype=np.float32)[y]


def time_sklearn(X, y, batch: int) -> tuple[float, float]:
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
        clock = Clock()
        clf.fit(X, y)
        elapsed = clock.read()
    assert clf.coefs_[0].dtype == np.float32
    return elapsed


def time_ours(X, Y, batch: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((wall, CPU) seconds of fit training alone, (wall, CPU) of fit that also evaluates before
    and after).

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
        clock = Clock()
        trainer.fit(network, X, Y)
        times.append(clock.read())
        assert np.isfinite(np.concatenate([w.ravel() for w in network.get_weights()])).all()
    return times[0], times[1]


def warm_up(X, Y) -> None:
    """A short fit first, so that numba's import and the kernels' compiling or loading (timed
    apart, see startup_cost) fall outside the timed fits."""
    network = Network(
        [Dense(n, "sigmoid") for n in SIZES[1:-1]] + [Dense(SIZES[-1], "softmax")], input_dim=SIZES[0], seed=0
    )
    Trainer(loss="categorical_crossentropy", optimizer="adam", epochs=1, batch_size=32, eval_every=None).fit(
        network, X[:256], Y[:256]
    )


def training_flops(n: int, batch: int) -> float:
    """Matmul FLOPs of one epoch: forward, weight gradients, input gradients past layer 0."""
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    per_row = sum(2 * fi * fo for fi, fo in pairs)  # forward
    per_row += sum(2 * fi * fo for fi, fo in pairs)  # dL/dW
    per_row += sum(2 * fi * fo for fi, fo in pairs[1:])  # dL/dh
    return float(per_row) * n


def time_plain_matmul(n: int, batch: int) -> tuple[float, float]:
    """The same GEMMs as one training epoch, with preallocated outputs and nothing else."""
    rng = np.random.default_rng(1)
    weights = [
        rng.standard_normal((fi, fo), dtype=np.float32) * 0.05 for fi, fo in zip(SIZES[:-1], SIZES[1:])
    ]
    grads = [np.empty_like(k) for k in weights]
    widths = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    buffers = {}
    for b in set(widths):
        acts = [rng.random((b, s), dtype=np.float32) for s in SIZES]
        deltas = [rng.standard_normal((b, s), dtype=np.float32) for s in SIZES]
        buffers[b] = (acts, deltas)
    clock = Clock()
    for b in widths:
        acts, deltas = buffers[b]
        for i, k in enumerate(weights):
            np.matmul(acts[i], k, out=acts[i + 1])
        for i in range(len(weights) - 1, -1, -1):
            np.matmul(acts[i].T, deltas[i + 1], out=grads[i])
            if i > 0:
                np.matmul(deltas[i + 1], weights[i].T, out=deltas[i])
    return clock.read()


def import_torch():
    """(torch, torch.nn), or None with a note when PyTorch is not installed."""
    try:
        import torch
        from torch import nn
    except ImportError:
        print(
            "PyTorch is not installed: pip install 'perceptron_lab[bench]' (or pip install torch) to compare"
        )
        return None
    return torch, nn


def time_torch(torch, nn, X, y, batch: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one epoch of the same network in PyTorch on the CPU."""
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-2], SIZES[1:-1]):
        layers += [nn.Linear(fan_in, fan_out), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(SIZES[-2], SIZES[-1]))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    data, labels = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    model.train()
    clock = Clock()
    order = torch.randperm(len(data), generator=generator)
    for start in range(0, len(data), batch):
        rows = order[start : start + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(data[rows]), labels[rows])
        loss.backward()
        optimizer.step()
    elapsed = clock.read()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    return elapsed


FIRST_FIT = """
import time
started = time.perf_counter()
import numpy as np
from perceptron_lab.nn import Dense, Network, kernels
from perceptron_lab.train import Trainer
imported = time.perf_counter()
numba_started = time.perf_counter()
kernels.available()
numba_imported = time.perf_counter()
X = np.random.default_rng(0).random((256, 784), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[np.arange(256) % 10]
network = Network([Dense(n, "sigmoid") for n in (256, 128, 64)] + [Dense(10, "softmax")], input_dim=784, seed=0)
fit_started = time.perf_counter()
Trainer(loss="categorical_crossentropy", optimizer={"name": "adam", "learning_rate": 1e-3}, epochs=1,
        batch_size=32, eval_every=None).fit(network, X, Y)
print(kernels.enabled(), numba_imported - numba_started, time.perf_counter() - fit_started)
"""


def first_fit(mode: str, cache_dir: str) -> tuple[bool, float, float]:
    """In a fresh process with PERCEPTRON_LAB_KERNELS=mode: (kernels enabled, seconds to import
    numba, seconds of a first fit of 256 rows at batch 32)."""
    env = {**os.environ, kernels.ENVIRONMENT_VARIABLE: mode, "NUMBA_CACHE_DIR": cache_dir}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FIT], env=env, capture_output=True, text=True, check=True
    )
    enabled, imported, fit = done.stdout.split()
    return enabled == "True", float(imported), float(fit)


def startup_cost() -> None:
    """What numba adds to a fresh process's first fit: compiling (an empty cache) or loading."""
    if not kernels.available():
        print("kernels: NumPy (numba is not installed: pip install 'perceptron_lab[fast]')")
        return
    with tempfile.TemporaryDirectory() as cache_dir:
        _, _, numpy_fit = first_fit("numpy", cache_dir)
        _, imported, cold = first_fit("numba", cache_dir)
        _, _, cached = first_fit("numba", cache_dir)
    print(
        f"numba in a fresh process: import {imported:.2f} s; a first fit of 256 rows takes {cold:.2f} s "
        f"compiling the kernels, {cached:.2f} s with them in numba's cache, {numpy_fit:.2f} s on the NumPy path"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--blas-threads", type=int, default=None)
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()
    X, y, Y = make_data(args.samples)
    threads = "default" if args.blas_threads is None else args.blas_threads
    path = "numba" if kernels.enabled() else "NumPy"
    print(
        f"784-256-128-64-10 sigmoid + softmax/cross-entropy, Adam 1e-3, 1 epoch, {args.samples} x 784 float32, "
        f"BLAS threads: {threads}, our kernels: {path}"
    )
    torch = None if args.skip_torch else import_torch()
    if torch is not None and args.blas_threads is not None:
        torch[0].set_num_threads(args.blas_threads)
    limits = contextlib.ExitStack()
    if args.blas_threads is not None:
        limits.enter_context(threadpool_limits(args.blas_threads, "blas"))
        limits.enter_context(kernels.limit_threads(args.blas_threads))
    with limits:
        warm_up(X, Y)
        run(args, X, y, Y, torch)
    if not args.skip_startup:
        startup_cost()


def fastest(pairs) -> tuple[float, float]:
    """The (wall, CPU) pair with the least wall time."""
    return min(pairs, key=lambda pair: pair[0])


def run(args, X, y, Y, torch) -> None:
    for batch in args.batches:
        runs = [
            (
                time_sklearn(X, y, batch),
                time_ours(X, Y, batch),
                time_plain_matmul(args.samples, batch),
                None if torch is None else time_torch(*torch, X, y, batch),
            )
            for _ in range(args.repeat)
        ]  # interleaved, so a busy spell hits every side
        sk = fastest(r[0] for r in runs)
        train_only = fastest(r[1][0] for r in runs)
        fit = fastest(r[1][1] for r in runs)
        plain = fastest(r[2] for r in runs)
        flops = training_flops(args.samples, batch)
        ours_gflops, plain_gflops = flops / train_only[0] / 1e9, flops / plain[0] / 1e9
        print(
            f"batch {batch:4d}: sklearn {sk[0]:7.3f} s | ours {train_only[0]:7.3f} s "
            f"| ours/sklearn {train_only[0] / sk[0]:.3f} | with the 2 evaluation passes {fit[0]:7.3f} s "
            f"({fit[0] / sk[0]:.3f})"
        )
        if torch is not None:
            theirs = fastest(r[3] for r in runs)
            print(
                f"            PyTorch {torch[0].__version__} CPU {theirs[0]:7.3f} s | ours/PyTorch "
                f"{train_only[0] / theirs[0]:.3f} | CPU seconds: ours {train_only[1]:.3f}, "
                f"PyTorch {theirs[1]:.3f} ({train_only[1] / theirs[1]:.3f})"
            )
        print(
            f"            training GFLOP/s: ours {ours_gflops:6.1f} | plain np.matmul {plain_gflops:6.1f} "
            f"| ours/plain {ours_gflops / plain_gflops:.0%}: {train_only[0] / plain[0]:.2f}x its time "
            f"| CPU seconds: ours {train_only[1]:.3f}, plain {plain[1]:.3f} ({train_only[1] / plain[1]:.2f}x)"
        )


if __name__ == "__main__":
    main()
