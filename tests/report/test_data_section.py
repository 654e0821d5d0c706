"""The report's customer-data section: rows per table and the quarantine's reasons."""

from __future__ import annotations

from outsidein.report.sections.data import data_section
from outsidein.services.data import load_file


def test_empty_workspace_has_no_data_section(workspace):
    assert data_section(workspace) is None


def test_report_section_shows_counts_and_reasons(workspace, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,product_id,ts,quantity,revenue\n"
                    "o1,c1,p1,2024-01-05,2,10.5\n"
                    "o2,c1,p1,2024-01-06,x,3\n"
                    "o3,c2,p1,2024-01-07,1,3\n"
                    "o4,c2,p1,2024-01-07,1,\n"
                    "o5,c2,p1,2024-01-07,2,\n")
    load_file(workspace, "order_lines", path)
    section = data_section(workspace)
    assert section is not None
    assert "4 rows in 2 tables; 3 rows quarantined" in section.summary
    assert "expected a whole number" in section.body_html
    assert "<td>order_lines</td><td>2</td><td>3</td>" in section.body_html
