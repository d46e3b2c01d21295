"""Runnable examples that ship with the package: ``python -m zoho_tokenstore.examples.<name>``."""
