"""Create the refresh lease table: which worker refreshes a token, and until when.

Revision ID: zoho_tokenstore_0003
Revises: zoho_tokenstore_0002
Create Date: 2026-11-30

A refresh no longer holds a database lock while it waits for Zoho; a worker claims the token's lease
with a short committed INSERT instead (see ``docs/refresh-coordination.md``). The lease lives in its
own table, ``<token table>_refresh_lease``, so the token table keeps the SDK's ``DBStore`` columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "zoho_tokenstore_0003"
down_revision = "zoho_tokenstore_0002"
branch_labels = None
depends_on = None


def _table() -> str:
    """The lease table of the token table this history belongs to (``-x table=`` or the store)."""
    return str(context.config.attributes.get("table_name") or "oauthtoken") + "_refresh_lease"


def _mysql_collation() -> str:
    """Binary and NO PAD, as the token table: a lease belongs to exactly one token id."""
    dialect = op.get_bind().dialect
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    # Offline (``--sql``) the version is unknown: MySQL 8's, as in 0001 (0002 refuses MySQL 5.7).
    version = getattr(dialect, "server_version_info", None)
    return "utf8mb4_bin" if version is not None and version < (8,) else "utf8mb4_0900_bin"


def upgrade() -> None:
    mysql_options = {}
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        mysql_options = {
            "mysql_engine": "InnoDB",
            "mysql_charset": "utf8mb4",
            "mysql_collate": _mysql_collation(),
            "mariadb_engine": "InnoDB",
            "mariadb_charset": "utf8mb4",
            "mariadb_collate": _mysql_collation(),
        }
    table = _table()
    op.create_table(
        table,
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=f"pk_{table}"),
        **mysql_options,
    )


def downgrade() -> None:
    op.drop_table(_table())
