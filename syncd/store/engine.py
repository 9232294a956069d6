"""Engine factory: SQLAlchemy engines on the psycopg 3 driver, built only when asked for."""

from __future__ import annotations

from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from syncd.store.errors import DatabaseUrlError

_DRIVER = "postgresql+psycopg"
_PLAIN_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def normalize_url(url: str) -> str:
    """Any Postgres URL or libpq conninfo string as an SQLAlchemy URL on psycopg 3.

    `postgres://`, `postgresql://` and `postgresql+psycopg2://` get the psycopg 3 driver;
    a conninfo string (`host=/tmp dbname=x`) becomes the equivalent URL.
    """
    if "://" not in url:
        return _from_conninfo(url).render_as_string(hide_password=False)
    scheme = url.split("://", 1)[0]
    if scheme not in _PLAIN_SCHEMES:
        raise DatabaseUrlError(f"not a Postgres URL (scheme {scheme!r})", scheme=scheme)
    parsed = make_url("postgresql" + url[len(scheme) :])
    return parsed.set(drivername=_DRIVER).render_as_string(hide_password=False)


def _from_conninfo(conninfo: str) -> URL:
    try:
        info = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUrlError("invalid conninfo string") from exc
    host = _str_or_none(info.pop("host", None))
    port = _str_or_none(info.pop("port", None))
    if host is not None and host.startswith("/"):
        # A Unix socket directory cannot be the URL's host part: pass it as a query option.
        info["host"], host = host, None
        if port:
            info["port"], port = port, None
    return URL.create(
        _DRIVER,
        username=_str_or_none(info.pop("user", None)),
        password=_str_or_none(info.pop("password", None)),
        host=host,
        port=int(port) if port else None,
        database=_str_or_none(info.pop("dbname", None)),
        query={k: str(v) for k, v in info.items() if v is not None},
    )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def libpq_conninfo(url: str) -> str:
    """The libpq form of a URL (for psycopg.connect), without the SQLAlchemy driver suffix."""
    parsed = make_url(normalize_url(url))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine on psycopg 3 for `url` (pre-ping on, so a restarted server is survived)."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    options.update(kwargs)
    return sa.create_engine(normalize_url(url), **options)
