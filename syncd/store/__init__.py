"""SQLAlchemy tables, migrations glue and repositories for the mirror, bookkeeping and SoR.

Modules: `schema` (tables of `livevox`, `syncd`, `sor`), `fields` / `field_columns` /
`codegen` (the field data file and the tuple generated from it), `engine` and `embedded`
(engines on psycopg 3; pgserver when no URL is configured), `migrate` (alembic from code),
`loader` (export bytes → COPY → typed upserts, history, tombstones), `records` (quote-aware
record splitting and line hashing), `typed_sql` (checks and casts of export text),
`reference` (custom fields, groups), `analyst` (PII-free views, read-only role), `runs` and
`watermarks` (bookkeeping), `errors`.
"""
