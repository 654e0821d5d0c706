"""The per-customer summary reproduces Fader & Hardie's CDNOW calibration summary.

``cdnow_customers_summary_with_transactions.csv`` gives, for the 2,357
customers of the CDNOW sample, x (repeat purchase days), t_x (recency) and T
in weeks for the calibration period to 1997-09-30, and zbar (mean value of
the repeat purchases).  The file's T is the number of days from the first
purchase day to 1997-09-30 divided by 7 (a first purchase on 1997-01-01 gives
272 / 7 = 38.86); the summary uses exactly that convention.  The file rounds
to 2 decimals.
"""

from __future__ import annotations

import pandas as pd
import pytest

from outsidein.services.data import load_frame
from outsidein.warehouse.summary import compress, customer_summary

pytestmark = pytest.mark.validation


@pytest.fixture
def cdnow_workspace(workspace, reference_data):
    raw = pd.read_csv(reference_data / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "cds", "dollars"])
    lines = pd.DataFrame({
        "order_id": [f"{c}-{i}" for i, c in enumerate(raw.customer_id)],
        "customer_id": raw.customer_id.astype(str),
        "product_id": "cd",
        "ts": pd.to_datetime(raw.date.astype(str), format="%Y%m%d"),
        "quantity": raw.cds,
        "revenue": raw.dollars,
    })
    report = load_frame(workspace, "order_lines", lines, source="CDNOW_sample.txt")
    assert report.loaded == 6919 and report.stubs_created == 2357
    return workspace


def test_calibration_summary_matches_the_published_file(cdnow_workspace, reference_data):
    orders = cdnow_workspace.warehouse().table("order_lines")
    s = customer_summary(orders, calibration_end="1997-09-30", time_unit="weeks")
    got = s.to_pandas()
    got.index = got.customer_id.astype(int)
    got = got.sort_index()
    ref = pd.read_csv(reference_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv",
                      index_col="ID").sort_index()
    assert len(got) == len(ref) == 2357
    assert (got.frequency == ref.x).all()
    assert int((got.frequency > 0).sum()) == 946
    assert (got.recency - ref.t_x).abs().max() < 1e-2
    assert (got["T"] - ref["T"]).abs().max() < 1e-2
    assert (got.monetary_value - ref.zbar).abs().max() < 1e-2
    # the holdout is the remaining 39 weeks to 1998-06-30
    assert got.duration_holdout.unique().tolist() == [39.0]
    assert got.frequency_holdout.sum() > 0


def test_compressed_triples_count_every_customer(cdnow_workspace):
    orders = cdnow_workspace.warehouse().table("order_lines")
    s = customer_summary(orders, calibration_end="1997-09-30")
    c = compress(s).to_pandas()
    assert int(c.n.sum()) == 2357
    assert len(c) < 2357
    assert not c.duplicated(["frequency", "recency", "T"]).any()
