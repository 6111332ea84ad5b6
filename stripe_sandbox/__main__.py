"""`python -m stripe_sandbox serve`: the sandbox on its own port, for any app that uses Stripe."""

from __future__ import annotations

import click
from werkzeug.serving import run_simple

from stripe_sandbox.app import create_app
from stripe_sandbox.config import DEFAULT_PORT


@click.group()
def main() -> None:
    """A Stripe-compatible payment sandbox."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option("--webhook-url", "webhook_urls", multiple=True,
              help="Where to deliver events (repeat for several endpoints).")
@click.option("--api-key", default="sk_test_sandbox", show_default=True,
              help="The only Bearer key the API accepts (sk_test_…).")
@click.option("--webhook-secret", default="whsec_sandbox", show_default=True,
              help="The secret webhooks are signed with (whsec_…).")
@click.option("--database-url", default=None,
              help="SQLAlchemy URL of the store [default: instance/stripe_sandbox.sqlite].")
@click.option("--public-url", default=None,
              help="How clients reach this server [default: http://HOST:PORT].")
@click.option("--display-name", default="Sandbox account", show_default=True,
              help="The account name the hosted page shows.")
def serve(host: str, port: int, webhook_urls: tuple[str, ...], api_key: str,
          webhook_secret: str, database_url: str | None, public_url: str | None,
          display_name: str) -> None:
    """Serve the API, the hosted page and the controls, and deliver webhooks."""
    config = {"API_KEY": api_key, "WEBHOOK_SECRET": webhook_secret,
              "WEBHOOK_URL": list(webhook_urls), "DISPLAY_NAME": display_name,
              "PUBLIC_URL": (public_url or f"http://{host}:{port}").rstrip("/")}
    if database_url:
        config["DATABASE_URL"] = database_url
    try:
        app = create_app(config)
    except RuntimeError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Stripe sandbox on {app.config['PUBLIC_URL']}\n"
               f"  api base        {app.config['PUBLIC_URL']}  (stripe.api_base)\n"
               f"  api key         {app.config['API_KEY']}\n"
               f"  webhook secret  {app.config['WEBHOOK_SECRET']}\n"
               f"  webhook urls    {', '.join(webhook_urls) or '(none: events are only stored)'}\n"
               f"  database        {app.config['DATABASE_URL']}", err=False)
    run_simple(host, port, app, threaded=True)


if __name__ == "__main__":
    main()
