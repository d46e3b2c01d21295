"""Importing tokens from the SDK's FileStore, DBStore and other ``oauthtoken`` tables, and adopting
a table in place, so no user has to consent again; one module per step (docs/store-design.md)."""

from .adopt import AdoptionRefusedError, check_adoptable, default_backup_name, take_over
from .apply import apply_plan, target_rows
from .filestore import NotAFileStoreError, read_filestore
from .plan import Plan, make_plan
from .table import NotATokenTableError, read_table

__all__ = [
    "AdoptionRefusedError",
    "NotAFileStoreError",
    "NotATokenTableError",
    "Plan",
    "apply_plan",
    "check_adoptable",
    "default_backup_name",
    "make_plan",
    "read_filestore",
    "read_table",
    "take_over",
    "target_rows",
]
