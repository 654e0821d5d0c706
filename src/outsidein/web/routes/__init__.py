"""Routers: pages (HTML) and the JSON API. Each route calls service functions and formats."""
