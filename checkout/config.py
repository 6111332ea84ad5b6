"""Settings from the environment (python-dotenv reads `.env`); tests pass overrides."""

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

SANDBOX_SECRET_KEY = "sk_test_sandbox_checkout"
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_checkout"
LATE_PAYMENT_POLICIES = ("flag", "refund")
# Threads per gunicorn worker (gunicorn.conf.py), and so the database pool's size by default.
DEFAULT_WEB_THREADS = 8


class ConfigError(RuntimeError):
    """The environment describes a configuration the app refuses to run with."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes")


def _rate_limit(name: str, default: str) -> str:
    """A Flask-Limiter limit string ("10 per minute; 50 per hour") from the environment."""
    value = os.environ.get(name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be limits like '10 per minute; 50 per hour', "
                          f"got {value!r}") from None
    return value


def _time_zone(name: str, default: str) -> str:
    value = os.environ.get(name) or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} must be an IANA time zone like 'Europe/London', "
                          f"got {value!r}") from None
    return value


def _dev_secret_key(instance_path: Path) -> str:
    """Generate a secret key once per checkout and keep it in instance/."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def log_format_from_environment() -> str:
    """LOG_FORMAT: `json` by default in production, `text` in development."""
    default = "json" if os.environ.get("CHECKOUT_ENV") == "production" else "text"
    log_format = os.environ.get("LOG_FORMAT") or default
    if log_format not in ("json", "text"):
        raise ConfigError("LOG_FORMAT must be 'json' or 'text'")
    return log_format


