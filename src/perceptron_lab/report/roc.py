"""ROC and precision-recall curves of binary classifiers, with their areas, per replica."""

from __future__ import annotations

import numpy as np

from ..experiment.results_dir import RunResults
from .inputs import class_names, is_classification
from .style import Plot, new_figure


def has_roc(results: RunResults) -> bool:
    classes = class_names(results)
    predictions = results.predictions
    return (
        is_classification(results)
        and len(classes) == 2
        and predictions is not None
        and f"score_{classes[1]}" in predictions.columns
    )


def roc_split(results: RunResults) -> str:
    """The held-out split of predictions.csv: test when there is one, else train."""
    assert results.predictions is not None  # the report draws this only for runs with predictions.csv
    return "test" if (results.predictions["split"] == "test").any() else "train"


def replica_curves(results: RunResults, split: str) -> list[dict]:
    """Per replica with both classes present: fpr, tpr, roc_auc, precision, recall, pr_auc."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve  # on use: slow to import

    negative, positive = class_names(results)
    assert results.predictions is not None  # the report draws this only for runs with predictions.csv
    rows = results.predictions[results.predictions["split"] == split]
    curves = []
    for (run, fold), group in rows.groupby(["run", "fold"]):
        truth = (group["target"].astype(str) == positive).to_numpy()
        if truth.all() or not truth.any():
            continue  # an area needs both classes
        score = group[f"score_{positive}"].to_numpy(dtype=float)
        fpr, tpr, _ = roc_curve(truth, score)
        precision, recall, _ = precision_recall_curve(truth, score)
        curves.append(
            {
                "run": run,
                "fold": fold,
                "fpr": fpr,
                "tpr": tpr,
                "roc_auc": auc(fpr, tpr),
                "precision": precision,
                "recall": recall,
                "pr_auc": auc(recall, precision),
            }
        )
    return curves


def roc_pr_figure(results: RunResults) -> Plot | None:
    """ROC (left) and PR (right) curves of every replica, legend with AUC mean ± std."""
    split = roc_split(results)
    curves = replica_curves(results, split)
    if not curves:
        return None
    positive = class_names(results)[1]
    figure = new_figure(9.0, 4.2)
    roc_ax, pr_ax = figure.subplots(1, 2)
    for i, c in enumerate(curves):
        label = f"run {c['run']} fold {c['fold']}" if len(curves) <= 8 else None
        roc_ax.plot(c["fpr"], c["tpr"], color=f"C{i % 10}", alpha=0.7, linewidth=1.2, label=label)
        pr_ax.step(c["recall"], c["precision"], where="post", color=f"C{i % 10}", alpha=0.7, linewidth=1.2)
    roc_ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    roc_auc = np.array([c["roc_auc"] for c in curves])
    pr_auc = np.array([c["pr_auc"] for c in curves])
    roc_ax.set_title(f"ROC, AUC = {roc_auc.mean():.3f} ± {roc_auc.std():.3f}", fontsize=10)
    pr_ax.set_title(f"precision-recall, AUC = {pr_auc.mean():.3f} ± {pr_auc.std():.3f}", fontsize=10)
    roc_ax.set_xlabel("false positive rate")
    roc_ax.set_ylabel("true positive rate")
    pr_ax.set_xlabel("recall")
    pr_ax.set_ylabel("precision")
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    if len(curves) <= 8:
        roc_ax.legend(fontsize=7, loc="lower right")
    figure.suptitle(
        f"{results.name}: positive class {positive!r} on {split} ({len(curves)} replicas)", fontsize=10
    )
    return Plot("roc_pr", f"ROC and precision-recall curves on {split}", "ROC and precision-recall", figure)


def roc_plots(results: RunResults) -> list[Plot]:
    if not has_roc(results):
        return []
    plot = roc_pr_figure(results)
    return [plot] if plot is not None else []
