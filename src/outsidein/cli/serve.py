"""``outsidein serve``: the web app and API on uvicorn."""

from __future__ import annotations

import os
import threading
from typing import Annotated, Any

import typer

from outsidein.cli._common import console_err, workspace


def register(app: typer.Typer) -> None:
    """Add ``serve`` to *app*."""

    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8000,
        workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
        log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
        outbox: Annotated[bool, typer.Option(
            help="deliver notifications (webhook, e-mail, digests) from this process")] = True,
        outbox_interval: Annotated[float, typer.Option(
            min=1.0, help="seconds between outbox deliveries")] = 60.0,
    ) -> None:
        """Serve the web pages, the JSON API (/api/v1) and its docs (/docs) for the workspace.

        One outbox worker thread in this process delivers notifications, however many
        uvicorn workers serve requests, so nothing is sent twice.
        """
        import uvicorn  # loaded when the command runs (start-up)

        ws = workspace(ctx)  # fails early, with the usual message, when there is no workspace
        ws.close()
        _check_sense(ws)
        console_err.print(f"Outside-In for [bold]{ws.root}[/] on http://{host}:{port}/ "
                          f"(API docs at /docs); Ctrl+C stops it", highlight=False)
        stop = threading.Event()
        if outbox:
            _start_outbox(ws.store_url, ws.config.extra, stop, outbox_interval)
        try:
            _run(uvicorn, ws.root, host, port, workers, log_level)
        finally:
            stop.set()


def _check_sense(ws: Any) -> None:
    """Refuse to start when the sense-and-respond settings do not load (the action catalogue,
    the contact policy, the stage model, the Segment source's event names, the channels'
    webhooks): the error names the file, line and field, here and now, not in the log on
    the first event (a bad ``[sense.segment]`` made every Segment post a 500)."""
    from outsidein.services.sense.deliver import webhooks_from_config  # start-up: when run
    from outsidein.services.sense.respond import Responder  # start-up: loaded when run
    from outsidein.services.sense.segment import segment_mapping  # start-up: when run

    Responder.for_workspace(ws.root, ws.config.extra)
    section = ws.config.extra.get("sense") or {}
    segment_mapping(section.get("segment"))
    webhooks_from_config(section.get("webhooks"))


def _start_outbox(store_url: str, extra: dict[str, Any], stop: threading.Event,
                  interval: float) -> None:
    # loaded when the command runs (start-up)
    from outsidein.services.share import notify_settings, run_outbox_worker
    threading.Thread(target=run_outbox_worker, name="outsidein-outbox", daemon=True,
                     args=(store_url, notify_settings(extra)),
                     kwargs={"stop": stop, "interval": interval}).start()


def _run(uvicorn: Any, root: Any, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn  # loaded when the command runs (start-up)

    from outsidein.web.app import create_app  # loaded when the command runs (start-up)
    if workers > 1:
        # Several processes need an importable factory; each reads the workspace from env.
        os.environ["OUTSIDEIN_WORKSPACE"] = str(root)
        uvicorn.run("outsidein.web.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level, proxy_headers=True)
        return

    uvicorn.run(create_app(root), host=host, port=port, log_level=log_level,
                proxy_headers=True)
