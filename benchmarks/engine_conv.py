"""Engine benchmark 3: EJ8_Conv, 5 replicas stacked against PyTorch training 5 models in turn.

    python benchmarks/engine_conv.py [--samples 4000] [--epochs 10] [--replicas 5] [--threads N] [--skip-torch]

EJ8_Conv (conv 32 3x3 same relu -> maxpool 2 -> BatchNorm -> conv 16 3x3 same relu -> maxpool 2
-> BatchNorm -> flatten -> dense 10 softmax; 12,986 parameters) on synthetic MNIST-shaped data
(28 x 28 x 1 float32 in [0, 1): ten random class templates plus noise), cross-entropy, Adam
lr 1e-3, batch 32, shuffled, no evaluation during training:
- ours: one Network(replicas=5) trained by Trainer(..., eval_every=None).fit;
- PyTorch (CPU): the same model (BatchNorm2d momentum 0.01 = Keras 0.99,
  eps 1e-3) trained 5 times, one after another.
Times are wall and CPU seconds (process_time: on a loaded machine the fairer of the two;
the GFLOP/s comparison uses CPU time). Also printed, from the same run: the GFLOP/s of our Conv2D layers' forward + backward (im2col,
GEMMs, col2im) against a plain np.matmul loop over exactly the same GEMM shapes; the im2col
buffers of the training pass (patches and padded copies); the peak memory (tracemalloc) of a
chunked evaluation of 10000 CIFAR-shaped images by a 5-replica conv net. --threads N runs both
sides with N threads (our BLAS, torch.set_num_threads); default: each library's own choice.

PyTorch is a benchmark-only extra: pip install 'perceptron_lab[bench]' (or pip install torch).
"""

from __future__ import annotations

import argparse
import contextlib
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from perceptron_lab.nn import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D, Network, kernels
from perceptron_lab.nn.conv import Conv2DOp, Conv2DOpBase
from perceptron_lab.nn.conv_compiled import CompiledConv2DOp
from perceptron_lab.train import Trainer

BATCH = 32


