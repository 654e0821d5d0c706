"""Routers: pages (HTML) and the JSON API. Each route calls service functions and formats.

One module per capability; `outsidein.web.app.ROUTERS` lists their routers.
"""

__all__: list[str] = []
