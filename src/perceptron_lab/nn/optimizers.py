"""Optimizers that update every replica's parameters in place.

They act on one (R, P) parameter matrix and its (R, P) gradient (row r = replica r), so one
update touches all replicas with a few whole-array operations. Each replica keeps its own step
count: a replica that is idle in a step (its batch is empty, or it stopped) is left exactly as
it was, state included.

With g the gradient of the loss, every optimizer first adds the penalties on the kernels
(never the biases):
    g <- g + weight_decay * w + l1 * sign(w)       (L2 as the penalty weight_decay/2 ||w||^2)
then updates, with learning rate lr:
    sgd        w <- w - lr g
    momentum   v <- mu v - lr g;        w <- w + v              (Sutskever et al. 2013 / Keras form)
    nesterov   v <- mu v - lr g;        w <- w + mu v - lr g    (the same, looking one step ahead)
    rmsprop    s <- rho s + (1 - rho) g^2;  w <- w - lr g / (sqrt(s) + eps)
    adam       m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
               m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t);  w <- w - lr m_hat / (sqrt(v_hat) + eps)
Every state starts at zero (so momentum's first step equals sgd's). Adam and RMSprop keep
their averages rescaled by constant factors and fold the factors into lr and eps, which gives
the same numbers with fewer passes over the parameters (see their _update).

Adam also has a compiled step (`adam_tasks`, see nn/kernels.py): one pass over w, g and the
two moments, in fixed stretches spread over threads for large parameter counts, with the same
numbers as the NumPy passes. Adam takes it at prepare() when kernels are enabled
(`kernels.enabled()`) and the parameters are many (COMPILED_MIN_PARAMETERS).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from . import kernels
from .kernels import kernel
from .registry import resolve
from .threads import lane_range, run_lanes

COMPILED_MIN_PARAMETERS = 1 << 15
"""Parameters (all replicas) from which an optimizer takes its compiled step. On fewer, the
NumPy passes cost a few microseconds per step, and numba's import and the kernels' loading
(about half a second, once per process) would cost a short run more than the kernel saves."""


class Optimizer:
    name: ClassVar[str]
    n_states: ClassVar[int] = 0
    """Number of (R, P) state arrays the optimizer keeps."""
    needs_scratch: ClassVar[bool] = False
    """Whether _update gets an (R, P) scratch array besides the gradient."""

    def __init__(self, learning_rate: float = 0.01, weight_decay: float = 0.0, l1: float = 0.0):
        if not learning_rate > 0:
            raise ValueError(f"{self.name}: learning_rate must be > 0, got {learning_rate!r}")
        if weight_decay < 0 or l1 < 0:
            raise ValueError(f"{self.name}: weight_decay and l1 must be >= 0")
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.l1 = float(l1)
        self._states: list[np.ndarray] = []
        self._scratch: np.ndarray | None = None
        self._decay_columns: list[slice] = [slice(None)]
        self._kernel_path = False

    # -- lifecycle -------------------------------------------------------------------------
    def prepare(self, params, decay_columns: list[slice] | None = None) -> None:
        """Reset the state for a network's Parameters (its values, with weight decay and L1
        on its kernels) or an (R, P) parameter matrix.

        decay_columns: for a matrix, the column ranges that weight_decay and l1 act on;
        None = every column.
        """
        if not isinstance(params, np.ndarray):
            params, decay_columns = params.values, params.decay_columns
        self._states = [np.zeros_like(params) for _ in range(self.n_states)]
        self._scratch = np.empty_like(params) if self.needs_scratch else None
        # Replica r has taken _base[r] + _shared steps; _shared counts the steps all replicas took.
        self._base = np.zeros(params.shape[0], dtype=np.int64)
        self._shared = 0
        self._uniform = True
        self._shape = params.shape
        self._decay_columns = [slice(None)] if decay_columns is None else list(decay_columns)
        self._kernel_path = type(self)._compiled_update is not Optimizer._compiled_update and kernels.pays(
            params.size, COMPILED_MIN_PARAMETERS
        )
        self._everyone = np.ones(params.shape[0], dtype=bool)

    _shape = None

    @property
    def steps(self) -> np.ndarray:
        """(R,) updates taken by each replica."""
        return np.zeros(0, np.int64) if self._shape is None else self._base + self._shared

    # -- the update ------------------------------------------------------------------------
    def step(self, params: np.ndarray, grads: np.ndarray, active: np.ndarray | None = None) -> None:
        """One update of params (R, P) in place; grads (R, P) is used as scratch.

        active: (R,) bool, the replicas that update; None = all.
        """
        if params.shape != self._shape:
            self.prepare(params)
        if self.weight_decay or self.l1:
            self._add_penalties(params, grads)
        if active is None:
            self._shared += 1
        else:
            active = np.asarray(active, dtype=bool)
            if not active.any():
                return
            self._base += active
            self._uniform = bool((self._base == self._base[0]).all())
        t = self._step_number()
        if self._kernel_path:
            self._compiled_update(params, grads, self._everyone if active is None else active, t)
        elif active is None:
            self._update(params, grads, self._states, self._scratch, t)
        else:  # the idle replicas' rows are saved and put back
            idle = ~active
            kept = [params, *self._states]
            saved = [array[idle] for array in kept]
            self._update(params, grads, self._states, self._scratch, t)
            for array, rows in zip(kept, saved):
                array[idle] = rows

    def _compiled_update(self, w: np.ndarray, g: np.ndarray, active: np.ndarray, t) -> None:
        """The compiled form of _update at step t on the rows where `active` (R,) is True; the
        others are left as they are. Optimizers that have one override it."""
        raise NotImplementedError

    def _step_number(self):
        """The step number t: an int when every replica is at the same step, else (R, 1) floats
        (at least 1, for the replicas that sit this step out)."""
        if self._uniform:
            return int(self._base[0]) + self._shared
        return np.maximum(self._base + self._shared, 1)[:, None].astype(np.float64)

    def _add_penalties(self, params, grads) -> None:
        for columns in self._decay_columns:
            w, g = params[:, columns], grads[:, columns]
            if self.weight_decay:
                g += self.weight_decay * w
            if self.l1:
                g += self.l1 * np.sign(w)

    def _update(
        self, w: np.ndarray, g: np.ndarray, states: list[np.ndarray], tmp: np.ndarray | None, t
    ) -> None:
        """In-place update of w (and its `states`) given g, for any block of columns; tmp is
        scratch of the same shape; t is the step number (int, or (R, 1) per replica)."""
        raise NotImplementedError

    # -- description -----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "learning_rate": self.learning_rate}
        config.update(self._params())
        config.update({"weight_decay": self.weight_decay, "l1": self.l1})
        return config

    def _params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({params})"

    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(_states=[], _scratch=None, _shape=None, _kernel_path=False)  # a copy starts fresh
        return state


class SGD(Optimizer):
    """w <- w - lr g."""

    name = "sgd"

    def _update(self, w, g, states, tmp, t):
        g *= self.learning_rate
        w -= g


class Momentum(Optimizer):
    """v <- mu v - lr g;  w <- w + v."""

    name = "momentum"
    n_states = 1

    def __init__(
        self, learning_rate: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0, l1: float = 0.0
    ):
        super().__init__(learning_rate, weight_decay, l1)
        if not 0 <= momentum < 1:
            raise ValueError(f"{self.name}: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)

    def _params(self):
        return {"momentum": self.momentum}

    def _update(self, w, g, states, tmp, t):
        (v,) = states
        g *= self.learning_rate
        v *= self.momentum
        v -= g
        w += v


class Nesterov(Momentum):
    """v <- mu v - lr g;  w <- w + mu v - lr g."""

    name = "nesterov"
    needs_scratch = True

    def _update(self, w, g, states, tmp, t):
        (v,) = states
        g *= self.learning_rate
        v *= self.momentum
        v -= g
        np.multiply(v, self.momentum, out=tmp)
        w += tmp
        w -= g


class RMSprop(Optimizer):
    """s <- rho s + (1 - rho) g^2;  w <- w - lr g / (sqrt(s) + eps)."""

    name = "rmsprop"
    n_states = 1
    needs_scratch = True

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ):
        super().__init__(learning_rate, weight_decay, l1)
        if not 0 < rho < 1 or not eps > 0:
            raise ValueError(f"{self.name}: need 0 < rho < 1 and eps > 0, got rho={rho!r}, eps={eps!r}")
        self.rho, self.eps = float(rho), float(eps)

    def _params(self):
        return {"rho": self.rho, "eps": self.eps}

    def _update(self, w, g, states, tmp, t):
        # The state is S = s / (1 - rho), so S <- rho S + g^2 (one pass fewer), and
        # g / (sqrt(s) + eps) = g / (sqrt(S) + eps / k) / k with k = sqrt(1 - rho).
        (S,) = states
        k = np.sqrt(1.0 - self.rho)
        np.multiply(g, g, out=tmp)
        S *= self.rho
        S += tmp
        np.sqrt(S, out=tmp)
        tmp += float(self.eps / k)
        np.divide(g, tmp, out=tmp)
        tmp *= float(self.learning_rate / k)
        w -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; see the module docstring."""

    name = "adam"
    n_states = 2

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ):
        super().__init__(learning_rate, weight_decay, l1)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0):
            raise ValueError(f"{self.name}: need 0 <= beta1, beta2 < 1 and eps > 0")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _params(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The textbook state (m, v, t): m and v (R, P), the biased first and second moment
        estimates, and t (R,), the steps each replica has taken (as optax's / Keras's Adam).

        The step keeps M = m / (1 - beta1) and V = v / (1 - beta2) instead (see _update):
        the same numbers up to rounding, two passes over the parameters fewer per step.
        """
        if self._shape is None:
            raise RuntimeError("adam: no state before the first step or prepare()")
        M, V = self._states
        return M * (1.0 - self.beta1), V * (1.0 - self.beta2), self.steps

    def _update(self, w, g, states, tmp, t):
        # The states are M = m / (1 - b1) and V = v / (1 - b2), so M <- b1 M + g and
        # V <- b2 V + g^2 (three passes fewer). With c1 = (1 - b1) / (1 - b1^t) and
        # c2 = sqrt((1 - b2) / (1 - b2^t)), m_hat = c1 M and sqrt(v_hat) = c2 sqrt(V), so
        # lr m_hat / (sqrt(v_hat) + eps) = (lr c1 / c2) M / (sqrt(V) + eps / c2).
        # g is scratch: it holds g^2, then the step, so the update touches four (R, P) arrays
        # (w, g, M, V) in ten in-place passes and allocates nothing.
        M, V = states
        b1, b2 = self.beta1, self.beta2
        M *= b1
        M += g
        np.square(g, out=g)
        V *= b2
        V += g
        lr_t, eps_t = self._corrected_rates(t, w.dtype)
        np.sqrt(V, out=g)
        g += eps_t
        np.divide(M, g, out=g)
        g *= lr_t
        w -= g

    def _corrected_rates(self, t, dtype):
        """(lr_t, eps_t) at step t (an int, or (R, 1) floats): with c1 = (1 - b1) / (1 - b1^t)
        and c2 = sqrt((1 - b2) / (1 - b2^t)), lr_t = lr c1 / c2 and eps_t = eps / c2 (see _update)."""
        b1, b2 = self.beta1, self.beta2
        c1 = (1.0 - b1) / (1.0 - b1**t)
        if isinstance(t, int):  # Python floats keep float32 arithmetic in float32
            c2 = math.sqrt((1.0 - b2) / (1.0 - b2**t))
            return self.learning_rate * c1 / c2, self.eps / c2
        c2 = np.sqrt((1.0 - b2) / (1.0 - b2**t))
        return (self.learning_rate * c1 / c2).astype(dtype), (self.eps / c2).astype(dtype)

    def prepare(self, params, decay_columns: list[slice] | None = None) -> None:
        super().prepare(params, decay_columns)
        M = self._states[0]
        R, P = M.shape
        # Per replica: lr_t, eps_t (set each step), beta1, beta2, in the parameters' dtype.
        self._coefficients = np.zeros((R, 4), dtype=M.dtype)
        self._coefficients[:, 2:] = self.beta1, self.beta2
        self._tasks = R * -(-P // ADAM_CHUNK)
        self._lanes = min(kernels.threads(), self._tasks, max(1, R * P // ADAM_LANE))

    def _compiled_update(self, w, g, active, t):
        M, V = self._states
        coefficients, tasks, lanes = self._coefficients, self._tasks, self._lanes
        lr_t, eps_t = self._corrected_rates(t, coefficients.dtype)
        coefficients[:, 0] = np.reshape(lr_t, -1)
        coefficients[:, 1] = np.reshape(eps_t, -1)
        if lanes == 1:
            adam_tasks(w, g, M, V, active, coefficients, 0, tasks)
        else:
            run_lanes(
                lanes,
                lambda lane: adam_tasks(w, g, M, V, active, coefficients, *lane_range(tasks, lanes, lane)),
            )


ADAM_CHUNK = 1 << 14
"""Parameters per task of `adam_tasks`: each replica's row is cut into tasks at these fixed offsets."""

ADAM_LANE = 1 << 19
"""Parameters per thread at least. Waking a pool thread to hand it tasks costs 30 to 150 us,
as long as one core takes for a step over a few hundred thousand float32 parameters, so a
step is split only from about a million."""


@kernel
def adam_stretch(w, g, M, V, lr_t, eps_t, beta1, beta2) -> None:
    """Adam on 1-D stretches w, g, M, V of one replica's row (lr_t ... beta2 in their dtype):
    M <- beta1 M + g;  V <- beta2 V + g^2;  w <- w - (M / (sqrt(V) + eps_t)) lr_t,
    rounded after each operation in the order of Adam._update's passes."""
    for j in range(w.shape[0]):
        gj = g[j]
        m = M[j] * beta1 + gj
        v = V[j] * beta2 + gj * gj
        M[j] = m
        V[j] = v
        # np.divide rather than `/`: no zero-division check (the denominator is > 0), so the loop vectorizes.
        w[j] -= np.divide(m, np.sqrt(v) + eps_t) * lr_t


@kernel
def adam_tasks(w, g, M, V, active, coefficients, start, stop) -> None:
    """Tasks start..stop-1 of one Adam step in place on w, M, V (R, P) given g (R, P) (left
    unchanged), with the moments stored as in Adam._update (M = m / (1 - beta1),
    V = v / (1 - beta2)). Task k is the k % n-th stretch of ADAM_CHUNK parameters of replica
    k // n (n stretches per row); it runs `adam_stretch` with the replica's coefficients
    (Adam._corrected_rates) when active[replica], and is skipped otherwise. Every value depends
    only on its own entries and its replica's coefficients, so the result is the same however
    the tasks are split over threads and however many replicas are stacked."""
    P = w.shape[1]
    chunks = (P + ADAM_CHUNK - 1) // ADAM_CHUNK
    for task in range(start, stop):
        r = task // chunks
        if active[r]:
            first = (task - r * chunks) * ADAM_CHUNK
            last = min(first + ADAM_CHUNK, P)
            c = coefficients[r]
            adam_stretch(
                w[r, first:last], g[r, first:last], M[r, first:last], V[r, first:last], c[0], c[1], c[2], c[3]
            )


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSprop, Adam)}


def get_optimizer(spec) -> Optimizer:
    """An Optimizer from a name ("adam"), a dict ({"name": "adam", "learning_rate": 1e-3}) or an instance."""
    return resolve(spec, OPTIMIZERS, "optimizer", Optimizer)
