"""Rate limits on what anyone can reach without signing in: sign-in and the residents' form.

- Sign-in: attempts per account and per client address (SIGN_IN_LIMIT_PER_ACCOUNT, ..._ADDRESS).
  Each attempt is counted before the password is checked, and a success clears both counters,
  so only failures add up and a flood cannot get more checks than the limit.
- The form: complaints sent per client address and per email address given in the form
  (COMPLAINT_LIMIT_PER_ADDRESS, ..._EMAIL). Only complete forms, about to be lodged, count.

Counters are shared by every app process: in the records database (`SqlStorage`, a `limits`
storage over the `rate_limits` table) or, when REDIS_URL is set, in Redis (the library's own
storage). The strategy is the library's fixed window: a window opens at its key's first hit and
lasts the limit's period, and a hit is one atomic increment, so any number of processes and
threads hitting one key are allowed exactly the limit between them.

Keys hold nothing personal: account names, client addresses and email addresses are replaced by
an HMAC-SHA256 with ADMIN_SECRET_KEY before they reach the storage.

The client address is the connection's peer, unless the peer is one of TRUSTED_PROXIES: then it
is the rightmost X-Forwarded-For hop that is not a trusted proxy. An IPv6 client counts by its
/64 network (one home or phone has a whole /64 to choose addresses from).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from fastapi import Request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from records.schema import RateLimitCounter
from records.store import (
    WRITES,  # BEGIN IMMEDIATE on SQLite
    RecordsStore,
)

__all__ = ["RateLimits", "Refused", "SqlStorage", "StorageError", "client_address"]

Clock = Callable[[], float]  # seconds since the epoch, as `limits` counts them
Network = IPv4Network | IPv6Network
REDIS_PREFIX = "complaints-rate-limits"
REDIS_TIMEOUT = 2.0  # seconds: an unreachable Redis refuses quickly instead of hanging a request

SIGN_IN_ACCOUNT = "sign-in-account"
SIGN_IN_ADDRESS = "sign-in-address"
COMPLAINT_ADDRESS = "complaint-address"
COMPLAINT_EMAIL = "complaint-email"
PUBLIC_PAGE_ADDRESS = "public-page-address"

_TABLE = RateLimitCounter.__table__
_UPSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class SqlStorage(Storage):
    """A `limits` storage (fixed windows only) in the records database's `rate_limits` table.

    Each hit is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, which SQLite and PostgreSQL
    both run atomically: it opens the window, counts into it, or restarts it once it has ended."""

    PURGE_EVERY = 500  # hits in this process between clearing out ended windows

    def __init__(self, engine: Engine, clock: Clock = time.time) -> None:
        super().__init__(wrap_exceptions=True)
        upsert = _UPSERTS.get(engine.dialect.name)
        if upsert is None:
            raise ValueError(f"rate limits need SQLite or PostgreSQL, not {engine.dialect.name}")
        self._upsert = upsert
        self._engine = engine
        self._writer = engine.execution_options(**{WRITES: True})
        self._clock = clock
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock()
        insert = self._upsert(_TABLE).values(key=key, count=amount, resets_at=now + expiry)
        ended = _TABLE.c.resets_at <= now
        statement = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={
                "count": case(
                    (ended, insert.excluded.count), else_=_TABLE.c.count + insert.excluded.count
                ),
                "resets_at": case((ended, insert.excluded.resets_at), else_=_TABLE.c.resets_at),
            },
        ).returning(_TABLE.c.count)
        with self._writer.begin() as connection:
            count = int(connection.execute(statement).scalar_one())
        if next(self._hits) % self.PURGE_EVERY == 0:
            with self._writer.begin() as connection:
                connection.execute(delete(_TABLE).where(_TABLE.c.resets_at <= now))
        return count

    def get(self, key: str) -> int:
        return int(self._live(_TABLE.c.count, key) or 0)

    def get_expiry(self, key: str) -> float:
        resets_at = self._live(_TABLE.c.resets_at, key)
        return self._clock() if resets_at is None else float(resets_at)

    def _live(self, column: Any, key: str) -> Any:
        query = select(column).where(_TABLE.c.key == key, _TABLE.c.resets_at > self._clock())
        with self._engine.connect() as connection:
            return connection.execute(query).scalar()

    def check(self) -> bool:
        try:
            with self._engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._writer.begin() as connection:
            return connection.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        with self._writer.begin() as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.key == key))


def redis_storage(url: str, key_prefix: str = REDIS_PREFIX) -> Storage:
    return RedisStorage(
        url,
        key_prefix=key_prefix,
        wrap_exceptions=True,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )


def storage_for(settings: Settings, store: RecordsStore) -> Storage:
    if settings.redis_url:
        return redis_storage(settings.redis_url)
    return SqlStorage(store.engine)


# ------------------------------------------------------------------------ client address


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """The address to count a request against (see the module's docstring)."""
    peer = request.client.host if request.client else ""
    address = _ip(peer)
    if address is None:
        return peer or "unknown"
    if _is_trusted(address, trusted):
        hops = [
            hop
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
        ]
        for hop in reversed(hops):
            forwarded = _ip(hop)
            if forwarded is None:  # nothing a proxy would write: keep the last one it vouched for
                break
            address = forwarded
            if not _is_trusted(forwarded, trusted):
                break
    return _counted_as(address)


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":")[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def _is_trusted(address: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in trusted)


def _counted_as(address: IPv4Address | IPv6Address) -> str:
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


# ----------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Refused:
    """A request over a limit: which one, and how many seconds until it may be tried again."""

    rule: str
    retry_after: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))

    @property
    def wait(self) -> str:
        """For "Try again in ...": "15 minutes", "1 minute", "24 hours"."""
        minutes = self.minutes
        if minutes >= 120:
            return f"{math.ceil(minutes / 60)} hours"
        return f"{minutes} minute{'' if minutes == 1 else 's'}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimits:
    """The app's limits (`app.state.rate_limits`). Every method does blocking I/O: call them off
    the event loop (`run_in_threadpool`)."""

    def __init__(self, settings: Settings, storage: Storage, clock: Clock = time.time) -> None:
        if not settings.admin_secret_key:
            raise RuntimeError("ADMIN_SECRET_KEY is not set")
        self._secret = settings.admin_secret_key.encode()
        self._trusted = settings.trusted_proxies
        self._limiter = FixedWindowRateLimiter(storage)
        self._clock = clock
        self._items: dict[str, RateLimitItem] = {
            SIGN_IN_ACCOUNT: parse(settings.sign_in_limit_per_account),
            SIGN_IN_ADDRESS: parse(settings.sign_in_limit_per_address),
            COMPLAINT_ADDRESS: parse(settings.complaint_limit_per_address),
            COMPLAINT_EMAIL: parse(settings.complaint_limit_per_email),
            PUBLIC_PAGE_ADDRESS: parse(settings.public_page_limit_per_address),
        }
        self.storage = storage

    @classmethod
    def from_settings(cls, settings: Settings, store: RecordsStore) -> RateLimits:
        return cls(settings, storage_for(settings, store))

    def client_address(self, request: Request) -> str:
        return client_address(request, self._trusted)

    # -- sign-in

    def sign_in_refused(self, account: str, address: str) -> Refused | None:
        """None: go ahead, the attempt is counted (a success clears it). Else: refused."""
        return self._take((SIGN_IN_ADDRESS, address), (SIGN_IN_ACCOUNT, _account(account)))

    def sign_in_succeeded(self, account: str, address: str) -> None:
        for rule, value in ((SIGN_IN_ADDRESS, address), (SIGN_IN_ACCOUNT, _account(account))):
            self._limiter.clear(self._items[rule], *self._key(rule, value))

    # -- the residents' form

    def complaint_refused(self, address: str, email: str | None) -> Refused | None:
        """None: go ahead, this complaint is counted. Else: refused, nothing counted."""
        hits = [(COMPLAINT_ADDRESS, address)]
        if email and email.strip():
            hits.append((COMPLAINT_EMAIL, _mailbox(email)))
        return self._take(*hits)

    # -- public pages that only show (the "you said, we did" list)

    def page_view_refused(self, address: str) -> Refused | None:
        """None: go ahead, this view is counted. Else: refused."""
        return self._take((PUBLIC_PAGE_ADDRESS, address))

    # -- internals

    def _take(self, *hits: tuple[str, str]) -> Refused | None:
        """Refused if any limit is used up; else one hit on each. The hits are atomic, so a
        request that lost a race for the last place is refused there."""
        keyed = [(rule, self._key(rule, value)) for rule, value in hits]
        for rule, key in keyed:
            if not self._limiter.test(self._items[rule], *key):
                return self._refused(rule, key)
        for rule, key in keyed:
            if not self._limiter.hit(self._items[rule], *key):
                return self._refused(rule, key)
        return None

    def _refused(self, rule: str, key: tuple[str, str]) -> Refused:
        reset = self._limiter.get_window_stats(self._items[rule], *key).reset_time
        return Refused(rule, max(1, math.ceil(reset - self._clock())))

    def _key(self, rule: str, value: str) -> tuple[str, str]:
        digest = hmac.new(self._secret, f"{rule}\0{value}".encode(), hashlib.sha256)
        return rule, digest.hexdigest()


def _account(username: str) -> str:
    return username.strip().lower()


def _mailbox(email: str) -> str:
    """One mailbox however it is written: case and a "+tag" do not make another address."""
    local, _, domain = email.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else domain
