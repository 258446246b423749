"""ClickHouse access through clickhouse-connect; every driver error becomes StoreError here."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError


class StoreError(Exception):
    """ClickHouse could not be reached or refused a statement."""


@contextlib.contextmanager
def _mapped_errors(what: str) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except (ClickHouseError, OSError, RuntimeError) as exc:
        raise StoreError(f"{what}: {exc}") from exc
    except Exception as exc:  # chDB raises plain exceptions for SQL errors
        if type(exc).__module__.startswith(("chdb", "clickhouse_connect")):
            raise StoreError(f"{what}: {exc}") from exc
        raise


class Store:
    """A thin, typed wrapper over one clickhouse-connect client.

    Values always travel as bound parameters (`{name:Type}` placeholders); callers never
    format input into SQL text.
    """

    def __init__(self, client: Client, url: str) -> None:
        self._client = client
        self.url = url
        self.embedded = url.startswith("chdb://")
        # The HTTP client keeps a session; chDB is one engine per process. Serialising
        # statements keeps both safe when the loader, catalog refresher and API share it.
        self._lock = threading.RLock() if not self.embedded else threading.RLock()
        self.errors = 0
        self.last_insert_s = 0.0

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple]:
        with _mapped_errors("query failed"), self._lock:
            try:
                return self._client.query(sql, parameters=parameters or {}).result_rows
            except Exception:
                self.errors += 1
                raise

    def query_dicts(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict]:
        with _mapped_errors("query failed"), self._lock:
            try:
                result = self._client.query(sql, parameters=parameters or {})
            except Exception:
                self.errors += 1
                raise
            names = result.column_names
            return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def query_arrow(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        with _mapped_errors("query failed"), self._lock:
            return self._client.query_arrow(sql, parameters=parameters or {})

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        with _mapped_errors("command failed"), self._lock:
            try:
                return self._client.command(sql, parameters=parameters or {})
            except Exception:
                self.errors += 1
                raise

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str | None = None) -> None:
        settings = {"insert_deduplication_token": dedup_token} if dedup_token else None
        started = time.perf_counter()
        with _mapped_errors(f"insert into {table} failed"), self._lock:
            try:
                self._client.insert_arrow(table, data, settings=settings)
            except Exception:
                self.errors += 1
                raise
        self.last_insert_s = time.perf_counter() - started

    def insert_rows(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        dedup_token: str | None = None,
    ) -> None:
        settings = {"insert_deduplication_token": dedup_token} if dedup_token else None
        with _mapped_errors(f"insert into {table} failed"), self._lock:
            try:
                self._client.insert(
                    table, list(rows), column_names=list(column_names), settings=settings
                )
            except Exception:
                self.errors += 1
                raise

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
        except StoreError:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()


def open_store(url: str) -> Store:
    """Connect to `chdb://<dir>` (embedded engine, one process per directory) or http(s)://."""
    with _mapped_errors(f"cannot open ClickHouse at {_redact(url)}"):
        if url.startswith("chdb://"):
            client = clickhouse_connect.get_client(dsn=url)
        else:
            client = clickhouse_connect.get_client(
                dsn=url, autogenerate_session_id=False, connect_timeout=5, send_receive_timeout=60
            )
    return Store(client, url)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
