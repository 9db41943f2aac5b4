import numpy as np
import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.nn import Dense, Dropout, Network
from perceptron_lab.train import EarlyStopping, Trainer
from perceptron_lab.train.batches import BatchSchedule

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 3))
Y_REG = np.column_stack([X @ [0.5, -1.0, 0.3], np.sin(X[:, 0])])
Y_CLS = np.eye(2)[(X[:, 0] + X[:, 1] > 0).astype(int)]
# Uneven training sets: 10, 7, 9 and 4 rows.
INDEX = [np.arange(10), np.array([0, 2, 3, 5, 7, 9, 11]), np.arange(3, 12), np.array([1, 4, 6, 8])]


def _net(seeds, dropout=0.0):
    layers = [Dense(5, "tanh"), Dense(4, "sigmoid")]
    if dropout:
        layers.insert(1, Dropout(dropout))
    return Network([*layers, Dense(2, "identity")], input_dim=3, seeds=seeds, dtype="float64")


@pytest.mark.parametrize(
    "batch_size, optimizer, loss, dropout",
    [
        (1, "sgd", "sse", 0.0),
        (3, {"name": "adam", "learning_rate": 0.01}, "mse", 0.0),
        (None, {"name": "nesterov", "learning_rate": 0.05}, "sse", 0.0),
        (4, {"name": "rmsprop", "learning_rate": 0.01}, "mse", 0.3),
    ],
    ids=["online-sgd", "b3-adam", "full-nesterov", "b4-rmsprop-dropout"],
)
def test_stacked_replicas_train_as_if_alone(batch_size, optimizer, loss, dropout):
    seeds = [(3, r) for r in range(4)]
    lr = {"learning_rate": 0.02} if optimizer == "sgd" else {}

    def make_trainer():
        return Trainer(
            loss=loss,
            optimizer={"name": "sgd", **lr} if optimizer == "sgd" else optimizer,  # noqa: E731
            epochs=6,
            batch_size=batch_size,
        )

    stacked = _net(seeds, dropout)
    make_trainer().fit(stacked, X, Y_REG, train_index=INDEX)
    for r in range(4):
        alone = _net([seeds[r]], dropout)
        make_trainer().fit(alone, X, Y_REG, train_index=[INDEX[r]])
        for w_stacked, w_alone in zip(stacked.get_weights(), alone.get_weights()):
            np.testing.assert_allclose(w_stacked[r], w_alone[0], rtol=0, atol=1e-10)
    # and the replicas really did train differently
    assert not np.allclose(stacked.get_weights()[0][0], _net(seeds).get_weights()[0][0])


def test_early_stopped_replicas_train_as_if_alone():
    seeds = [(8, r) for r in range(4)]
    validation = (X, Y_REG, [np.setdiff1d(np.arange(12), rows)[:3] for rows in INDEX])

    def trainer():
        return Trainer(
            loss="mse",
            optimizer={"name": "momentum", "learning_rate": 0.2},
            epochs=40,  # noqa: E731
            batch_size=2,
            early_stopping=EarlyStopping(patience=2, min_delta=1e-3),
        )

    stacked = _net(seeds)
    history = trainer().fit(stacked, X, Y_REG, train_index=INDEX, eval_sets={"validation": validation})
    assert len(set(history.stopped_epoch)) > 1, "replicas should stop at different epochs"
    for r in range(4):
        alone = _net([seeds[r]])
        h = trainer().fit(
            alone, X, Y_REG, train_index=[INDEX[r]], eval_sets={"validation": (X, Y_REG, [validation[2][r]])}
        )
        assert h.stopped_epoch[0] == history.stopped_epoch[r] and h.status[0] == history.status[r]
        np.testing.assert_allclose(stacked.get_weights()[2][r], alone.get_weights()[2][0], rtol=0, atol=1e-10)


