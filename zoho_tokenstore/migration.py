"""The public migration API: run the package's Alembic migrations, or keep a host's autogenerate
off our tables (``include_name``); implemented in ``zoho_tokenstore.database.migrations``."""

from .database.migrations import (
    VERSION_TABLE,
    current_revision,
    downgrade,
    head_revision,
    include_name,
    include_name_for,
    upgrade,
    version_table,
)

__all__ = [
    "VERSION_TABLE",
    "current_revision",
    "downgrade",
    "head_revision",
    "include_name",
    "include_name_for",
    "upgrade",
    "version_table",
]
