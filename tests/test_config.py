"""Configuration from the environment: safe defaults for development, refusals for production."""

import pytest

from checkout.config import (
    DEFAULT_WEB_THREADS,
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    ConfigError,
    from_environment,
)

VARIABLES = [
    "CHECKOUT_ENV", "SECRET_KEY", "PAYMENTS", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
    "DATABASE_URL", "CHECKOUT_HOLD_MINUTES", "LATE_PAYMENT_POLICY", "PORT", "STORE_CURRENCY",
    "PAYMENT_REMINDER_MINUTES", "RECOVERY_LINK_DAYS", "LOW_STOCK_THRESHOLD",
    "BANK_TRANSFER", "BANK_TRANSFER_HOLD_HOURS", "BANK_TRANSFER_ACCOUNT_NAME",
    "BANK_TRANSFER_IBAN", "BANK_TRANSFER_BIC", "BANK_TRANSFER_BANK_NAME", "SANDBOX_BACKGROUND",
]


@pytest.fixture
def env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_development_defaults_use_the_sandbox_and_a_kept_secret(env, tmp_path):
    config = from_environment(tmp_path)
    assert config["PAYMENTS"] == "sandbox"
    assert config["STRIPE_SECRET_KEY"] == SANDBOX_SECRET_KEY
    assert config["STRIPE_WEBHOOK_SECRET"] == SANDBOX_WEBHOOK_SECRET
    assert config["CHECKOUT_HOLD_MINUTES"] == 30
    assert (config["PAYMENT_REMINDER_MINUTES"], config["RECOVERY_LINK_DAYS"]) == (10, 7)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'checkout.sqlite'}"
    # The generated key is kept: a restart does not sign everyone out.
    assert from_environment(tmp_path)["SECRET_KEY"] == config["SECRET_KEY"]
    assert len(config["SECRET_KEY"]) >= 32


def test_production_refuses_to_start_without_a_secret_key(env, tmp_path):
    env.setenv("CHECKOUT_ENV", "production")
    env.setenv("PAYMENTS", "stripe")
    env.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment(tmp_path)


def test_production_refuses_a_short_secret_key(env, tmp_path):
    env.setenv("CHECKOUT_ENV", "production")
    env.setenv("PAYMENTS", "stripe")
    env.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    env.setenv("SECRET_KEY", "k" * 31)
    with pytest.raises(ConfigError, match="at least 32"):
        from_environment(tmp_path)
    env.setenv("SECRET_KEY", "k" * 32)
    assert from_environment(tmp_path)["SECRET_KEY"] == "k" * 32


@pytest.mark.parametrize(("value", "running"), [(None, True), ("1", True), ("0", False),
                                                ("false", False), ("no", False)])
def test_sandbox_background_is_read_from_the_environment(env, tmp_path, value, running):
    if value is not None:
        env.setenv("SANDBOX_BACKGROUND", value)
    assert from_environment(tmp_path)["SANDBOX_BACKGROUND"] is running


def test_production_never_serves_the_sandbox(env, tmp_path):
    env.setenv("CHECKOUT_ENV", "production")
    env.setenv("SECRET_KEY", "s" * 40)
    with pytest.raises(ConfigError, match="sandbox"):
        from_environment(tmp_path)


def test_real_stripe_needs_both_keys(env, tmp_path):
    env.setenv("PAYMENTS", "stripe")
    env.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET"):
        from_environment(tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHECKOUT_HOLD_MINUTES", "10"),
        ("CHECKOUT_HOLD_MINUTES", "2000"),
        ("CHECKOUT_HOLD_MINUTES", "soon"),
        ("LATE_PAYMENT_POLICY", "ignore"),
        ("PAYMENT_REMINDER_MINUTES", "30"),
        ("PAYMENT_REMINDER_MINUTES", "0"),
        ("RECOVERY_LINK_DAYS", "0"),
        ("LOW_STOCK_THRESHOLD", "-1"),
        ("LOW_STOCK_THRESHOLD", "few"),
        ("PAYMENTS", "paypal"),
        ("STRIPE_SECRET_KEY", "sk_live_not_for_the_sandbox"),
        ("BANK_TRANSFER_HOLD_HOURS", "0"),
        ("BANK_TRANSFER_HOLD_HOURS", "721"),
        ("BANK_TRANSFER_HOLD_HOURS", "days"),
    ],
)
def test_impossible_settings_are_refused_with_their_name(env, tmp_path, name, value):
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        from_environment(tmp_path)


def test_postgres_urls_use_psycopg_3(env, tmp_path):
    env.setenv("DATABASE_URL", "postgres://u:p@db/shop")
    assert from_environment(tmp_path)["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://u:p@db/shop"
    )


def test_bank_transfer_is_off_by_default_and_needs_an_account_when_on(env, tmp_path):
    config = from_environment(tmp_path)
    assert (config["BANK_TRANSFER"], config["BANK_TRANSFER_HOLD_HOURS"]) == (False, 72)
    env.setenv("BANK_TRANSFER", "1")
    env.setenv("BANK_TRANSFER_ACCOUNT_NAME", "Fernhill Supply Ltd")
    with pytest.raises(ConfigError, match="BANK_TRANSFER_IBAN"):
        from_environment(tmp_path)
    env.setenv("BANK_TRANSFER_IBAN", "GB33BUKB20201555555555")
    env.setenv("BANK_TRANSFER_HOLD_HOURS", "96")
    config = from_environment(tmp_path)
    assert config["BANK_TRANSFER"] is True
    assert config["BANK_TRANSFER_IBAN"] == "GB33BUKB20201555555555"
    assert config["BANK_TRANSFER_HOLD_HOURS"] == 96


def test_the_database_pool_has_one_connection_per_gunicorn_thread(env, tmp_path):
    for name in ("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "GUNICORN_THREADS"):
        env.delenv(name, raising=False)
    assert from_environment(tmp_path)["DATABASE_POOL_SIZE"] == DEFAULT_WEB_THREADS
    env.setenv("GUNICORN_THREADS", "12")
    assert from_environment(tmp_path)["DATABASE_POOL_SIZE"] == 12
    # Said outright, the pool size wins over the thread count.
    env.setenv("DATABASE_POOL_SIZE", "4")
    env.setenv("DATABASE_MAX_OVERFLOW", "0")
    config = from_environment(tmp_path)
    assert (config["DATABASE_POOL_SIZE"], config["DATABASE_MAX_OVERFLOW"]) == (4, 0)


@pytest.mark.parametrize(("name", "value"), [
    ("DATABASE_POOL_SIZE", "0"), ("DATABASE_POOL_SIZE", "many"), ("DATABASE_MAX_OVERFLOW", "-1"),
])
def test_a_pool_size_out_of_range_refuses_to_start(env, tmp_path, name, value):
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        from_environment(tmp_path)


def test_sql_counts_are_off_by_default_and_refused_in_production(env, tmp_path):
    env.delenv("SQL_COUNTS", raising=False)
    assert from_environment(tmp_path)["SQL_COUNTS"] is False
    env.setenv("SQL_COUNTS", "1")
    assert from_environment(tmp_path)["SQL_COUNTS"] is True
    env.setenv("CHECKOUT_ENV", "production")
    env.setenv("PAYMENTS", "stripe")
    env.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    env.setenv("SECRET_KEY", "k" * 32)
    with pytest.raises(ConfigError, match="SQL_COUNTS"):
        from_environment(tmp_path)
