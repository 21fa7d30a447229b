"""Migration 0002 (claimed references) on SQLite and PostgreSQL: it upgrades a database that
holds data, matches the models exactly, and downgrades cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from endorse.server.db import Database
from endorse.server.migrate import alembic_config, upgrade
from endorse.server.models import Base

CLAIMS_TABLES = {
    "reference_requests",
    "mail_stops",
    "requester_blocks",
    "referee_settings",
    "policies",
    "standing_refusals",
    "check_counts",
}


def _run(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_upgrade_keeps_data_matches_the_models_and_downgrades(database_url: str) -> None:
    db = Database.connect(database_url)
    try:
        _run(db, "0001")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO pending_codes (id, purpose, key, email, name, code_mac,"
                    " created_at, expires_at, attempts, used) VALUES ('p', 'register', 'k',"
                    " 'a@example.com', 'A', :mac, 1, 2, 0, false)"
                ),
                {"mac": b"\0" * 32},
            )
        upgrade(db.engine)
        with db.engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) >= CLAIMS_TABLES
            row = connection.execute(sa.text("SELECT email, payload FROM pending_codes")).one()
            assert tuple(row) == ("a@example.com", None)
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert differences == []
        _run(db, "0001", down=True)
        with db.engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            assert not CLAIMS_TABLES & tables
            columns = {c["name"] for c in sa.inspect(connection).get_columns("pending_codes")}
            assert "payload" not in columns
    finally:
        db.dispose()
