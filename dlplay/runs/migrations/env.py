"""Alembic's environment for the run store: migrations run on the connection the store hands
over (`dlplay.runs.migrate`), never on a URL of their own."""
from alembic import context

connection = context.config.attributes["connection"]
# SQLite can't alter most of a table in place: batch mode copies it (the store's own rebuilds too).
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