def ej8_conv():
    return [
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        BatchNorm(),
        Conv2D(16, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        BatchNorm(),
        Flatten(),
        Dense(10, "softmax"),
    ]


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    templates = rng.random((10, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    X = 0.5 * templates[y] + 0.5 * rng.random((n, 28, 28, 1), dtype=np.float32)
    return X, y, np.eye(10, dtype=np.float32)[y]


def time_ours(X, Y, epochs: int, replicas: int) -> tuple[float, float, Network]:
    network = Network(ej8_conv(), input_shape=(28, 28, 1), replicas=replicas, seed=0)
    trainer = Trainer(
        loss="categorical_crossentropy",
        optimizer={"name": "adam", "learning_rate": 1e-3},
        epochs=epochs,
        batch_size=BATCH,
        eval_every=None,
    )
    started, cpu = time.perf_counter(), time.process_time()
    trainer.fit(network, X, Y)
    return time.perf_counter() - started, time.process_time() - cpu, network


def time_torch(X, y, epochs: int, replicas: int, threads: int | None) -> tuple[float, float] | None:
    try:
        import torch
        from torch import nn
    except ImportError:
        print(
            "PyTorch is not installed: pip install 'perceptron_lab[bench]' (or pip install torch) to compare"
        )
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    data = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    labels = torch.from_numpy(y)
    total = total_cpu = 0.0
    for r in range(replicas):
        torch.manual_seed(r)
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(32, eps=1e-3, momentum=0.01),
            nn.Conv2d(32, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(16, eps=1e-3, momentum=0.01),
            nn.Flatten(),
            nn.Linear(784, 10),
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(r)
        started, cpu = time.perf_counter(), time.process_time()
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(data), generator=generator)
            for start in range(0, len(data), BATCH):
                rows = order[start : start + BATCH]
                optimizer.zero_grad()
                loss = loss_fn(model(data[rows]), labels[rows])
                loss.backward()
                optimizer.step()
        total += time.perf_counter() - started
        total_cpu += time.process_time() - cpu
    return total, total_cpu


def conv_gemm_rates(replicas: int, steps: int) -> tuple[float, float]:
    """GFLOP/s of our Conv2D ops (forward + backward) and of plain np.matmul on their GEMMs."""
    network = Network(ej8_conv(), input_shape=(28, 28, 1), replicas=replicas, seed=0)
    batch = network.batch_pass(BATCH)
    rng = np.random.default_rng(2)
    convs = [(i, op) for i, op in enumerate(batch.ops) if isinstance(op, Conv2DOpBase)]
    shapes = [network.input_shape, *network.shapes]
    flops = 0.0
    work = []
    for i, op in convs:
        x = rng.random((replicas, BATCH, *shapes[network.graph[i][0]]), dtype=np.float32)
        grad = rng.standard_normal(op.out.shape, dtype=np.float32)
        target = None if i == 0 else (np.empty_like(x), False)
        rows, k, F = BATCH * int(np.prod(op.out.shape[2:4])), op.columns, op.F
        gemms = 2 if target is None else 3  # forward, dL/dK, and dL/dP past the first layer
        flops += gemms * 2.0 * replicas * rows * k * F
        work.append((op, x, grad, target, rows, k, F))
    from perceptron_lab.nn.ops import Run

    run = Run(training=True)
    for op, x, grad, target, *_ in work:  # compile (or load) the kernels outside the timing
        op.forward([x], run)
        op.backward(grad.copy(), [target])
    started = time.process_time()
    for _ in range(steps):
        for op, x, grad, target, *_ in work:
            op.forward([x], run)
            op.backward(grad, [target])
    ours = flops * steps / (time.process_time() - started) / 1e9
    plain_work = []
    for _op, _x, _grad, target, rows, k, F in work:
        P = rng.random((replicas, rows, k), dtype=np.float32)
        K = rng.random((replicas, k, F), dtype=np.float32)
        G = rng.random((replicas, rows, F), dtype=np.float32)
        plain_work.append(
            (P, K, G, np.empty((replicas, rows, F), np.float32), np.empty_like(K), target is not None)
        )
    started = time.process_time()
    for _ in range(steps):
        for P, K, G, Z, dK, back in plain_work:
            np.matmul(P, K, out=Z)
            np.matmul(P.swapaxes(1, 2), G, out=dK)
            if back:
                np.matmul(G, K.swapaxes(1, 2), out=P)
    plain = flops * steps / (time.process_time() - started) / 1e9
    return ours, plain


def im2col_bytes(network: Network) -> int:
    """Bytes of the Conv2D ops' patch buffers in a training pass (the first layer computes no
    input gradient)."""
    batch = network.batch_pass(BATCH)
    total = 0
    for i, op in enumerate(batch.ops):
        if isinstance(op, CompiledConv2DOp):
            total += op.patch_bytes(input_gradient=network.graph[i][0] != 0)
        elif isinstance(op, Conv2DOp):
            total += op.patch_rows.nbytes + (0 if op.padded is None else op.padded.nbytes)
    network.release_buffers()
    return total


def cifar_evaluation_peak(replicas: int, n: int = 10000) -> tuple[float, int]:
    """Seconds a CIFAR conv net of `replicas` takes to predict n images, and the peak bytes
    traced in a second prediction (the images themselves, 117 MiB in float32, allocated
    before tracing)."""
    layers = [
        Conv2D(16, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        BatchNorm(),
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        Flatten(),
        Dense(10, "softmax"),
    ]
    network = Network(layers, input_shape=(32, 32, 3), replicas=replicas, seed=0)
    X = np.random.default_rng(3).random((n, 32, 32, 3), dtype=np.float32)
    network.predict(X[:BATCH])  # kernels compiled or loaded outside the timing
    network.release_buffers()
    started = time.perf_counter()
    network.predict(X)
    elapsed = time.perf_counter() - started  # timed untraced: tracing slows every allocation
    network.release_buffers()
    tracemalloc.start()
    network.predict(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()
    limit = contextlib.nullcontext() if args.threads is None else threadpool_limits(args.threads, "blas")
    with limit:
        run(args)


def run(args) -> None:
    X, y, Y = make_data(args.samples)
    print(
        f"EJ8_Conv, {args.samples} x 28x28x1, {args.epochs} epochs, batch {BATCH}, Adam 1e-3, "
        f"{args.replicas} replicas, threads: {args.threads or 'default'}"
    )
    warm_up, _, _ = time_ours(X[:BATCH], Y[:BATCH], 1, args.replicas)
    print(
        f"kernels: {'numba' if kernels.enabled() else 'NumPy'} (PERCEPTRON_LAB_KERNELS), "
        f"{kernels.threads()} threads; first use (compiling or loading kernels): {warm_up:.2f} s"
    )
    ours, ours_cpu, network = time_ours(X, Y, args.epochs, args.replicas)
    accuracy = (network.predict(X).argmax(-1) == y).mean(axis=1)
    print(
        f"ours, {args.replicas} stacked:      {ours:8.2f} s wall, {ours_cpu:8.2f} s CPU"
        f"  (training accuracy {accuracy.round(3).tolist()})"
    )
    theirs = None if args.skip_torch else time_torch(X, y, args.epochs, args.replicas, args.threads)
    if theirs is not None:
        wall, cpu = theirs
        print(f"PyTorch, {args.replicas} in turn:     {wall:8.2f} s wall, {cpu:8.2f} s CPU")
        print(
            f"ours / PyTorch:          {ours / wall:8.2f} wall, {ours_cpu / cpu:8.2f} CPU  (goal <= 1, stretch 0.5)"
        )
    rate, plain = conv_gemm_rates(args.replicas, steps=20)
    print(
        f"Conv2D fwd+bwd GFLOP/s:  ours {rate:6.1f} | plain np.matmul, same GEMMs {plain:6.1f} | {rate / plain:.0%}"
    )
    print(f"im2col buffers, batch {BATCH}, {args.replicas} replicas: {im2col_bytes(network) / 2**20:.1f} MiB")
    elapsed, peak = cifar_evaluation_peak(args.replicas)
    print(
        f"CIFAR conv net (conv16-pool-BN-conv32-pool-dense10), {args.replicas} replicas, 10000 x 32x32x3: "
        f"predict {elapsed:.2f} s, peak {peak / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