def test_schedule_takes_every_sample_once_per_epoch():
    rngs = [np.random.default_rng(r) for r in range(4)]
    schedule = BatchSchedule(INDEX, 3, True, rngs, per_sample_mean=True, dtype=np.float64)
    seen = [[] for _ in INDEX]
    steps = [0] * 4
    for rows, step in schedule.epoch():
        weight = np.full(rows.shape, step.scale) if np.isscalar(step.scale) else step.scale[:, :, 0]
        for r in range(4):
            real = rows[r][weight[r] > 0]
            seen[r] += list(real)
            steps[r] += len(real) > 0
            if len(real):
                np.testing.assert_allclose(weight[r][weight[r] > 0], 1 / len(real))
    for r, rows in enumerate(INDEX):
        assert sorted(seen[r]) == sorted(rows)
        assert steps[r] == -(-len(rows) // 3)
    # each epoch reshuffles
    first, second = schedule.order(), schedule.order()
    assert not np.array_equal(first, second)


def test_online_step_perceptron_is_rosenblatts_rule():
    """One epoch of online SSE training of a step neuron = w += lr (y - y_hat) x, b += lr (y - y_hat)."""
    Xb = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([-1, -1, -1, 1.0])
    net = Network(
        [Dense(1, "step", kernel_initializer={"name": "uniform", "low": -1, "high": 1})],
        input_dim=2,
        seed=1,
        dtype="float64",
    )
    w, b = net.get_weights()[0][0, :, 0].copy(), net.get_weights()[1][0, 0, 0]
    Trainer(
        loss="sse", optimizer={"name": "sgd", "learning_rate": 0.1}, epochs=3, batch_size=1, shuffle=False
    ).fit(net, Xb, y[:, None])
    for _ in range(3):
        for xi, yi in zip(Xb, y):
            y_hat = 1.0 if xi @ w + b >= 0 else -1.0
            w += 0.1 * (yi - y_hat) * xi
            b += 0.1 * (yi - y_hat)
    np.testing.assert_allclose(net.get_weights()[0][0, :, 0], w, atol=1e-12)
    np.testing.assert_allclose(net.get_weights()[1][0, 0, 0], b, atol=1e-12)


def test_divergent_replica_stops_and_others_go_on():
    Xd = X.copy()
    Xd[8:] *= 1e3  # replica 1 trains on huge inputs: SGD on a linear model's SSE blows up
    index = [np.arange(8), np.arange(4, 12), np.arange(6)]
    seeds = [(4, r) for r in range(3)]

    def trainer():
        return Trainer(loss="sse", optimizer={"name": "sgd", "learning_rate": 0.05}, epochs=30, batch_size=2)  # noqa: E731

    linear = lambda s: Network([Dense(2)], input_dim=3, seeds=s, dtype="float64")  # noqa: E731
    net = linear(seeds)
    history = trainer().fit(net, Xd, Y_REG, train_index=index)
    assert list(history.status) == ["ok", "diverged", "ok"]
    stopped = history.stopped_epoch[1]
    assert 0 < stopped < 30 and list(history.stopped_epoch[[0, 2]]) == [30, 30]
    losses = history.logs["train"]["loss"]
    assert np.isnan(losses[stopped + 1 :, 1]).all() and np.isfinite(losses[:, [0, 2]]).all()
    assert not np.isfinite(losses[stopped, 1])
    alone = linear([seeds[0]])
    trainer().fit(alone, Xd, Y_REG, train_index=[index[0]])
    np.testing.assert_allclose(net.get_weights()[0][0], alone.get_weights()[0][0], atol=1e-10)


def test_early_stopping_patience_and_restore_best():
    validation = (X[8:], Y_REG[8:], None)
    history = Trainer(
        loss="mse",
        optimizer={"name": "sgd", "learning_rate": 0.3},
        epochs=300,
        batch_size=4,
        early_stopping=EarlyStopping("validation.loss", patience=3, restore_best=True),
        record_weights=True,
    ).fit(net := _net([(1, 0), (1, 1)]), X[:8], Y_REG[:8], eval_sets={"validation": validation})
    assert list(history.status) == ["early_stopped", "early_stopped"]
    np.testing.assert_array_equal(history.stopped_epoch - history.best_epoch, [3, 3])
    val = history.logs["validation"]["loss"]
    for r in range(2):
        stop, best = history.stopped_epoch[r], history.best_epoch[r]
        assert np.nanargmin(val[:, r]) == best
        assert np.isnan(val[stop + 1 :, r]).all() and not np.isnan(val[: stop + 1, r]).any()
        recorded = history.weights[history.weights_epochs.index(best)]
        np.testing.assert_array_equal(net.get_weights()[0][r], recorded[0][r])


def test_early_stopping_mode_max_with_evaluator_metric():
    def evaluator(split, outputs, index, mask):
        return {"neg_error": -np.abs(outputs[..., 0] - Y_REG[index][..., 0]).max(axis=1)}

    history = Trainer(
        loss="sse",
        optimizer={"name": "sgd", "learning_rate": 0.02},
        epochs=200,
        batch_size=1,
        evaluator=evaluator,
        early_stopping=EarlyStopping("train.neg_error", patience=2, mode="max", restore_best=False),
    ).fit(_net([(2, 0)]), X, Y_REG)
    values = history.logs["train"]["neg_error"][:, 0]
    assert history.best_epoch[0] == np.nanargmax(values)
    if history.status[0] == "early_stopped":
        assert history.stopped_epoch[0] - history.best_epoch[0] == 2


def test_callback_logs_and_recorded_epochs():
    calls = []
    evaluated = []

    def evaluator(split, outputs, index, mask):
        evaluated.append((split, outputs.shape, index.shape, mask.sum(axis=1).tolist()))
        return {"rows": mask.sum(axis=1).astype(float)}

    history = Trainer(
        loss="sse",
        optimizer="sgd",
        epochs=7,
        batch_size=3,
        eval_every=3,
        record_weights=[0, 2, 7],
        evaluator=evaluator,
        callback=lambda e, logs, active: calls.append((e, logs, active)),
    ).fit(
        _net([(0, r) for r in range(4)]),
        X,
        Y_REG,
        train_index=INDEX,
        eval_sets={"test": (X[:5], Y_REG[:5], [np.arange(5), np.arange(2), np.arange(3), np.arange(5)])},
    )
    assert [c[0] for c in calls] == [0, 3, 6, 7] == history.epochs
    assert history.weights_epochs == [0, 2, 7] and len(history.weights) == 3
    assert not np.array_equal(history.weights[0][0], history.weights[2][0])
    epoch, logs, active = calls[-1]
    assert set(logs) == {"train", "test"} and set(logs["train"]) == {"loss", "rows"}
    assert logs["train"]["rows"].tolist() == [10, 7, 9, 4] and active.all()
    assert ("test", (4, 5, 2), (4, 5), [5, 2, 3, 5]) in evaluated
    assert history.logs["test"]["loss"].shape == (4, 4)
    assert list(history.status) == ["ok"] * 4 and list(history.stopped_epoch) == [7] * 4


def test_full_batch_equals_batch_size_of_the_whole_set():
    weights = []
    for batch_size in ("full", None, 12):
        net = _net([(5, 0)])
        Trainer(loss="mse", optimizer="sgd", epochs=5, batch_size=batch_size).fit(net, X, Y_REG)
        weights.append(net.get_weights()[0])
    np.testing.assert_allclose(weights[0], weights[1], atol=1e-15)
    np.testing.assert_allclose(weights[0], weights[2], atol=1e-15)


def test_float32_training_stays_float32():
    net = Network([Dense(4, "relu"), Dense(2, "softmax")], input_dim=3, replicas=2, seed=0)
    history = Trainer(loss="categorical_crossentropy", optimizer="adam", epochs=3, batch_size=5).fit(
        net, X, Y_CLS
    )
    assert all(w.dtype == np.float32 for w in net.get_weights())
    assert history.logs["train"]["loss"].shape == (4, 2)


def test_bad_inputs():
    net = _net([(0, 0), (0, 1)])
    with pytest.raises(ValueError, match="3 index arrays for 2 replicas"):
        Trainer().fit(net, X, Y_REG, train_index=[np.arange(3)] * 3)
    with pytest.raises(ValueError, match=r"in \[0, 12\)"):
        Trainer().fit(net, X, Y_REG, train_index=[np.arange(3), np.array([11, 12])])
    with pytest.raises(ValueError, match="Y must be"):
        Trainer().fit(net, X, Y_REG[:, :1])
    with pytest.raises(UserError, match="no split 'validation'"):
        Trainer(early_stopping=EarlyStopping()).fit(net, X, Y_REG)
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(batch_size=0)


def test_record_weights_true_records_evaluated_epochs_only():
    history = Trainer(
        loss="sse", optimizer="sgd", epochs=5, batch_size=4, eval_every=2, record_weights=True
    ).fit(_net([(0, 0)]), X, Y_REG)
    assert history.weights_epochs == history.epochs == [0, 2, 4, 5]
    assert all(len(w) == 6 and w[0].shape == (1, 3, 5) for w in history.weights)


def test_small_training_products_run_on_one_blas_thread():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return min(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")

    default = blas_threads()
    if default == 1:
        pytest.skip("BLAS already runs on one thread here")
    seen = []
    callback = lambda epoch, logs, active: seen.append(blas_threads())  # noqa: E731
    Trainer(loss="sse", optimizer="sgd", epochs=1, batch_size=2, callback=callback).fit(
        _net([(0, 0)]), X, Y_REG
    )
    assert seen == [1, 1] and blas_threads() == default
    big = Network([Dense(2048), Dense(2048)], input_dim=3, seed=0)  # 2048 x 2048 x 8 rows > 2^23
    seen.clear()
    Trainer(loss="sse", optimizer="sgd", epochs=1, batch_size=8, callback=callback).fit(
        big, np.zeros((8, 3)), np.zeros((8, 2048))
    )
    assert seen == [default, default]


def test_patience_running_out_at_the_last_epoch_is_not_an_early_stop():
    """A replica still training at the last epoch finishes with its final weights."""
    trainer = Trainer(
        loss="mse",
        optimizer={"name": "sgd", "learning_rate": 0.3},
        epochs=300,
        batch_size=4,
        early_stopping=EarlyStopping("validation.loss", patience=3),
    )
    history = trainer.fit(
        _net([(1, 0)]), X[:8], Y_REG[:8], eval_sets={"validation": (X[8:], Y_REG[8:], None)}
    )
    last = history.stopped_epoch[0]
    assert history.status[0] == "early_stopped"
    net = _net([(1, 0)])
    trainer.epochs = int(last)  # now patience runs out exactly at the last epoch
    final = trainer.fit(
        net, X[:8], Y_REG[:8], eval_sets={"validation": (X[8:], Y_REG[8:], None)}, seeds=[(1, 0)]
    )
    assert final.status[0] == "ok" and final.stopped_epoch[0] == last
    replay = _net([(1, 0)])
    Trainer(loss="mse", optimizer={"name": "sgd", "learning_rate": 0.3}, epochs=int(last), batch_size=4).fit(
        replay, X[:8], Y_REG[:8]
    )
    np.testing.assert_allclose(net.get_weights()[0], replay.get_weights()[0], rtol=0, atol=1e-12)


def test_training_without_evaluation_reaches_the_same_weights():
    from perceptron_lab.nn import Dense, Network
    from perceptron_lab.train import Trainer

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))

    def fit(eval_every):
        net = Network([Dense(4, "tanh"), Dense(2)], input_dim=3, replicas=2, seed=1, dtype="float64")
        history = Trainer(loss="mse", optimizer="adam", epochs=5, batch_size=8, eval_every=eval_every).fit(
            net, X, Y
        )
        return net, history

    evaluated, _ = fit(1)
    silent, history = fit(None)
    for a, b in zip(evaluated.get_weights(), silent.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.epochs == [] and history.logs["train"] == {}
    assert history.stopped_epoch.tolist() == [5, 5]
