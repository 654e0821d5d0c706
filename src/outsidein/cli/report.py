"""``outsidein analyze`` (run every analysis) and ``outsidein report`` (write the HTML report)."""

from __future__ import annotations

from typing import Annotated

import typer

from outsidein.cli._common import (
    JSON_OPTION,
    console,
    print_json,
    print_pipeline,
    progress,
    workspace,
)


def register(app: typer.Typer) -> None:
    @app.command()
    def analyze(
        ctx: typer.Context,
        only: Annotated[list[str] | None, typer.Option(help="run only these steps")] = None,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        """Run every analysis that exists on the workspace's data, then write the report."""
        from outsidein.report.html import build_report  # loaded when the command runs (start-up)

        # loaded when the command runs (start-up)
        from outsidein.services.pipeline import run_analyses

        ws = workspace(ctx)
        with progress(enabled=not as_json) as bar:
            result = run_analyses(ws, progress=bar, only=set(only) if only else None)
        path = build_report(ws)
        if as_json:
            print_json({**result.to_dict(), "report": str(path)})
        else:
            print_pipeline(result)
            console.print(f"report: [bold]{path}[/]")
        if not result.ok:
            raise typer.Exit(1)

    @app.command()
    def report(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
        """Write the HTML report from the latest results and print its path."""
        from outsidein.report.html import build_report  # loaded when the command runs (start-up)

        path = build_report(workspace(ctx))
        if as_json:
            print_json({"report": str(path)})
        else:
            console.print(f"report: [bold]{path}[/]")
