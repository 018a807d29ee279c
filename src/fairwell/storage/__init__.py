"""SQLAlchemy 2 storage: SQLite by default (WAL, synchronous=FULL), PostgreSQL by URL."""
