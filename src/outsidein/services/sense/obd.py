"""The Open Bandit Dataset (ZOZOTOWN, CC BY 4.0): read a log, replay obp's quickstart.

:func:`read_obd` reads one behaviour policy's log of one campaign the way the Open
Bandit Pipeline's ``OpenBanditDataset`` does (rows in time order, ``item_id`` as the
action, positions 1..3 as slots 0..2, ``click`` as the reward and ``propensity_score``
as the logged propensity) and keeps only what offline evaluation needs.
:func:`evaluate_bts` is obp's quickstart: the value of the production Bernoulli TS
policy, estimated on the uniform-random log and divided by the random policy's observed
click rate (published: 1.198).

>>> from outsidein.services.sense.obd import evaluate_bts
>>> evaluate_bts("../shared/data/obd").relative.estimate     # doctest: +SKIP
1.1981263157894735
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from outsidein.errors import DataValidationError, MissingDataError
from outsidein.sense import PolicyValue, bernoulli_ts_action_dist, ipw

__all__ = ["OBD_COLUMNS", "ZOZOTOWN_BTS_PRIOR", "BanditFeedback", "OBDEvaluation",
           "evaluate_bts", "read_obd"]

#: the columns offline evaluation reads (the user features and affinities are not needed)
OBD_COLUMNS = ("timestamp", "item_id", "position", "click", "propensity_score")

#: Beta priors of the Bernoulli TS policy ZOZOTOWN ran when the data were collected, per
#: item, from obp 0.5.7 ``obp/policy/conf/prior_bts.yaml`` (Apache 2.0), campaign "all"
ZOZOTOWN_BTS_PRIOR: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "all": (
        (47, 8, 62, 142, 3, 14, 7, 857, 12, 15, 6, 100, 48, 23, 71, 61, 13, 16, 518, 30,
         7, 4, 23, 8, 10, 11, 11, 18, 121, 11, 11, 10, 14, 9, 204, 58, 3, 19, 42, 1013,
         2, 328, 15, 31, 14, 138, 45, 55, 23, 38, 10, 401, 52, 6, 3, 6, 5, 32, 35, 133,
         52, 820, 43, 195, 8, 42, 40, 4, 32, 30, 9, 22, 6, 23, 5, 54, 8, 22, 65, 246),
        (12198, 3566, 15993, 35522, 2367, 4609, 3171, 181745, 4372, 4951, 3100, 24665,
         13210, 7061, 18061, 17449, 5644, 6787, 111326, 8776, 3334, 2271, 7389, 2659,
         3665, 4724, 3561, 5085, 27407, 4601, 4756, 4120, 4736, 3788, 45292, 14719, 2189,
         5589, 11995, 222255, 2308, 70034, 4801, 8274, 5421, 31912, 12213, 13576, 6230,
         10382, 4141, 85731, 12811, 2707, 2250, 2668, 2886, 9581, 9465, 28336, 12062,
         162793, 12107, 41240, 3162, 11604, 10818, 2923, 8897, 8654, 4000, 6580, 3174,
         6766, 2602, 14506, 3968, 7523, 16532, 51964),
    ),
}

_POLICIES = ("random", "bts")
#: obp's quickstart seeds its BernoulliTS with this
OBP_QUICKSTART_SEED = 12345


@dataclass(frozen=True, eq=False)
class BanditFeedback:
    """One logged bandit dataset in obp's conventions (0-based actions and positions)."""

    behavior_policy: str
    campaign: str
    action: NDArray[np.int64]
    position: NDArray[np.int64]
    reward: NDArray[np.float64]
    pscore: NDArray[np.float64]

    @property
    def n_rounds(self) -> int:
        """Logged impressions."""
        return int(self.action.size)

    @property
    def n_actions(self) -> int:
        """Items, as obp counts them: the largest item id plus one."""
        return int(self.action.max()) + 1

    @property
    def len_list(self) -> int:
        """Slots per impression."""
        return int(self.position.max()) + 1

    @property
    def click_rate(self) -> float:
        """Observed reward per round: the behaviour policy's on-policy value."""
        return float(self.reward.mean())

    def __repr__(self) -> str:
        return (f"BanditFeedback({self.behavior_policy}/{self.campaign}: {self.n_rounds:,} "
                f"rounds, {self.n_actions} actions, {self.len_list} positions, click rate "
                f"{self.click_rate:.4%})")


