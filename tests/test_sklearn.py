"""perceptron_lab.sklearn: the estimators pass scikit-learn's checks and work in its tools.

scikit-learn's checks: every applicable check runs and passes; none is expected to fail.
check_array_api_input is skipped by scikit-learn itself unless SCIPY_ARRAY_API=1 is set (the
estimators compute with NumPy only).
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from perceptron_lab import load_model
from perceptron_lab.sklearn import LabClassifier, LabRegressor

FAST = {"hidden_sizes": (8,), "epochs": 30, "learning_rate": 0.05}
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {"LabClassifier": {}, "LabRegressor": {}}


@parametrize_with_checks(
    [LabClassifier(**FAST), LabRegressor(**FAST)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS[type(estimator).__name__],
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def test_grid_search_over_two_learning_rates_on_iris(iris):
    X, y = iris
    params = {"hidden_sizes": (8,), "epochs": 40, "batch_size": 16}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(LabClassifier(**params), {"learning_rate": [0.0005, 0.05]}, cv=cv).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # Each candidate's score is what cross_val_score gives for it: the search is reproducible.
    for lr, score in zip([0.0005, 0.05], scores):
        by_hand = cross_val_score(LabClassifier(**params, learning_rate=lr), X, y, cv=cv).mean()
        assert score == by_hand
    # 40 epochs at 5e-4 barely move the weights; at 0.05 the network learns iris.
    assert search.best_params_ == {"learning_rate": 0.05}
    assert scores[1] > 0.9 > scores[0]
    assert search.best_estimator_.score(X, y) > 0.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_pipeline_and_clone_and_held_out_accuracy_like_sklearns_mlp(iris):
    from sklearn.neural_network import MLPClassifier

    X, y = iris
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), LabClassifier(hidden_sizes=(8,), epochs=60, preprocessing="none"))
    lab = pipe.fit(X_train, y_train).score(X_test, y_test)
    mlp = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=600, random_state=0))
    reference = mlp.fit(X_train, y_train).score(X_test, y_test)
    assert lab >= reference - 0.05 and lab > 0.9
    twin = clone(pipe)
    assert twin.get_params()["labclassifier__epochs"] == 60 and not hasattr(twin[-1], "network_")
    assert twin.fit(X_train, y_train).score(X_test, y_test) == lab


def test_string_labels_come_back_as_given(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LabClassifier(**FAST).fit(X, names)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(model.predict(X)) <= set(names) and model.n_features_in_ == 4
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


def test_replicas_predict_with_the_mean_of_their_models(iris):
    X, y = iris
    ensemble = LabClassifier(**FAST, replicas=3).fit(X, y)
    assert ensemble.network_.replicas == 3 and len(ensemble.models_) == 3
    each = np.stack([m.predict_proba(X) for m in ensemble.models_])
    np.testing.assert_array_equal(ensemble.predict_proba(X), each.mean(axis=0))
    # Replica 0 trains as it would alone: the same seed (seed, 0), batch order and updates.
    alone = LabClassifier(**FAST, replicas=1).fit(X, y)
    np.testing.assert_allclose(each[0], alone.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert not np.allclose(each[0], each[1])  # the replicas differ


def test_regressor_predicts_in_the_targets_units():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 3))
    y = 500 + 1000 * (X @ np.array([0.5, -1.0, 0.25])) + 50 * np.sin(3 * X[:, 0])
    model = LabRegressor(hidden_sizes=(16,), epochs=150, learning_rate=0.01, replicas=2).fit(X, y)
    assert model.predict(X).shape == (200,)
    assert model.score(X, y) > 0.98
    assert abs(model.predict(X).mean() - y.mean()) < 20
    multi = LabRegressor(**FAST).fit(X, np.column_stack([y, -y]))
    assert multi.predict(X).shape == (200, 2)


def test_an_estimators_model_saves_and_loads(iris, tmp_path):
    X, y = iris
    fitted = LabClassifier(**FAST, replicas=2).fit(X, y)
    directory = fitted.models_[1].save(tmp_path / "replica1")
    np.testing.assert_array_equal(load_model(directory).predict_proba(X), fitted.models_[1].predict_proba(X))


def test_early_stopping_holds_out_validation_rows(iris):
    X, y = iris
    model = LabClassifier(hidden_sizes=(8,), epochs=300, early_stopping=True, patience=3, learning_rate=0.05)
    model.fit(X, y)
    assert "validation" in model.history_.logs
    assert model.history_.stopped_epoch[0] < 300


def test_optimizer_params_and_learning_rate_reach_the_optimizer():
    model = LabClassifier(optimizer={"name": "momentum", "momentum": 0.5}, learning_rate=0.2)
    assert model._optimizer() == {"learning_rate": 0.2, "name": "momentum", "momentum": 0.5}
    from perceptron_lab.nn import get_optimizer

    optimizer = get_optimizer(model._optimizer())
    assert (optimizer.learning_rate, optimizer.momentum) == (0.2, 0.5)
