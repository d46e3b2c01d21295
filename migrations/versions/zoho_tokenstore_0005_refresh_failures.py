"""Remember failed refreshes: Zoho's error code, when, how many in a row, when to ask again.

Revision ID: zoho_tokenstore_0005
Revises: zoho_tokenstore_0004
Create Date: 2026-12-02

Four nullable columns on the token table, all NULL while refreshes work (see the section "When a
refresh fails" of ``docs/refresh-coordination.md``):

- ``refresh_error``: Zoho's error code (``invalid_code``, ``Access Denied``...) or, for a request
  that got no answer, the kind of failure; never a token or secret.
- ``refresh_failed_at``: epoch milliseconds of the last failed refresh.
- ``refresh_failures``: failed refreshes in a row (the back-off grows with it).
- ``refresh_retry_at``: epoch milliseconds before which no worker asks Zoho again; NULL with an
  error means not before a new token is saved (the user must consent again).

Downgrading drops them: the failures are forgotten and the next read asks Zoho again.
Revisions use plain ``sa.*`` types and never import zoho_tokenstore.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "zoho_tokenstore_0005"
down_revision = "zoho_tokenstore_0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("refresh_error", sa.String(length=64)),
    ("refresh_failed_at", sa.BigInteger()),
    ("refresh_failures", sa.Integer()),
    ("refresh_retry_at", sa.BigInteger()),
)


def _table() -> str:
    """The token table's name: ``oauthtoken`` unless the store or ``-x table=`` names another."""
    return str(context.config.attributes.get("table_name") or "oauthtoken")


def upgrade() -> None:
    table = _table()
    for name, type_ in COLUMNS:
        op.add_column(table, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table(_table()) as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
