"""Encryption at rest: keyed-hash lookup columns, credential columns wide enough for ciphertext.

Revision ID: zoho_tokenstore_0004
Revises: zoho_tokenstore_0003
Create Date: 2026-11-30

- ``refresh_token_hash``, ``access_token_hash``, ``grant_token_hash``: HMAC-SHA256 hex, indexed;
  lookups of encrypted rows match these.
- ``client_secret`` and the three tokens widen to the Fernet ciphertext of the longest value the
  store accepts (255 / 512 characters of up to 4 UTF-8 bytes each): 1444 and 2828 characters.
- The plaintext indexes (still used by stores without keys, and for rows written before
  encryption) are rebuilt so wide values fit: a hash index on PostgreSQL (a btree entry is limited
  to about 2700 bytes), a 255-character prefix index on MySQL/MariaDB (3072-byte key limit).

Downgrading refuses while any row holds an encrypted value, since the older schema and code would
hand ciphertext to the SDK: ``zoho-tokenstore decrypt`` first (it needs the keys).

Revisions use plain ``sa.*`` types and never import zoho_tokenstore.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "zoho_tokenstore_0004"
down_revision = "zoho_tokenstore_0003"
branch_labels = None
depends_on = None

CREDENTIALS = ("access_token", "grant_token", "refresh_token")
WIDTHS = {"client_secret": (255, 1444), **{name: (512, 2828) for name in CREDENTIALS}}
PREFIX = 255
#: Every Fernet token starts with these characters.
FERNET_PREFIX = "gAAAAA"


def _table() -> str:
    """The token table's name: ``oauthtoken`` unless the store or ``-x table=`` names another."""
    return str(context.config.attributes.get("table_name") or "oauthtoken")


def _plaintext_index_options(column: str) -> dict[str, object]:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        return {"postgresql_using": "hash"}
    if dialect in ("mysql", "mariadb"):
        return {"mysql_length": {column: PREFIX}}
    return {}


def _resize(table: str, old: int, new: int, columns: dict[str, tuple[int, int]]) -> None:
    """Change the credential columns' lengths (SQLite: by rebuilding the table in batch mode)."""
    with op.batch_alter_table(table) as batch:
        for column, widths in columns.items():
            batch.alter_column(
                column,
                existing_type=sa.String(length=widths[old]),
                type_=sa.String(length=widths[new]),
                existing_nullable=True,
            )


def upgrade() -> None:
    table = _table()
    for column in CREDENTIALS:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    _resize(table, 0, 1, WIDTHS)
    for column in CREDENTIALS:
        op.add_column(table, sa.Column(f"{column}_hash", sa.String(length=64), nullable=True))
        op.create_index(f"ix_{table}_{column}_hash", table, [f"{column}_hash"])
        op.create_index(f"ix_{table}_{column}", table, [column], **_plaintext_index_options(column))


def downgrade() -> None:
    table = _table()
    _refuse_if_encrypted(table)
    for column in CREDENTIALS:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.drop_index(f"ix_{table}_{column}_hash", table_name=table)
    with op.batch_alter_table(table) as batch:
        for column in CREDENTIALS:
            batch.drop_column(f"{column}_hash")
    _resize(table, 1, 0, WIDTHS)
    for column in CREDENTIALS:
        op.create_index(f"ix_{table}_{column}", table, [column])


def _refuse_if_encrypted(table: str) -> None:
    """Stop the downgrade while rows hold ciphertext: the older schema would hand it to the SDK."""
    if context.is_offline_mode():
        return
    columns = [sa.column(name) for name in WIDTHS]
    encrypted = sa.or_(
        *(sa.func.substr(c, 1, len(FERNET_PREFIX)) == FERNET_PREFIX for c in columns)
    )
    query = sa.select(sa.func.count()).select_from(sa.table(table, *columns)).where(encrypted)
    count = op.get_bind().execute(query).scalar_one()
    if count:
        raise RuntimeError(
            f"cannot downgrade {table} below zoho_tokenstore_0004: {count} row(s) hold encrypted "
            "tokens, which the older schema would hand to the SDK as they are. Decrypt them first "
            "with `zoho-tokenstore decrypt --url URL` (with $ZOHO_TOKENSTORE_ENCRYPTION_KEYS set), "
            "then downgrade."
        )
