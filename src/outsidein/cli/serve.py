"""``outsidein serve``: the web app and API on uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

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
    ) -> None:
        """Serve the web pages, the JSON API (/api/v1) and its docs (/docs) for the workspace."""
        import uvicorn

        ws = workspace(ctx)  # fails early, with the usual message, when there is no workspace
        ws.close()
        console_err.print(f"Outside-In for [bold]{ws.root}[/] on http://{host}:{port}/ "
                          f"(API docs at /docs); Ctrl+C stops it", highlight=False)
        if workers > 1:
            # Several processes need an importable factory; each reads the workspace from env.
            os.environ["OUTSIDEIN_WORKSPACE"] = str(ws.root)
            uvicorn.run("outsidein.web.app:app_from_env", factory=True, host=host, port=port,
                        workers=workers, log_level=log_level, proxy_headers=True)
            return
        from outsidein.web.app import create_app

        uvicorn.run(create_app(ws.root), host=host, port=port, log_level=log_level,
                    proxy_headers=True)
