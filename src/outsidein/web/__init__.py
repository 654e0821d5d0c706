"""The web app (FastAPI): server-rendered pages for people, ``/api/v1`` for machines.

Start it with ``outsidein serve``; build it in code with
:func:`outsidein.web.app.create_app`.  Routes are thin: they call the services in
:mod:`outsidein.services` and :mod:`outsidein.share` and format what they return.
"""