def _csv_path(folder: Path, behavior_policy: str, campaign: str) -> Path:
    # the sample shipped beside the repository is <policy>/<campaign>.csv; obp's own
    # package (and the full download) nest it one level deeper: <policy>/<campaign>/<campaign>.csv
    for path in (folder / behavior_policy / f"{campaign}.csv",
                 folder / behavior_policy / campaign / f"{campaign}.csv"):
        if path.is_file():
            return path
    raise MissingDataError(
        f"Open Bandit Dataset log not found: expected {folder / behavior_policy}/{campaign}.csv "
        "(or obp's layout <policy>/<campaign>/<campaign>.csv); point to the folder that holds "
        "the 'random' and 'bts' folders")


def read_obd(folder: str | Path, behavior_policy: str = "random",
             campaign: str = "all") -> BanditFeedback:
    """Read one behaviour policy's log of one campaign of the Open Bandit Dataset.

    Parameters
    ----------
    folder : str or Path
        The folder holding ``random/`` and ``bts/``.
    behavior_policy : {"random", "bts"}
        Which policy's log.
    campaign : str, default "all"
        ``"all"``, ``"men"`` or ``"women"``.

    Returns
    -------
    BanditFeedback

    Raises
    ------
    MissingDataError
        When the CSV is not there.
    DataValidationError
        When a needed column is missing or a value is unusable.
    """
    if behavior_policy not in _POLICIES:
        raise DataValidationError(
            f"behavior_policy: expected 'random' or 'bts', got {behavior_policy!r}")
    path = _csv_path(Path(folder), behavior_policy, campaign)
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in OBD_COLUMNS if c not in header]
    if missing:
        raise DataValidationError(
            f"{path}: missing column(s) {', '.join(missing)}; an Open Bandit Dataset log has "
            f"{', '.join(OBD_COLUMNS)}")
    data = pd.read_csv(path, usecols=list(OBD_COLUMNS))
    for column in OBD_COLUMNS[1:]:
        if not pd.api.types.is_numeric_dtype(data[column]) or data[column].isna().any():
            raise DataValidationError(f"{path}: column {column!r} must be numbers without gaps")
    data = data.sort_values("timestamp", kind="stable")
    # obp maps the positions to 0.. by dense rank
    _, position = np.unique(data["position"].to_numpy(), return_inverse=True)
    return BanditFeedback(
        behavior_policy=behavior_policy, campaign=campaign,
        action=data["item_id"].to_numpy(np.int64), position=position.astype(np.int64),
        reward=data["click"].to_numpy(np.float64),
        pscore=data["propensity_score"].to_numpy(np.float64))


@dataclass(frozen=True)
class OBDEvaluation:
    """Bernoulli TS evaluated on the random log, and the random policy's click rate."""

    policy_value: PolicyValue
    behavior_click_rate: float
    n_sim: int

    @property
    def relative(self) -> PolicyValue:
        """The policy value over the random policy's observed click rate (obp's figure)."""
        return self.policy_value.relative_to(self.behavior_click_rate)

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {"policy_value": self.policy_value.to_dict(),
                "relative": self.relative.to_dict(),
                "behavior_click_rate": self.behavior_click_rate, "n_sim": self.n_sim}


def evaluate_bts(folder: str | Path, *, campaign: str = "all", n_sim: int = 100_000,
                 policy_seed: int | None = OBP_QUICKSTART_SEED, alpha: float = 0.05,
                 n_bootstrap: int = 2000, random_state: int | None = 0) -> OBDEvaluation:
    """obp's quickstart: IPW value of ZOZOTOWN's Bernoulli TS on the uniform-random log.

    The TS policy's action distribution comes from *n_sim* simulated impressions under
    its production prior, seeded with *policy_seed* (obp's quickstart uses 12345);
    *random_state* seeds the bootstrap interval.
    """
    if campaign not in ZOZOTOWN_BTS_PRIOR:
        raise DataValidationError(
            f"campaign: the Bernoulli TS prior is ported for {sorted(ZOZOTOWN_BTS_PRIOR)}, "
            f"got {campaign!r}")
    log = read_obd(folder, "random", campaign)
    prior_alpha, prior_beta = ZOZOTOWN_BTS_PRIOR[campaign]
    if len(prior_alpha) != log.n_actions:
        raise DataValidationError(
            f"the {campaign!r} log has {log.n_actions} items but the Bernoulli TS prior has "
            f"{len(prior_alpha)}")
    dist = bernoulli_ts_action_dist(prior_alpha, prior_beta, len_list=log.len_list,
                                    n_sim=n_sim, n_rounds=log.n_rounds,
                                    random_state=policy_seed)
    value = ipw(reward=log.reward, action=log.action, pscore=log.pscore, action_dist=dist,
                position=log.position, alpha=alpha, n_bootstrap=n_bootstrap,
                random_state=random_state)
    return OBDEvaluation(value, log.click_rate, n_sim)
