"""``outsidein init``, ``load``, ``status`` and ``quarantine``: the customer data hub's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outsidein.cli._common import (
    JSON_OPTION,
    console,
    console_err,
    print_json,
    progress,
    workspace,
)
from outsidein.errors import DataValidationError


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
        console.print(f"[green]workspace ready[/] at [bold]{ws.root}[/] "
                      f"(warehouse: {info['backend']}); next: outsidein load TABLE FILE")
        if info["backend"] != backend:
            console.print(f"[yellow]note:[/] the existing outsidein.toml keeps backend "
                          f"{info['backend']!r}; edit it to change engines", highlight=False)

    @app.command()
    def load(
        ctx: typer.Context,
        table: Annotated[str, typer.Argument(help="canonical table, e.g. order_lines")],
        file: Annotated[Path, typer.Argument(help="a .csv, .parquet or .jsonl file")],
        map_: Annotated[list[str] | None, typer.Option(
            "--map", help="rename a column: target=source (repeatable)")] = None,
        date_format: Annotated[str | None, typer.Option(
            help="strptime format of dates, e.g. '%d/%m/%Y' (default ISO 8601)")] = None,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        """Validate and load FILE into TABLE; bad rows go to the quarantine, nothing is lost."""
        from outsidein.services.data import load_file  # loaded when the command runs (start-up)
        mapping = _parse_maps(map_)
        ws = workspace(ctx)
        try:
            with progress(enabled=not as_json and console_err.is_terminal) as bar:
                task = bar.add_task(f"loading {file.name}", total=5)

                def tick(step: str, done: int, total: int) -> None:
                    bar.update(task, description=f"{file.name}: {step}", completed=done,
                               total=total)

                report = load_file(ws, table, file, mapping=mapping, date_format=date_format,
                                   progress=tick)
        finally:
            ws.close()
        if as_json:
            print_json(report.to_dict())
            return
        colour = "yellow" if report.quarantined or report.skipped_same_file else "green"
        console.print(f"[{colour}]{report.summary()}[/]", highlight=False)
        for reason, n in list(report.reasons.items())[:10]:
            console.print(f"  quarantined {n:>8,}  {reason}", highlight=False)
        for note in report.notes:
            console.print(f"  [yellow]note:[/] {note}", highlight=False)
        if report.quarantined:
            console.print(f"  see them with: outsidein quarantine {report.table}")

    @app.command()
    def status(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
        """Rows per table, quarantined rows per table and the last loads."""
        # loaded when the command runs (start-up)
        from outsidein.services.data import warehouse_status
        ws = workspace(ctx)
        try:
            st = warehouse_status(ws)
        finally:
            ws.close()
        if as_json:
            print_json({"workspace": str(ws.root), **st.to_dict()})
            return
        t = Table(title=f"warehouse ({st.backend}) at {ws.root}")
        t.add_column("table")
        t.add_column("rows", justify="right")
        t.add_column("quarantined", justify="right")
        for name, n in st.tables.items():
            qn = st.quarantine.get(name, 0)
            t.add_row(name, f"{n:,}", f"[yellow]{qn:,}[/]" if qn else "0")
        for name, n in st.other_tables.items():
            t.add_row(f"[dim]{name}[/]", f"{n:,}", "")
        console.print(t)
        if st.loads:
            lt = Table(title="last loads")
            for col in ("finished", "table", "file", "read", "loaded", "quarantined",
                        "duplicates", "stubs"):
                lt.add_column(col, justify="left" if col in ("finished", "table", "file")
                              else "right")
            for r in st.loads:
                lt.add_row(str(r["finished"])[:19], r["table_name"], Path(r["file"]).name,
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
            console.print(f"[green]no quarantined rows for {rep.table}[/]")
            return
        console.print(f"[yellow]{rep.total:,} quarantined rows in {rep.table}[/]")
        rt = Table(title="reasons")
        for col in ("file", "column", "reason", "rows", "first row"):
            rt.add_column(col, justify="right" if col in ("rows", "first row") else "left")
        for r in rep.reasons:
            rt.add_row(Path(r["file"]).name, str(r["column"]), r["reason"], f"{r['rows']:,}",
                       str(r["first_row"]))
        console.print(rt)
        for r in rep.rows:
            console.print(_row_line(r), highlight=False, soft_wrap=True)


def _row_line(r: dict[str, Any]) -> str:
    got = "" if r.get("value") is None else f", got {str(r['value'])!r}"
    return (f"  row {r['row_number']} of {Path(r['file']).name}, column {r['column']!r}: "
            f"{r['reason']}{got}")
