"""Candidate policies to evaluate offline against the engine's own decision log.

A logged round is one arbitrated decision: the customer's stage, the message chosen (or
none: the control group) and the probability it was chosen with.  Action 0 is "no
message"; actions 1.. are the messages.  ``available[s]`` marks the messages the engine
had to choose from in stage ``s`` (those it logged there): a candidate is judged only on
choices the log can speak for.

- ``none``: send nothing (what the control group gets);
- ``uniform``: any available message, at random;
- ``greedy``: the available message with the best estimated response rate in the stage
  (from the reward model), always;
- ``always:NAME``: that message wherever it was available, else nothing (a "push").

>>> import numpy as np
>>> available = np.array([[False, True, True]])
>>> q = np.array([[0.0, 0.1, 0.3]])
>>> candidate_distribution("greedy", np.array([0, 0]), available, q, ("none", "a", "b"))[:, :, 0]
array([[0., 0., 1.],
       [0., 0., 1.]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from outsidein.errors import DataValidationError

__all__ = ["CANDIDATES", "candidate_distribution", "reward_model"]

#: The candidate policies by name (``always:NAME`` takes a message name).
CANDIDATES = ("none", "uniform", "greedy", "always:NAME")


def reward_model(stage: NDArray[np.intp], action: NDArray[np.intp], reward: NDArray[np.float64],
                 n_stages: int, n_actions: int, prior: tuple[float, float] = (1.0, 1.0)
                 ) -> NDArray[np.float64]:
    """Mean reward per (stage, action) with a Beta prior (the posterior mean), shape
    ``(n_stages, n_actions)``.

    >>> reward_model(np.array([0, 0, 0]), np.array([1, 1, 0]), np.array([1.0, 0.0, 0.0]),
    ...              1, 2).round(3).tolist()
    [[0.333, 0.5]]
    """
    hits = np.zeros((n_stages, n_actions))
    seen = np.zeros((n_stages, n_actions))
    np.add.at(hits, (stage, action), reward)
    np.add.at(seen, (stage, action), 1.0)
    a, b = prior
    return (hits + a) / (seen + a + b)


def candidate_distribution(policy: str, stage: NDArray[np.intp], available: NDArray[np.bool_],
                           q: NDArray[np.float64], actions: Sequence[str]
                           ) -> NDArray[np.float64]:
    """The candidate's probability of each action in each logged round,
    shape ``(n, n_actions, 1)`` (the Open Bandit Pipeline's ``action_dist``)."""
    k = len(actions)
    per_stage = np.zeros((available.shape[0], k))
    if policy == "none":
        per_stage[:, 0] = 1.0
    elif policy == "uniform":
        count = available[:, 1:].sum(axis=1, keepdims=True)
        per_stage[:, 1:] = np.where(count > 0, available[:, 1:] / np.maximum(count, 1), 0.0)
        per_stage[count[:, 0] == 0, 0] = 1.0
    elif policy == "greedy":
        masked = np.where(available[:, 1:], q[:, 1:], -np.inf)
        best = masked.argmax(axis=1) + 1
        has = available[:, 1:].any(axis=1)
        per_stage[np.arange(len(best))[has], best[has]] = 1.0
        per_stage[~has, 0] = 1.0
    elif policy.startswith("always:") and policy[7:] in actions[1:]:
        j = list(actions).index(policy[7:])
        per_stage[available[:, j], j] = 1.0
        per_stage[~available[:, j], 0] = 1.0
    else:
        known = ", ".join(actions[1:]) or "none logged"
        raise DataValidationError(
            f"candidate policy {policy!r}: expected none, uniform, greedy or always:NAME with "
            f"NAME a message in the decision log ({known})")
    return per_stage[stage][:, :, None]
