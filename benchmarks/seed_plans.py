"""configs/seeds/<seed>/expected.yaml: what a seed reports per experiment, and how to run it.

Each row names a config of that folder (or one point of its `sweep.points`) or a worked example
of seed_checks.CHECKS, the figures the lab shows (<split>.<metric>[@best] or `epochs`), the
seed's figure quoted with where it appears, an optional `lab report` figure to link (or a
comparison with earlier rows' runs), a note on setup differences, and the overrides of the full
run (`budget`) and of the --quick subset (`quick`). The keys are described at the top of
configs/seeds/000/expected.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from seed_checks import CHECKS

from perceptron_lab.config import ExperimentConfig, build_config, format_validation_error, load_config
from perceptron_lab.errors import UserError
from perceptron_lab.experiment.sweep import sweep_points

EXPECTED_FILE = "expected.yaml"


class Comparison(BaseModel):
    """A `lab report` comparison of this row's run with earlier rows' (their indices)."""

    model_config = ConfigDict(extra="forbid")
    rows: list[int] = Field(min_length=1)
    metric: str
    split: str


class Row(BaseModel):
    """One experiment of a seed (a row of its table)."""

    model_config = ConfigDict(extra="forbid")
    experiment: str
    config: str | None = Field(None, description="config file, relative to the expected.yaml")
    point: int | None = Field(None, ge=0, description="index into the config's sweep.points")
    check: str | None = Field(None, description="a worked example of seed_checks.CHECKS instead")
    lab: list[str] = Field(default_factory=list, description="<split>.<metric>[@best] or epochs")
    reported: str
    where: str
    figure: str | None = Field(None, description="a `lab report` figure name, e.g. curve_loss")
    compare: Comparison | None = Field(None, description="draw the figure comparing earlier rows' runs")
    note: str
    budget: dict[str, Any] = Field(default_factory=dict, description="overrides of the full run")
    quick: dict[str, Any] | None = Field(None, description="in the --quick subset, with these overrides")


class SeedPlan(BaseModel):
    """configs/seeds/<seed>/expected.yaml."""

    model_config = ConfigDict(extra="forbid")
    seed: str
    title: str
    source: str
    about: str = Field("", description="what holds for every row of this seed (shown under its title)")
    rows: list[Row]


def load_plan(path: Path) -> SeedPlan:
    """Read one expected.yaml; a bad file is a UserError naming its line."""
    text = path.read_text()
    try:
        plan = SeedPlan.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise UserError(format_validation_error(error.errors(), str(path), text)) from None
    for i, row in enumerate(plan.rows):
        if (row.config is None) == (row.check is None):
            raise UserError(f"{path}: rows.{i}: give either config or check")
        if row.check is not None and row.check not in CHECKS:
            raise UserError(
                f"{path}: rows.{i}.check: unknown check {row.check!r} (known: {', '.join(CHECKS)})"
            )
        if row.compare is not None and not all(0 <= j < i for j in row.compare.rows):
            raise UserError(f"{path}: rows.{i}.compare.rows: give indices of earlier rows (0 to {i - 1})")
        if row.compare is not None and row.figure is None:
            raise UserError(f"{path}: rows.{i}.compare: name the comparison figure in `figure`")
    return plan


def load_plans(seeds_dir: Path) -> list[tuple[Path, SeedPlan]]:
    """(directory, plan) of every configs/seeds/<seed>/expected.yaml, in seed order."""
    files = sorted(seeds_dir.glob(f"*/{EXPECTED_FILE}"))
    if not files:
        raise UserError(f"{seeds_dir}: no */{EXPECTED_FILE}")
    return [(path.parent, load_plan(path)) for path in files]


def row_config(seed_dir: Path, row: Row, overrides: dict[str, Any]) -> ExperimentConfig:
    """The row's config: its file, the chosen sweep point, then `overrides`; without a sweep block."""
    assert row.config is not None
    config = load_config(seed_dir / row.config)
    point: dict[str, Any] = {}
    if row.point is not None:
        points = sweep_points(config, [])
        if row.point >= len(points):
            raise UserError(f"{seed_dir / row.config}: no sweep point {row.point} ({len(points)} points)")
        point = points[row.point]
    base = config.to_dict()
    base.pop("sweep", None)
    return build_config(base, overrides={**point, **overrides}, source=str(seed_dir / row.config))
