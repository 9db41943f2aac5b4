"""Train on iris, then predict new rows from Python: the numbers `lab predict` writes.

python examples/iris_predict.py            # trains configs/iris_predict.yaml, then predicts
lab predict <the printed run dir> --data examples/iris_new_rows.csv --out predictions.csv
"""

from pathlib import Path

import pandas as pd

from perceptron_lab import load_config, load_model, predict_run, run_experiment

HERE = Path(__file__).resolve().parent
run_dir = run_experiment(load_config(HERE.parent / "configs" / "iris_predict.yaml"))
rows = pd.read_csv(HERE / "iris_new_rows.csv")

ensemble = predict_run(run_dir, rows)  # every replica, mean of the class probabilities
print(ensemble.table(rows["target"].to_numpy()).to_string(index=False))

one = load_model(run_dir / "models" / "run0_fold0")  # a single replica: raw rows in, classes out
print(one.predict_labels(rows), one.predict_proba(rows).round(3), sep="\n")
print(run_dir)
