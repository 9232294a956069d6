"""SQLAlchemy tables, migrations glue and repositories for the mirror, bookkeeping and SoR."""
