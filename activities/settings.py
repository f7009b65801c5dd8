"""Configuration from environment variables; every default is documented in .env.example."""

from __future__ import annotations

import os
from email.utils import parseaddr
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.policy import Policy, PolicyError, parse_policy

REPO_ROOT = Path(__file__).resolve().parent.parent


@cache
def load_policy_file(path: Path) -> Policy:
    """Read and check a policy file; PolicyError names the file, the key and what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise PolicyError(f"POLICY_FILE {path}: cannot be read ({err.strerror})") from err
    return parse_policy(text, f"POLICY_FILE {path}")


class Landlord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = "West Kent Housing Association"
    address: str = "101 London Road, Sevenoaks, Kent, TN13 1AX"
    phone: str = "01732 749400"
    email: str = "help@wkha.org.uk"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "complaints"
    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'records.db'}"
    outbox_dir: Path = REPO_ROOT / "var" / "outbox"
    sendgrid_api_key: str | None = None
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_sandbox: bool = False
    mail_from: str = "complaints@wkha.org.uk"
    team_inbox: str = "customer.resolution@wkha.org.uk"
    # the landlord's policy: clocks, calendar (closure days too), teams; see docs/policy.md
    policy_file: Path = REPO_ROOT / "policy" / "west-kent.toml"
    landlord: Landlord = Landlord()
    # admin web app
    app_env: str = Field(default="development", pattern="^(development|production)$")
    admin_secret_key: str | None = None
    admin_host: str = "127.0.0.1"
    admin_port: int = 8000
    temporal_ui_url: str = "http://127.0.0.1:8233"
    public_base_url: str = "http://127.0.0.1:8000"
    # payload encryption (worker/codec.py): `keyid:base64key,...`, the last one encrypts
    payload_keys: str | None = Field(default=None, repr=False)
    # operations
    log_format: str = Field(default="", pattern="^(|json|text)$")  # "" = json in production
    metrics_address: str | None = None  # e.g. 127.0.0.1:9464; make run sets that
    # email intake (admin/routes/inbound.py): SendGrid Inbound Parse posts to
    # /inbound/sendgrid/<inbound_parse_secret>; unset turns the endpoint off (404)
    inbound_parse_secret: str | None = Field(default=None, repr=False)
    # optional HTTP basic auth on top (https://user:password@host/... in SendGrid): both or neither
    inbound_parse_user: str | None = None
    inbound_parse_password: str | None = Field(default=None, repr=False)
    # mail to these (lower case) goes straight to the customer resolution team
    executive_addresses: tuple[str, ...] = Field(default=())

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def logs_as_json(self) -> bool:
        return self.log_format == "json" or (self.log_format == "" and self.production)

    @field_validator("policy_file", mode="after")
    @classmethod
    def _from_repo(cls, value: Path) -> Path:
        # a relative path that is not there from here is taken from the repo (policy/...)
        if not value.is_absolute() and not value.exists():
            return REPO_ROOT / value
        return value

    @property
    def policy(self) -> Policy:
        """The policy new cases are lodged under (read once per file and process)."""
        return load_policy_file(self.policy_file)

    @field_validator("executive_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            # "Jane Smith <ceo@example.org>" or just the address
            return tuple(parseaddr(str(p))[1].lower() for p in value if str(p).strip())
        return value

    @model_validator(mode="after")
    def _inbound_basic_auth_pair(self) -> Settings:
        if bool(self.inbound_parse_user) != bool(self.inbound_parse_password):
            raise ValueError(
                "INBOUND_PARSE_USER and INBOUND_PARSE_PASSWORD go together: set both (HTTP basic "
                "auth on the email intake endpoint) or neither"
            )
        return self

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        fields = {
            "temporal_address": "TEMPORAL_ADDRESS",
            "temporal_namespace": "TEMPORAL_NAMESPACE",
            "task_queue": "TASK_QUEUE",
            "database_url": "DATABASE_URL",
            "outbox_dir": "OUTBOX_DIR",
            "sendgrid_api_key": "SENDGRID_API_KEY",
            "sendgrid_host": "SENDGRID_HOST",
            "sendgrid_sandbox": "SENDGRID_SANDBOX",
            "mail_from": "MAIL_FROM",
            "team_inbox": "TEAM_INBOX",
            "policy_file": "POLICY_FILE",
            "app_env": "APP_ENV",
            "admin_secret_key": "ADMIN_SECRET_KEY",
            "admin_host": "ADMIN_HOST",
            "admin_port": "ADMIN_PORT",
            "temporal_ui_url": "TEMPORAL_UI_URL",
            "public_base_url": "PUBLIC_BASE_URL",
            "payload_keys": "PAYLOAD_KEYS",
            "log_format": "LOG_FORMAT",
            "metrics_address": "METRICS_ADDRESS",
            "inbound_parse_secret": "INBOUND_PARSE_SECRET",
            "inbound_parse_user": "INBOUND_PARSE_USER",
            "inbound_parse_password": "INBOUND_PARSE_PASSWORD",
            "executive_addresses": "EXECUTIVE_ADDRESSES",
        }
        values: dict[str, object] = {k: env[v] for k, v in fields.items() if env.get(v)}
        landlord = {
            k: env[f"LANDLORD_{k.upper()}"]
            for k in Landlord.model_fields
            if env.get(f"LANDLORD_{k.upper()}")
        }
        if landlord:
            values["landlord"] = Landlord(**landlord)
        return cls(**values)
