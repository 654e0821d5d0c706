"""The operational store: SQLAlchemy models, Alembic migrations, SQLite (WAL) or PostgreSQL.

Use :func:`outsidein.store.db.make_engine` / :func:`session_scope` to talk to
it and :func:`outsidein.store.migrate.upgrade` to bring a database to the
latest schema.  Each capability keeps its models in its own module under
``outsidein.store.models`` and adds its own Alembic revision (linear chain).
"""
