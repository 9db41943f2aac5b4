"""Replica splits: folds partition the data, holdouts are stratified and reproducible."""

import numpy as np

from perceptron_lab.experiment.splits import make_splits

Y = np.repeat(np.arange(3), [20, 30, 50])


def splits(**kwargs):
    options = dict(classification=True, runs=2, kfolds=5, seed=3, test_size=0.25, validation_split=0.0)
    options.update(kwargs)
    return make_splits(Y, **options)


def test_kfold_test_parts_partition_rows_for_every_run():
    result = splits()
    assert [(s.run, s.fold) for s in result] == [(r, f) for r in range(2) for f in range(5)]
    for run in range(2):
        tests = [s.test for s in result if s.run == run]
        assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(len(Y)))
        for s in (s for s in result if s.run == run):
            assert len(np.intersect1d(s.train, s.test)) == 0
            assert len(s.train) + len(s.test) == len(Y)
            # stratified: every fold holds 1/5 of each class
            assert np.array_equal(np.bincount(Y[s.test], minlength=3), [4, 6, 10])


def test_runs_use_different_seeds_and_same_seed_reproduces():
    a, b = splits(), splits()
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
    assert a[0].seed == 3 and a[5].seed == 4
    assert not np.array_equal(a[0].test, a[5].test)


def test_holdout_with_validation_is_disjoint_and_sized():
    result = splits(kfolds=1, runs=3, validation_split=0.2)
    for s in result:
        assert len(s.test) == 25
        assert len(s.validation) == 15  # 20% of the 75 training rows
        parts = np.concatenate([s.train, s.validation, s.test])
        assert np.array_equal(np.sort(parts), np.arange(len(Y)))


def test_separate_test_set_moves_held_out_fold_to_validation():
    result = splits(separate_test=True)
    for s in result:
        assert len(s.test) == 0 and len(s.validation) == 20
    holdout = splits(kfolds=1, separate_test=True)
    assert all(len(s.train) == len(Y) and len(s.test) == 0 for s in holdout)
