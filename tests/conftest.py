"""Fixtures shared by test directories: the throwaway PostgreSQL server (see tests/support/postgres.py)."""

from tests.support.postgres import incident_db, pg_server, pg_url

__all__ = ["incident_db", "pg_server", "pg_url"]
