"""Prediction benchmark: 100000 raw rows through a 5-replica 784-256-128-64-10 ensemble.

    python benchmarks/predict.py [--rows 100000] [--replicas 5] [--repeat 3]

Five saved-model replicas (sigmoid hidden layers, softmax output, float32, each with its own
fitted StandardScaler) predict MNIST-shaped raw rows as `lab predict` does:
`ensemble_predict` (chunks of CHUNK_ROWS rows; per chunk every model scales the rows, runs its
network and gives class probabilities; then their mean). Timed in the same run against:
- plain: np.matmul of exactly the same shapes, (chunk, fan_in) @ (fan_in, fan_out) per layer,
  chunk and replica, with nothing else (no scaling, bias, activation or mean);
- stacked: the engine alone, one Network(replicas=5).predict on the scaled rows.
Each time is the fastest of --repeat runs. Also checks the ensemble equals the mean of the
replicas' probabilities computed one model at a time on all rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.preprocessing import StandardScaler

from perceptron_lab.experiment.predict import CHUNK_ROWS, ensemble_predict
from perceptron_lab.model import Model, TargetCoding
from perceptron_lab.nn import Dense, Network

SIZES = (784, 256, 128, 64, 10)


def make_models(replicas: int, X_fit: np.ndarray) -> tuple[list[Model], Network]:
    layers = [Dense(units, "sigmoid") for units in SIZES[1:-1]] + [Dense(SIZES[-1], "softmax")]
    stacked = Network(layers, input_dim=SIZES[0], replicas=replicas, seed=0)
    coding = TargetCoding(SIZES[-1], SIZES[-1], 0.0, 1.0)
    models = []
    for r in range(replicas):
        scaler = StandardScaler().fit(X_fit[r::replicas])  # each replica its own training rows
        models.append(
            Model(
                network=stacked.select([r]),
                task="classification",
                n_features=SIZES[0],
                classes=[str(c) for c in range(SIZES[-1])],
                coding=coding,
                input_scaler=scaler,
            )
        )
    return models, stacked


def fastest(fn, repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of `repeat` calls; CPU time (all threads of this
    process) moves less than wall time when other processes share the cores."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = (255 * rng.random((args.rows, SIZES[0]), dtype=np.float32)).round()
    models, stacked = make_models(args.replicas, X[:20_000])
    kernels = [[w[0] for w in m.network.get_weights()[0::2]] for m in models]

    def plain() -> None:
        for start in range(0, args.rows, CHUNK_ROWS):
            chunk = X[start : start + CHUNK_ROWS]
            for replica in kernels:
                h = chunk
                for kernel in replica:
                    h = np.matmul(h, kernel)

    scaled = models[0].input_scaler.transform(X).astype(np.float32)

    def engine() -> None:
        stacked.predict(scaled)

    def ours() -> None:
        ensemble_predict(models, X)

    (t_plain, c_plain), (t_engine, c_engine), (t_ours, c_ours) = (
        fastest(fn, args.repeat) for fn in (plain, engine, ours)
    )
    values, labels = ensemble_predict(models, X)
    each = np.stack([m.predict_proba(X) for m in models]).mean(axis=0)
    assert np.array_equal(values, each), "the chunked ensemble differs from the mean of its models"

    flops = 2 * args.rows * args.replicas * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    print(
        f"{args.rows} rows, {args.replicas} replicas of {'-'.join(map(str, SIZES))}, chunks of {CHUNK_ROWS}"
    )
    print("                                    wall                        CPU")
    for name, wall, cpu in (
        ("plain np.matmul, same shapes", t_plain, c_plain),
        ("engine, Network(replicas).predict", t_engine, c_engine),
        ("ensemble_predict (lab predict)", t_ours, c_ours),
    ):
        print(
            f"  {name:34s} {wall:7.3f} s ({wall / t_plain:.2f}x plain)   {cpu:7.3f} s ({cpu / c_plain:.2f}x plain)"
        )
    print(f"  plain matmul: {flops / t_plain / 1e9:.1f} GFLOP/s wall")


if __name__ == "__main__":
    main()
