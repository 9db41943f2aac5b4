"""The generator of the packaged data/files/ej2_regression.csv (run as a script to rewrite it).

28 samples of three features on different scales and a smooth non-linear target with noise:
    x1 ~ U(0, 5), x2 ~ U(-3, 3), x3 ~ U(0, 10)
    y  = 2 sin(x1) + 0.5 x2^2 + 3 log(1 + x3) + N(0, 0.3^2)
Features are rounded to 3 decimals before y is computed; y is rounded to 4.
"""

from pathlib import Path

import numpy as np

SEED = 2
N_SAMPLES = 28
PACKAGED = (
    Path(__file__).resolve().parents[2] / "src" / "perceptron_lab" / "data" / "files" / "ej2_regression.csv"
)


def generate() -> str:
    """The CSV text: header x1,x2,x3,y and N_SAMPLES rows."""
    rng = np.random.default_rng(SEED)
    x1 = np.round(rng.uniform(0, 5, N_SAMPLES), 3)
    x2 = np.round(rng.uniform(-3, 3, N_SAMPLES), 3)
    x3 = np.round(rng.uniform(0, 10, N_SAMPLES), 3)
    noise = rng.normal(0, 0.3, N_SAMPLES)
    y = np.round(2 * np.sin(x1) + 0.5 * x2**2 + 3 * np.log1p(x3) + noise, 4)
    rows = ["x1,x2,x3,y"] + [f"{a:.3f},{b:.3f},{c:.3f},{d:.4f}" for a, b, c, d in zip(x1, x2, x3, y)]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    PACKAGED.write_text(generate())
