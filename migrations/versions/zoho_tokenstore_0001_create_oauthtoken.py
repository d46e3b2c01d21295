"""Create the oauthtoken table.

Revision ID: zoho_tokenstore_0001
Revises:
Create Date: 2026-11-27

Revisions use plain ``sa.*`` types and never import zoho_tokenstore, so later code changes cannot
break replaying them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

#: Prefixed, so it cannot collide with a host application's own revision ids; databases that
#: recorded the earlier id "0001" are carried over by ``zoho_tokenstore.database.migrations``.
revision = "zoho_tokenstore_0001"
down_revision = None
branch_labels = ("zoho_tokenstore",)
depends_on = None


def _table() -> str:
    """The token table's name: ``oauthtoken`` unless the store or ``-x table=`` names another."""
    return str(context.config.attributes.get("table_name") or "oauthtoken")


def _mysql_collation() -> str:
    """A binary, NO PAD collation: token lookups must be exact, case and trailing spaces included.

    Offline (``--sql``) the server is unknown: a ``mysql://`` URL gets MySQL 8's collation, a
    ``mariadb://`` URL MariaDB's. MySQL 5.7 has none; ``zoho_tokenstore_0002`` refuses it.
    """
    dialect = op.get_bind().dialect
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    version = getattr(dialect, "server_version_info", None)
    return "utf8mb4_bin" if version is not None and version < (8,) else "utf8mb4_0900_bin"


def upgrade() -> None:
    mysql_options = {}
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        # Keyed by the dialect's name: SQLAlchemy's MariaDB dialect ignores ``mysql_*`` options.
        mysql_options = {
            f"{dialect}_engine": "InnoDB",
            f"{dialect}_charset": "utf8mb4",
            f"{dialect}_collate": _mysql_collation(),
        }
    table = _table()
    op.create_table(
        table,
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=512), nullable=True),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("client_secret", sa.String(length=255), nullable=True),
        sa.Column("refresh_token", sa.String(length=512), nullable=True),
        sa.Column("access_token", sa.String(length=512), nullable=True),
        sa.Column("grant_token", sa.String(length=512), nullable=True),
        sa.Column("expiry_time", sa.String(length=20), nullable=True),
        sa.Column("redirect_url", sa.String(length=1024), nullable=True),
        sa.Column("api_domain", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("user_name", name=f"uq_{table}_user_name"),
        **mysql_options,
    )
    for column in ("access_token", "grant_token", "refresh_token"):
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    table = _table()
    for column in ("refresh_token", "grant_token", "access_token"):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    op.drop_table(table)
