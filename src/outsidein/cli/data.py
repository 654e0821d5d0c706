"""``outsidein init``, ``load``, ``status`` and ``quarantine``: the customer data hub's commands.

Everything printed that comes from a file (names, headers, values, reasons) is
escaped: Rich markup in the data (``[/]``) is text, never markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from outsidein.cli._common import (
    JSON_OPTION,
    add_row,
    console,
    console_err,
    print_json,
    progress,
    workspace,
)
from outsidein.config import check_mapping_name
from outsidein.errors import DataValidationError

if TYPE_CHECKING:
    from outsidein.warehouse.load_report import LoadReport


def _parse_maps(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        target, sep, source = item.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise DataValidationError(
                f"--map {item!r}: expected target=source, e.g. --map customer_id=CustomerNo")
        out[target.strip()] = source.strip()
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        ctx: typer.Context,
        directory: Annotated[Path | None, typer.Argument(
            help="workspace folder (default: --workspace or the current folder)")] = None,
        backend: Annotated[str, typer.Option(
            help="warehouse engine: duckdb (a file) or pyspark (Spark local mode)")] = "duckdb",
        store_url: Annotated[str | None, typer.Option(
            help="store database URL (default: SQLite file in the workspace)")] = None,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        """Create a workspace: outsidein.toml, the warehouse and the store (kept if present)."""
        from outsidein.workspace import Workspace  # loaded when the command runs (start-up)
        if backend not in ("duckdb", "pyspark"):
            raise DataValidationError(
                f"--backend {backend!r}: expected duckdb or pyspark")
        folder = directory or ctx.find_root().obj.workspace_dir
        ws = Workspace.init(folder, backend=backend, store_url=store_url)
        try:
            info = {"workspace": str(ws.root), "backend": ws.config.warehouse_backend,
                    "store_url": ws.store_url}
        finally:
            ws.close()
        if as_json:
            print_json(info)
            return
        console.print(f"[green]workspace ready[/] at [bold]{escape(str(ws.root))}[/] "
                      f"(warehouse: {info['backend']}); next: outsidein load TABLE FILE")
        if info["backend"] != backend:
            console.print(f"[yellow]note:[/] the existing outsidein.toml keeps backend "
                          f"{info['backend']!r}; edit it to change engines", highlight=False)

    @app.command()
    def load(
        ctx: typer.Context,
        table: Annotated[str, typer.Argument(help="canonical table, e.g. order_lines")],
        file: Annotated[Path, typer.Argument(
            help="a .csv (.txt, .tsv), .parquet, .jsonl or .xlsx file (its first sheet)")],
        map_: Annotated[list[str] | None, typer.Option(
            "--map", help="target=source column or expression, e.g. --map ts=date or "
                          "--map 'revenue=sales + tax' (repeatable; wins over --mapping)")] = None,
        mapping: Annotated[str | None, typer.Option(
            "--mapping", help="use the named mapping [mappings.NAME] of outsidein.toml")] = None,
        date_format: Annotated[str | None, typer.Option(
            help="strptime format of dates, e.g. '%d/%m/%Y' (default: inferred)")] = None,
        delimiter: Annotated[str | None, typer.Option(
            help="field delimiter: ',', ';', '\\t', '|' or 'whitespace' (default: detected)")
        ] = None,
        no_header: Annotated[bool, typer.Option(
            "--no-header", help="the first line is data; name the columns with --columns")] = False,
        columns: Annotated[str | None, typer.Option(
            help="column names of a file without header, e.g. customer_id,date,amount")] = None,
        encoding: Annotated[str | None, typer.Option(
            help="text encoding, e.g. latin-1 or cp1252 (default utf-8)")] = None,
        allow_future: Annotated[bool, typer.Option(
            "--allow-future", help="keep dates after today instead of quarantining them")] = False,
        decimal: Annotated[str | None, typer.Option(
            help="decimal separator of the numbers: '.' (default; 1,234.50 and $1,234.50 "
                 "read too) or ',' (1.234,50 and 1.234,50 € read too)")] = None,
        max_bad_fraction: Annotated[float | None, typer.Option(
            min=0.0, max=1.0, help="fail (nothing loaded) when more than this share of rows is "
                                   "quarantined or duplicated, e.g. 0.01 (default: warn above "
                                   "0.05)")] = None,
        replace: Annotated[bool, typer.Option(
            "--replace", help="undo the earlier load(s) of this file into TABLE, then load it "
                              "again, in one transaction")] = False,
        save_mapping: Annotated[str | None, typer.Option(
            "--save-mapping", help="after the load, save its mapping and reader options as "
                                   "[mappings.NAME] in outsidein.toml")] = None,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        """Validate and load FILE into TABLE; bad rows go to the quarantine, nothing is lost."""
        # loaded when the command runs (start-up)
        from outsidein.services.data import load_file, load_options, save_load_options
        if save_mapping:
            check_mapping_name(save_mapping)  # before the load, not after it committed
        ws = workspace(ctx)
        try:
            options = load_options(
                ws, mapping_name=mapping, maps=_parse_maps(map_), date_format=date_format,
                delimiter=delimiter, header=False if no_header else None,
                columns=_parse_columns(columns), encoding=encoding,
                allow_future=True if allow_future else None, decimal=decimal)
            with progress(enabled=not as_json and console_err.is_terminal) as bar:
                task = bar.add_task(f"loading {escape(file.name)}", total=5)

                def tick(step: str, done: int, total: int) -> None:
                    bar.update(task, description=escape(f"{file.name}: {step}"),
                               completed=done, total=total)

                report = load_file(ws, table, file, options=options, progress=tick,
                                   replace=replace, max_bad_fraction=max_bad_fraction)
            if save_mapping:
                save_load_options(ws, save_mapping, options)
        finally:
            ws.close()
        if as_json:
            print_json(report.to_dict())
            return
        _print_report(report)
        if save_mapping:
            console.print(f"saved mapping {escape(save_mapping)!r} in outsidein.toml; next "
                          f"file of this feed: outsidein load {escape(table)} FILE --mapping "
                          f"{escape(save_mapping)}", highlight=False)

    @app.command()
    def status(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
        """Rows per table, quarantined rows per table and the last loads."""
        # loaded when the command runs (start-up): plain DuckDB SQL, no Ibis
        from outsidein.services.status import warehouse_status
        ws = workspace(ctx)
        try:
            st = warehouse_status(ws)
        finally:
            ws.close()
        if as_json:
            print_json({"workspace": str(ws.root), **st.to_dict()})
            return
        t = Table(title=escape(f"warehouse ({st.backend}) at {ws.root}"))
        t.add_column("table")
        t.add_column("rows", justify="right")
        t.add_column("quarantined", justify="right")
        for name, n in st.tables.items():
            qn = st.quarantine.get(name, 0)
            t.add_row(name, f"{n:,}", f"[yellow]{qn:,}[/]" if qn else "0")
        for name, n in st.other_tables.items():
            t.add_row(f"[dim]{escape(name)}[/]", f"{n:,}", "")
        console.print(t)
        if st.attributes:  # columns of customers/prospects/products files beyond the model
            at = Table(title="attributes kept from your files")
            for col in ("table", "attribute", "type", "with a value"):
                at.add_column(col, justify="right" if col == "with a value" else "left")
            for a in st.attributes:
                add_row(at, a["table"], a["name"], a["type"], f"{a['entities']:,}")
            console.print(at)
        if st.loads:
            lt = Table(title="last loads")
            for col in ("finished", "table", "file", "read", "loaded", "quarantined",
                        "duplicates", "stubs"):
                lt.add_column(col, justify="left" if col in ("finished", "table", "file")
                              else "right")
            for r in st.loads:
                add_row(lt, str(r["finished"])[:19], r["table_name"], Path(r["file"]).name,
                        *(f"{int(r[k]):,}" for k in ("rows_read", "loaded", "quarantined",
                                                     "duplicates", "stubs_created")))
            console.print(lt)
        else:
            console.print("no loads yet: outsidein load TABLE FILE (or outsidein demo)")

    @app.command()
    def quarantine(
        ctx: typer.Context,
        table: Annotated[str, typer.Argument(help="canonical table, e.g. order_lines")],
        limit: Annotated[int, typer.Option(help="rows to list")] = 20,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        """Why rows of TABLE were quarantined: reasons with counts, then the rows."""
        # loaded when the command runs (start-up)
        from outsidein.services.data import quarantine_report
        if limit < 0:
            raise DataValidationError(f"--limit {limit}: expected 0 or more rows")
        ws = workspace(ctx)
        try:
            rep = quarantine_report(ws, table, limit=limit)
        finally:
            ws.close()
        if as_json:
            print_json(rep.to_dict())
            return
        if not rep.total:
            console.print(f"[green]no quarantined rows for {escape(rep.table)}[/]")
            return
        console.print(f"[yellow]{rep.total:,} quarantined rows in {escape(rep.table)}[/]")
        rt = Table(title="reasons")
        for col in ("file", "column", "reason", "rows", "first row"):
            rt.add_column(col, justify="right" if col in ("rows", "first row") else "left")
        for r in rep.reasons:
            add_row(rt, Path(r["file"]).name, str(r["column"]), r["reason"], f"{r['rows']:,}",
                    str(r["first_row"]))
        console.print(rt)
        for r in rep.rows:
            console.print(_row_line(r), highlight=False, soft_wrap=True, markup=False)


def _parse_columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",")]
    if not all(names):
        raise DataValidationError(
            f"--columns {text!r}: expected names separated by commas, e.g. "
            "--columns customer_id,date,amount")
    return names


def _print_report(report: LoadReport) -> None:
    """The load report for people; everything from the file is escaped (no Rich markup)."""
    bad = report.quarantined or report.skipped_same_file or report.warnings
    colour = "yellow" if bad else "green"
    console.print(f"[{colour}]{escape(report.summary())}[/]", highlight=False)
    for reason, n in list(report.reasons.items())[:10]:
        console.print(f"  quarantined {n:>8,}  {escape(reason)}", highlight=False)
    for note in report.notes:
        console.print(f"  [yellow]note:[/] {escape(note)}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning: {escape(warning)}[/]", highlight=False)
    if report.quarantined:
        console.print(f"  see them with: outsidein quarantine {escape(report.table)}",
                      highlight=False)
    if report.rows_read and not report.skipped_same_file:
        console.print(f"  undo this load with: outsidein loads undo {report.load_id}",
                      highlight=False)


def _row_line(r: dict[str, Any]) -> str:
    got = "" if r.get("value") is None else f", got {str(r['value'])!r}"
    return (f"  row {r['row_number']} of {Path(r['file']).name}, column {r['column']!r}: "
            f"{r['reason']}{got}")
