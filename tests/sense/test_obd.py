"""Reading the Open Bandit Dataset the way obp does, and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outsidein.errors import DataValidationError, MissingDataError
from outsidein.services.sense import ZOZOTOWN_BTS_PRIOR, read_obd

HEADER = ",timestamp,item_id,position,click,propensity_score,user_feature_0\n"
ROWS = [  # out of time order on purpose
    "0,2019-11-24 00:00:09+00:00,3,3,0,0.0125,a\n",
    "1,2019-11-24 00:00:01+00:00,7,1,1,0.0125,b\n",
    "2,2019-11-24 00:00:05+00:00,79,2,0,0.0125,c\n",
]


@pytest.mark.validation
def test_the_random_log_has_the_documented_shape(reference_data: Path) -> None:
    folder = reference_data / "obd"
    if not (folder / "random").is_dir():
        pytest.skip(f"Open Bandit Dataset sample not found in {folder}")
    log = read_obd(folder, "random")
    assert (log.n_rounds, log.n_actions, log.len_list) == (10_000, 80, 3)
    assert np.allclose(log.pscore, 1 / 80)  # uniform over 80 items
    assert set(np.unique(log.position)) == {0, 1, 2}
    assert int(log.reward.sum()) == 38
    assert len(ZOZOTOWN_BTS_PRIOR["all"][0]) == len(ZOZOTOWN_BTS_PRIOR["all"][1]) == 80
    assert "80 actions" in repr(log)


def test_rows_are_put_in_time_order_and_positions_start_at_zero(tmp_path: Path) -> None:
    nested = tmp_path / "random" / "all"  # obp's own layout
    nested.mkdir(parents=True)
    (nested / "all.csv").write_text(HEADER + "".join(ROWS))
    log = read_obd(tmp_path, "random")
    assert log.action.tolist() == [7, 79, 3]
    assert log.position.tolist() == [0, 1, 2]
    assert log.reward.tolist() == [1.0, 0.0, 0.0]


def test_missing_log_and_missing_column_are_named(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"random/all\.csv"):
        read_obd(tmp_path, "random")
    (tmp_path / "bts").mkdir()
    (tmp_path / "bts" / "all.csv").write_text(HEADER.replace(",click", "") + "0,t,1,1,0.1,a\n")
    with pytest.raises(DataValidationError, match="missing column.*click"):
        read_obd(tmp_path, "bts")
    with pytest.raises(DataValidationError, match="behavior_policy"):
        read_obd(tmp_path, "greedy")
