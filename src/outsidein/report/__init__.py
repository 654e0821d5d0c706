"""The static HTML report: one page with a section per capability (Plotly charts inline)."""
