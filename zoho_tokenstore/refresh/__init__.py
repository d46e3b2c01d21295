"""Refresh coordination: one refresh per token across threads (``ahead``) and processes (``lease``)."""
