"""``outsidein demo``: generate the demo company, run the analyses, write the report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from outsidein.cli._common import (
    JSON_OPTION,
    State,
    console,
    print_json,
    print_pipeline,
    progress,
)

PEOPLE_HINT = "advocate@demo.outsidein, marketing@demo.outsidein, admin@demo.outsidein"
#: Days of the demo's interactions put through the sense-and-respond engine.
DEMO_REPLAY_DAYS = 60


def _run_analyses(ws: Any, bar: Any) -> Any:
    """The analysis pipeline, after seeding the demo's people (who receive its insights), then
    the demo's needs, alignment items and Ask-Listen-Learn-Act chains on those insights."""
    from outsidein.demo.accounts import seed_demo_people  # loaded when the command runs (start-up)
    from outsidein.demo.loop import seed_demo_loop  # loaded when the command runs (start-up)
    from outsidein.services.pipeline import run_analyses  # loaded when the command runs (start-up)
    from outsidein.services.sense.analysis import (  # loaded when the command runs (start-up)
        run_simulation,
        save_simulation,
    )
    from outsidein.services.sense.replay import (  # loaded when the command runs (start-up)
        replay_interactions,
    )

    seed_demo_people(ws)
    # the last 60 days through the sense-and-respond engine, so its page is not empty (the
    # whole history takes ~45 s on the default demo: 'outsidein sense replay' does it)
    replay_interactions(ws, last_days=DEMO_REPLAY_DAYS, progress=bar)
    # and its proof on a simulated market (the command's defaults, under a second), so the
    # page and the report show it without a further command
    save_simulation(ws, run_simulation())
    report = run_analyses(ws, progress=bar)
    seed_demo_loop(ws)
    return report


def register(app: typer.Typer) -> None:
    """Add ``outsidein demo`` to *app*."""

    @app.command()
    def demo(
        ctx: typer.Context,
        customers: Annotated[int, typer.Option("--customers", "-n",
                                               help="number of customers")] = 20_000,
        seed: Annotated[int, typer.Option(help="random seed (same seed, same company)")] = 42,
        start: Annotated[str, typer.Option(help="first day of the history (ISO date)")] = (
            "2024-01-01"),
        days: Annotated[int, typer.Option(help="length of the history in days")] = 730,
        force: Annotated[bool, typer.Option(
            "--force", help="replace canonical tables even if they hold non-demo data")] = False,
        analyze: Annotated[bool, typer.Option(
            "--analyze/--no-analyze", help="run the analyses after generating")] = True,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        """Generate a demo company with planted truths, analyse it and write the report.

        Creates the workspace if it does not exist.  A previous demo in the
        workspace is replaced; other data is kept safe unless --force.
        """
        from outsidein.demo.accounts import DEMO_PASSWORD  # loaded when the command runs (start-up)
        from outsidein.demo.company import generate_demo  # loaded when the command runs (start-up)
        from outsidein.report.html import build_report  # loaded when the command runs (start-up)
        from outsidein.workspace import Workspace  # loaded when the command runs (start-up)

        state: State = ctx.find_root().obj
        ws = Workspace.init(state.workspace_dir)
        try:
            with progress(enabled=not as_json) as bar:
                report = generate_demo(ws, customers=customers, seed=seed, start=start,
                                       days=days, progress=bar, force=force)
                pipeline = _run_analyses(ws, bar) if analyze else None
            path = build_report(ws)
        finally:
            ws.close()
        people = {"emails": PEOPLE_HINT, "password": DEMO_PASSWORD} if analyze else None
        if as_json:
            print_json({"demo": report.to_dict(), "people": people,
                        "analyses": pipeline.to_dict() if pipeline is not None else None,
                        "report": str(path)})
        else:
            _print(report, pipeline, path)
            if analyze:
                console.print(f"web app: outsidein --workspace {state.workspace_dir} serve  "
                              f"(log in as {PEOPLE_HINT}, password {DEMO_PASSWORD})",
                              highlight=False)
        if pipeline is not None and not pipeline.ok:
            raise typer.Exit(1)


def _print(report: Any, pipeline: Any, path: Any) -> None:
    console.print(report.summary(), highlight=False)
    if pipeline is not None:
        print_pipeline(pipeline)
    console.print(f"report: [bold]{path}[/]")
