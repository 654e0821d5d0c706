"""Newton's method on the log-parameters of a likelihood: with its exact Hessian, or a fixed one.

Both minimise an objective (minus the mean log-likelihood, plus any penalty)
and raise :class:`~outsidein.errors.ConvergenceError` when they stall, so that
the caller can fall back to L-BFGS-B from several starts.  Near the optimum a
Newton step with the exact Hessian squares the error: from a sample's
estimate, two or three steps on all the data reach the optimum to machine
precision, where L-BFGS-B needs dozens of evaluations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from outsidein.errors import ConvergenceError

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]
ObjectiveHess = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]

#: at most this far in log-parameters per step (a factor e^2 in a parameter)
_MAX_STEP = 2.0


def hessian_by_differences(objective: Objective, theta: np.ndarray) -> np.ndarray:
    """Hessian of *objective* at *theta* by forward differences of its gradient."""
    g0 = objective(theta)[1]
    hess = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        up = theta.copy()
        up[j] += 1e-6
        hess[:, j] = (objective(up)[1] - g0) / 1e-6
    return (hess + hess.T) / 2


def newton_fixed(objective: Objective, theta: np.ndarray, hess: np.ndarray, *,
                 tol: float = 1e-9, max_steps: int = 12) -> tuple[np.ndarray, int]:
    """Quasi-Newton steps with a fixed Hessian and backtracking; raise if they stall."""
    f, g = objective(theta)
    for step_no in range(max_steps):
        if float(np.max(np.abs(g))) < tol:
            return theta, step_no
        if step_no == 3:  # still not there: the sample's curvature is off, measure it here
            hess = hessian_by_differences(objective, theta)
        step = -np.linalg.solve(hess, g)
        if not g @ step < 0:
            break
        lam = 1.0
        while lam > 1e-4:
            f_new, g_new = objective(theta + lam * step)
            if f_new <= f + 1e-4 * lam * (g @ step):
                break
            lam /= 2
        else:
            break
        theta, f, g = theta + lam * step, f_new, g_new
    if float(np.max(np.abs(g))) < 100 * tol:
        return theta, max_steps
    raise ConvergenceError("Newton steps from the sample's estimate stalled")


def newton_exact(objective: ObjectiveHess, theta: np.ndarray, *, tol: float = 1e-9,
                 max_steps: int = 50, bound: float = 25.0) -> tuple[np.ndarray, int]:
    """Minimise *objective* (value, gradient, Hessian) by damped Newton steps from *theta*.

    Where the surface is not convex the step uses the Hessian's eigenvalues
    in absolute value (still a descent direction, and the plain Newton step
    wherever the Hessian is positive definite); steps are capped in length
    and backtracked until they decrease the objective enough (Armijo).
    Raises :class:`ConvergenceError` if the steps stall, leave
    ``[-bound, bound]`` or end anywhere but at a minimum.

    >>> f = lambda t: (float((t**2).sum() + t[0]**4), 2 * t + np.r_[4 * t[0]**3, 0.0],
    ...                np.diag([2 + 12 * t[0]**2, 2.0]))
    >>> theta, steps = newton_exact(f, np.array([1.5, -3.0]))
    >>> bool(np.abs(theta).max() < 1e-9), steps < 10
    (True, True)
    """
    f, g, h = objective(theta)
    if not np.isfinite(f) or f >= 1e299:
        raise ConvergenceError("the objective is not finite at the start")
    for step_no in range(max_steps + 1):
        eig, vec = np.linalg.eigh(h)
        if float(np.max(np.abs(g))) < tol and eig[0] > 0:
            return theta, step_no
        if step_no == max_steps:
            break
        lam = np.maximum(np.abs(eig), 1e-10 * max(float(np.max(np.abs(eig))), 1e-300))
        step = -(vec @ ((vec.T @ g) / lam))
        longest = float(np.max(np.abs(step)))
        if longest > _MAX_STEP:
            step *= _MAX_STEP / longest
        slope = float(g @ step)
        t = 1.0
        while t > 1e-8:
            f_new, g_new, h_new = objective(theta + t * step)
            if f_new <= f + 1e-4 * t * slope:
                break
            t /= 2
        else:  # no decrease left to find: done if the gradient says so
            if float(np.max(np.abs(g))) < 100 * tol and eig[0] > 0:
                return theta, step_no
            break
        theta, f, g, h = theta + t * step, f_new, g_new, h_new
        if float(np.max(np.abs(theta))) > bound:
            raise ConvergenceError("Newton steps left the parameters' range")
    raise ConvergenceError("Newton steps with the exact Hessian stalled")