def from_environment(instance_path: Path) -> dict:
    """Read every setting the app knows from the environment, with documented defaults."""
    env = os.environ.get("CHECKOUT_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigError("CHECKOUT_ENV must be 'development' or 'production'")
    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key:
        if env == "production":
            raise ConfigError("SECRET_KEY must be set when CHECKOUT_ENV=production")
        secret_key = _dev_secret_key(instance_path)
    elif env == "production" and len(secret_key.encode()) < 32:
        # It signs sessions, order links and password links: a short one can be guessed.
        raise ConfigError("SECRET_KEY must be at least 32 bytes when CHECKOUT_ENV=production "
                          "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")

    payments = os.environ.get("PAYMENTS", "sandbox")
    if payments not in ("sandbox", "stripe"):
        raise ConfigError("PAYMENTS must be 'sandbox' or 'stripe'")
    if payments == "sandbox" and env == "production":
        raise ConfigError("the payment sandbox is never served in production: set PAYMENTS=stripe")
    default_key = SANDBOX_SECRET_KEY if payments == "sandbox" else ""
    default_whsec = SANDBOX_WEBHOOK_SECRET if payments == "sandbox" else ""
    stripe_key = os.environ.get("STRIPE_SECRET_KEY") or default_key
    webhook_secret = os.environ.get("STRIPE_WEBHOOK_SECRET") or default_whsec
    if payments == "stripe" and not (stripe_key and webhook_secret):
        raise ConfigError("PAYMENTS=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
    if payments == "sandbox" and not stripe_key.startswith("sk_test_"):
        raise ConfigError("in sandbox mode STRIPE_SECRET_KEY must be an sk_test_… key")

    late_policy = os.environ.get("LATE_PAYMENT_POLICY", "flag")
    if late_policy not in LATE_PAYMENT_POLICIES:
        raise ConfigError("LATE_PAYMENT_POLICY must be 'flag' or 'refund'")
    hold_minutes = _int("CHECKOUT_HOLD_MINUTES", 30)
    if not 30 <= hold_minutes <= 24 * 60:
        # Stripe accepts a Checkout Session expiry between 30 minutes and 24 hours ahead,
        # and the session expires together with the stock hold.
        raise ConfigError("CHECKOUT_HOLD_MINUTES must be between 30 and 1440")
    reminder_minutes = _int("PAYMENT_REMINDER_MINUTES", 10)
    if not 1 <= reminder_minutes < hold_minutes:
        # A reminder due before the hold even starts would go out as the order is placed.
        raise ConfigError("PAYMENT_REMINDER_MINUTES must be at least 1 and less than "
                          "CHECKOUT_HOLD_MINUTES")
    recovery_days = _int("RECOVERY_LINK_DAYS", 7)
    if not 1 <= recovery_days <= 90:
        raise ConfigError("RECOVERY_LINK_DAYS must be between 1 and 90")

    reconcile_minutes = _int("RECONCILE_INTERVAL_MINUTES", 60)
    if not 5 <= reconcile_minutes <= 24 * 60:
        raise ConfigError("RECONCILE_INTERVAL_MINUTES must be between 5 and 1440")
    reconcile_days = _int("RECONCILE_WINDOW_DAYS", 3)
    if not 1 <= reconcile_days <= 30:
        # Stripe lists events of the last 30 days only.
        raise ConfigError("RECONCILE_WINDOW_DAYS must be between 1 and 30")

    low_stock = _int("LOW_STOCK_THRESHOLD", 3)
    if low_stock < 0:
        raise ConfigError("LOW_STOCK_THRESHOLD must be 0 or more")
    bank_transfer = _flag("BANK_TRANSFER")
    bank_hold_hours = _int("BANK_TRANSFER_HOLD_HOURS", 72)
    if not 1 <= bank_hold_hours <= 30 * 24:
        raise ConfigError("BANK_TRANSFER_HOLD_HOURS must be between 1 and 720")
    bank_account = {
        name: os.environ.get(name, "").strip()
        for name in ("BANK_TRANSFER_ACCOUNT_NAME", "BANK_TRANSFER_IBAN", "BANK_TRANSFER_BIC",
                     "BANK_TRANSFER_BANK_NAME")
    }
    if bank_transfer and not (
        bank_account["BANK_TRANSFER_ACCOUNT_NAME"] and bank_account["BANK_TRANSFER_IBAN"]
    ):
        # Shoppers would be told to wire money to nobody.
        raise ConfigError("BANK_TRANSFER=1 needs BANK_TRANSFER_ACCOUNT_NAME and BANK_TRANSFER_IBAN")

    order_link_days = _int("ORDER_LINK_DAYS", 90)
    if not 1 <= order_link_days <= 3650:
        raise ConfigError("ORDER_LINK_DAYS must be between 1 and 3650")
    log_format = log_format_from_environment()
    log_level = (os.environ.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    trusted_proxies = _int("TRUSTED_PROXY_COUNT", 0)
    if not 0 <= trusted_proxies <= 5:
        raise ConfigError("TRUSTED_PROXY_COUNT must be between 0 and 5")

    # One connection per gunicorn thread: a smaller pool makes the spare threads open and close
    # overflow connections on every busy second (churn); a larger one holds idle connections.
    pool_size = _int("DATABASE_POOL_SIZE", _int("GUNICORN_THREADS", DEFAULT_WEB_THREADS))
    if not 1 <= pool_size <= 100:
        raise ConfigError("DATABASE_POOL_SIZE must be between 1 and 100")
    max_overflow = _int("DATABASE_MAX_OVERFLOW", 10)
    if not 0 <= max_overflow <= 100:
        raise ConfigError("DATABASE_MAX_OVERFLOW must be between 0 and 100")
    sql_counts = _flag("SQL_COUNTS")
    if sql_counts and env == "production":
        # A benchmark's instrument: it costs every statement a little and tells any client
        # how the shop queries.
        raise ConfigError("SQL_COUNTS is for benchmarks: refused when CHECKOUT_ENV=production")

    port = _int("PORT", 5000)
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{instance_path / 'checkout.sqlite'}"
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    sandbox_db = os.environ.get("SANDBOX_DATABASE_URL") or (
        f"sqlite:///{instance_path / 'sandbox.sqlite'}"
    )
    return {
        "CHECKOUT_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DATABASE_POOL_SIZE": pool_size,
        "DATABASE_MAX_OVERFLOW": max_overflow,
        # Each response says how many SQL statements and commits it took (X-SQL-Statements,
        # X-SQL-Commits): `make bench` reads them. Off unless asked for; refused in production.
        "SQL_COUNTS": sql_counts,
        "PAYMENTS": payments,
        "STRIPE_SECRET_KEY": stripe_key,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        "SANDBOX_DATABASE_URL": sandbox_db,
        "SANDBOX_WEBHOOK_URL": os.environ.get("SANDBOX_WEBHOOK_URL")
        or f"http://127.0.0.1:{port}/webhooks/stripe",
        # The mounted sandbox's thread that expires sessions and delivers events.
        "SANDBOX_BACKGROUND": os.environ.get("SANDBOX_BACKGROUND", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}",
        "STORE_NAME": os.environ.get("STORE_NAME", "Fernhill Supply"),
        "STORE_CURRENCY": os.environ.get("STORE_CURRENCY", "USD").upper(),
        # Shoppers read their order's times in this zone (staff pages stay in UTC).
        "STORE_TIMEZONE": _time_zone("STORE_TIMEZONE", "UTC"),
        # The seller on invoices and credit notes; "\n" in the environment starts a new line.
        "STORE_ADDRESS": os.environ.get("STORE_ADDRESS", "").replace("\\n", "\n"),
        "STORE_TAX_ID": os.environ.get("STORE_TAX_ID", ""),
        "CHECKOUT_HOLD_MINUTES": hold_minutes,
        "LATE_PAYMENT_POLICY": late_policy,
        # The payment reminder goes out this many minutes before an unpaid order's hold lapses.
        "PAYMENT_REMINDER_MINUTES": reminder_minutes,
        # How long the link in the abandoned-checkout e-mail puts the items back in a cart.
        "RECOVERY_LINK_DAYS": recovery_days,
        # The job queue: Redis when REDIS_URL is set, else an SQLite file beside the database.
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "HUEY_DATABASE": os.environ.get("HUEY_DATABASE") or str(instance_path / "huey.sqlite"),
        # The reconciliation job runs every RECONCILE_INTERVAL_MINUTES and compares the
        # Stripe events and sessions of the last RECONCILE_WINDOW_DAYS with the shop.
        "RECONCILE_INTERVAL_MINUTES": reconcile_minutes,
        "RECONCILE_WINDOW_DAYS": reconcile_days,
        # Tests: run each task at once, in the caller, instead of queueing it.
        "JOBS_IMMEDIATE": False,
        "MAIL_FROM": os.environ.get("MAIL_FROM")
        or f"{os.environ.get('STORE_NAME', 'Fernhill Supply')} <orders@example.com>",
        "MAIL_DIR": os.environ.get("MAIL_DIR") or str(instance_path / "mail"),
        "SMTP_HOST": os.environ.get("SMTP_HOST") or None,
        "SMTP_PORT": _int("SMTP_PORT", 587),
        "SMTP_USER": os.environ.get("SMTP_USER") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "1") not in ("0", "false", "no"),
        # Staff alerts (flagged orders, disputes) go here, comma-separated; unset: every
        # staff account's e-mail.
        "STAFF_ALERT_EMAIL": os.environ.get("STAFF_ALERT_EMAIL") or None,
        # How long a password reset link works.
        "PASSWORD_RESET_MINUTES": _int("PASSWORD_RESET_MINUTES", 60),
        # The dashboard lists active products with at most this many units available.
        "LOW_STOCK_THRESHOLD": low_stock,
        # How long the link in a staff invitation lets its owner choose a password.
        "STAFF_INVITATION_DAYS": _int("STAFF_INVITATION_DAYS", 7),
        # Whether catalog prices already contain the destination's tax (every rate inclusive).
        "PRICES_INCLUDE_TAX": os.environ.get("PRICES_INCLUDE_TAX", "0").lower()
        in ("1", "true", "yes"),
        # Product images staff upload (re-encoded, random names), and the largest one taken.
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(instance_path / "uploads"),
        # Invoice and credit-note PDFs, each rendered once and kept here (empty: never kept).
        "PDF_CACHE_DIR": os.environ.get("PDF_CACHE_DIR", str(instance_path / "pdf-cache")),
        "PRODUCT_IMAGE_MAX_BYTES": _int("PRODUCT_IMAGE_MAX_BYTES", 4_000_000),
        # A second payment method at checkout: the shopper wires the money to this account
        # and staff record it; the order's stock is held for BANK_TRANSFER_HOLD_HOURS.
        "BANK_TRANSFER": bank_transfer,
        "BANK_TRANSFER_HOLD_HOURS": bank_hold_hours,
        **bank_account,
        # How long a guest order link (`?t=`) opens the order; then it asks for a new one.
        "ORDER_LINK_DAYS": order_link_days,
        # Log lines: one JSON object each (production default) or readable text.
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": log_level,
        # /metrics wants `Authorization: Bearer <this>`; unset, it answers loopback only.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        # Rate limits (Flask-Limiter), per client address unless said otherwise. Counted in
        # Redis when REDIS_URL is set (shared by every worker), else in each process's memory.
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        # Failed sign-ins only: a shopper who signs in and out all day is never slowed.
        "RATE_LIMIT_SIGN_IN": _rate_limit("RATE_LIMIT_SIGN_IN", "10 per minute; 50 per hour"),
        # Failed sign-ins to one address from anywhere: a botnet guessing one password.
        "RATE_LIMIT_SIGN_IN_EMAIL": _rate_limit("RATE_LIMIT_SIGN_IN_EMAIL",
                                                "10 per 15 minutes; 30 per day"),
        "RATE_LIMIT_REGISTER": _rate_limit("RATE_LIMIT_REGISTER", "5 per minute; 20 per hour"),
        "RATE_LIMIT_PASSWORD_RESET": _rate_limit("RATE_LIMIT_PASSWORD_RESET",
                                                 "5 per minute; 20 per hour"),
        # An office or a phone network shares one address: roomy enough for all of them.
        "RATE_LIMIT_CHECKOUT": _rate_limit("RATE_LIMIT_CHECKOUT", "20 per minute; 200 per hour"),
        "RATE_LIMIT_DISCOUNT": _rate_limit("RATE_LIMIT_DISCOUNT", "10 per minute; 50 per hour"),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto; 0 trusts no
        # such header, so nobody can pose as another address by sending one.
        "TRUSTED_PROXY_COUNT": trusted_proxies,
        # Strict-Transport-Security: in production only (a development server speaks HTTP).
        "HSTS": env == "production",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
    }
