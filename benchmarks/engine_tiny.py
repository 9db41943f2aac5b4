"""Engine benchmark 2: many tiny networks trained online, stacked vs one at a time.

    python benchmarks/engine_tiny.py [--epochs 5000] [--replicas 25] [--separate-epochs 5000]

The course's 35-20-10 sigmoid network on the ten 5x7 digit bitmaps, SSE, SGD lr 0.1, batch 1
(online: 10 optimizer steps per epoch), evaluated every epoch. 25 replicas (seeds) trained as
one stacked Network(replicas=25) against 25 separate Network(replicas=1) trainings with the
same seeds, one after another. The script checks that both give the same weights and prints
both times and their ratio. --separate-epochs N times the separate trainings for N epochs
and scales the time to --epochs (they cost the same per epoch), to save time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from perceptron_lab.data import load_dataset
from perceptron_lab.nn import Dense, Network
from perceptron_lab.train import Trainer


def make_network(seeds) -> Network:
    return Network([Dense(20, "sigmoid"), Dense(10, "sigmoid")], input_dim=35, seeds=seeds)


def make_trainer(epochs: int) -> Trainer:
    return Trainer(loss="sse", optimizer={"name": "sgd", "learning_rate": 0.1}, epochs=epochs, batch_size=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=25)
    parser.add_argument("--separate-epochs", type=int, default=None)
    args = parser.parse_args()
    digits = load_dataset("digits5x7")
    X = digits.X.astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[digits.y]
    seeds = [(0, r) for r in range(args.replicas)]

    stacked = make_network(seeds)
    started = time.perf_counter()
    make_trainer(args.epochs).fit(stacked, X, Y)
    stacked_time = time.perf_counter() - started

    separate_epochs = args.separate_epochs or args.epochs
    separate_time = 0.0
    for r, seed in enumerate(seeds):
        alone = make_network([seed])
        started = time.perf_counter()
        make_trainer(separate_epochs).fit(alone, X, Y)
        separate_time += time.perf_counter() - started
        if separate_epochs == args.epochs:
            for w_stacked, w_alone in zip(stacked.get_weights(), alone.get_weights()):
                np.testing.assert_allclose(w_stacked[r], w_alone[0], rtol=1e-4, atol=1e-5)
    separate_time *= args.epochs / separate_epochs
    steps = args.epochs * len(X)
    print(
        f"35-20-10 sigmoid, SSE, SGD online, {args.epochs} epochs ({steps} steps), {args.replicas} replicas"
    )
    print(
        f"stacked  (1 x R={args.replicas}): {stacked_time:7.2f} s  ({stacked_time / steps * 1e6:.1f} us/step)"
    )
    scaled = "" if separate_epochs == args.epochs else f", timed over {separate_epochs} epochs and scaled"
    print(f"separate ({args.replicas} x R=1): {separate_time:7.2f} s{scaled}")
    print(f"separate / stacked: {separate_time / stacked_time:.1f}x")


if __name__ == "__main__":
    main()
