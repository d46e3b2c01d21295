"""Encryption at rest: keys and ciphertext (``cipher``), encrypted columns and lookup hashes
(``columns``), rewriting rows under a new key (``rotation``)."""
