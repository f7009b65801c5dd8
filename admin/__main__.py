"""`python -m admin`: the staff and public web app on ADMIN_HOST:ADMIN_PORT (default :8000).

On a first run (no staff accounts) it creates a demo manager and prints the credentials once.
In production (APP_ENV=production) it refuses to start without ADMIN_SECRET_KEY, or while the
demo manager still has its first password.
"""

from __future__ import annotations

import secrets
import sys

import uvicorn

from admin.accounts import DEMO_MANAGER_ID, AccountStore
from admin.app import create_app
from admin.temporal import connect
from config import REPO_ROOT, ConfigError, Settings
from records.store import RecordsStore
from worker.client import SurveySecretMissing, with_payload_keys, with_survey_secret
from worker.observability import configure_logging

DEV_SECRET_FILE = REPO_ROOT / "var" / "admin-secret"
DEMO_PASSWORD_FILE = REPO_ROOT / "var" / "demo-manager-password"


class RefuseToStart(Exception):
    pass


def prepare(settings: Settings) -> tuple[Settings, RecordsStore]:
    """Settings with a secret key, and a migrated store with at least one account."""
    store = RecordsStore.from_settings(settings)
    store.migrate()
    accounts = AccountStore(store)
    if settings.production:
        if not settings.admin_secret_key:
            raise RefuseToStart("APP_ENV=production needs ADMIN_SECRET_KEY set (a long secret).")
        demo = DEMO_PASSWORD_FILE.read_text() if DEMO_PASSWORD_FILE.exists() else None
        if accounts.get(DEMO_MANAGER_ID) and (
            demo is None or accounts.password_is(DEMO_MANAGER_ID, demo)
        ):
            raise RefuseToStart(
                "The demo manager account still has its demo password. Create real accounts, "
                "then deactivate demo.manager (or change its password) before production."
            )
        if not accounts.all():
            raise RefuseToStart("No staff accounts: create one before starting in production.")
        try:
            settings = with_survey_secret(settings)
        except SurveySecretMissing as err:
            raise RefuseToStart(str(err)) from err
        return settings, store
    settings = with_survey_secret(with_payload_keys(settings))
    if not settings.admin_secret_key:
        DEV_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
        if not DEV_SECRET_FILE.exists():
            DEV_SECRET_FILE.write_text(secrets.token_urlsafe(48))
            DEV_SECRET_FILE.chmod(0o600)
        settings = settings.model_copy(update={"admin_secret_key": DEV_SECRET_FILE.read_text()})
    created = accounts.ensure_demo_manager(str(DEMO_PASSWORD_FILE))
    if created:
        user, password = created
        print(
            f"\n  Demo manager created. Sign in at {settings.public_base_url}/login as\n"
            f"    username: {user}\n    password: {password}\n"
            f"  (also in {DEMO_PASSWORD_FILE}; production refuses it)\n",
            flush=True,
        )
    return settings, store


def main() -> int:
    try:
        settings = Settings.load()
    except ConfigError as err:
        print(f"admin: refusing to start: {err}", file=sys.stderr)
        return 2
    try:
        settings, store = prepare(settings)
    except RefuseToStart as err:
        print(f"admin: refusing to start: {err}", file=sys.stderr)
        return 2
    app = create_app(settings, store, connect=connect)
    configure_logging(settings)  # uvicorn's loggers too: log_config=None leaves them to ours
    uvicorn.run(
        app,
        host=settings.admin_host,
        port=settings.admin_port,
        log_level="info",
        log_config=None,
        # X-Forwarded-For/-Proto only from TRUSTED_PROXIES (uvicorn alone trusts 127.0.0.1 and
        # FORWARDED_ALLOW_IPS); none set: the headers are ignored (admin/rate_limits.py)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=[str(network) for network in settings.trusted_proxies],
    )
    return 0


if __name__ == "__main__":
    from worker.client import exit_now

    exit_now(main())
