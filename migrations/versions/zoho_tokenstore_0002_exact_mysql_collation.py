"""Give MySQL/MariaDB token tables the exact (binary, NO PAD) collation they were meant to have.

Revision ID: zoho_tokenstore_0002
Revises: zoho_tokenstore_0001
Create Date: 2026-11-30

Tables created through a ``mariadb+pymysql://`` URL got the server's default, case-insensitive
collation (SQLAlchemy's MariaDB dialect ignores ``mysql_*`` table options), and offline ``--sql``
output named the PAD SPACE ``utf8mb4_bin``: ``ALICE@x.com`` found ``alice@x.com``'s token. This
converts such a table; one that is already exact is left alone (a conversion rebuilds the table).
Other backends are unchanged. Revisions use plain ``sa.*`` and never import zoho_tokenstore.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "zoho_tokenstore_0002"
down_revision = "zoho_tokenstore_0001"
branch_labels = None
depends_on = None


def _table() -> str:
    """The token table's name: ``oauthtoken`` unless the store or ``-x table=`` names another."""
    return str(context.config.attributes.get("table_name") or "oauthtoken")


def _exact_collation(dialect: sa.engine.Dialect) -> str:
    """The server's binary NO PAD utf8mb4 collation (offline: by the URL's scheme, MySQL 8 for mysql)."""
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    version = getattr(dialect, "server_version_info", None)
    if version is not None and version < (8,):
        raise RuntimeError(
            "MySQL before 8.0 has no exact (binary, NO PAD) utf8mb4 collation, so token lookups "
            "would ignore trailing spaces: use MySQL 8.0+ or MariaDB 10.2+"
        )
    return "utf8mb4_0900_bin"


def _already_exact(bind: sa.engine.Connection, table: str, collation: str) -> bool:
    """Whether the table and every text column in it already use ``collation``."""
    found = bind.execute(
        sa.text(
            "SELECT TABLE_COLLATION FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table "
            "UNION ALL SELECT COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table "
            "AND COLLATION_NAME IS NOT NULL"
        ),
        {"table": table},
    ).scalars()
    return {str(name) for name in found} == {collation}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return
    table = _table()
    collation = _exact_collation(bind.dialect)
    if not context.is_offline_mode() and _already_exact(bind, table, collation):
        return
    quoted = bind.dialect.identifier_preparer.quote(table)
    op.execute(f"ALTER TABLE {quoted} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")


def downgrade() -> None:
    """Nothing to undo: revision 0001 meant to create exactly this collation."""
