"""Shared pytest configuration; fixtures live in small modules loaded here."""

pytest_plugins = ["tests.standin_fixtures"]
