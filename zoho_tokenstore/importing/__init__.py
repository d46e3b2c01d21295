"""Importing tokens from the SDK's FileStore, DBStore and other ``oauthtoken`` tables; adopting in place.

Reading (``filestore``, ``table``), deciding (``plan``), writing (``apply``), reporting (``report``)
and renaming an old table out of the way (``adopt``) are separate modules; ``cli/importing.py``
strings them together.
"""

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
