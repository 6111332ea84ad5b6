"""E-mail: render a message from its templates and hand it to the configured transport.

Every message has an HTML and a plain-text part, rendered from `templates/mail/<name>.html`
(autoescaped) and `<name>.txt`, with its subject from `<name>.subject.txt`. Links are built
here, at render time, against PUBLIC_BASE_URL: the services that write messages have no
request to build them from. With SMTP_HOST set the message goes out through that server;
otherwise it is written as an `.eml` file to MAIL_DIR, which any mail program opens.
"""

import hashlib
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, parseaddr
from pathlib import Path

from flask import current_app, url_for

SMTP_TIMEOUT_SECONDS = 30


def _links(context: dict) -> dict:
    """Absolute links the template may show, built from what the message's context names."""
    links = {}
    if "order_number" in context and "access_token" in context:
        links["order_url"] = url_for(
            "orders.show", number=context["order_number"], t=context["access_token"],
            _external=True,
        )
        if context.get("invoice_number"):
            links["invoice_url"] = url_for(
                "orders.invoice_pdf", number=context["order_number"], t=context["access_token"],
                _external=True,
            )
        if context.get("credit_note_number"):
            links["credit_note_url"] = url_for(
                "orders.credit_note_pdf", number=context["order_number"],
                note_number=context["credit_note_number"], t=context["access_token"],
                _external=True,
            )
    if "order_number" in context and context.get("staff_alert"):
        # Staff sign in to act on the order: an alert carries no guest token to forward.
        links["order_url"] = url_for("staff.order.show", number=context["order_number"],
                                     _external=True)
    if "webhook_event_id" in context:
        links["webhook_url"] = url_for(
            "staff.webhooks.show", event_id=context["webhook_event_id"], _external=True
        )
    if "reset_token" in context:
        links["reset_url"] = url_for(
            "account.reset_password", token=context["reset_token"], _external=True
        )
    if "verify_token" in context:
        links["verify_url"] = url_for(
            "account.verify_email", token=context["verify_token"], _external=True
        )
    if context.get("account_links"):
        links["login_url"] = url_for("account.login", _external=True)
        links["forgot_url"] = url_for("account.forgot_password", _external=True)
    if "invitation_token" in context:
        links["invitation_url"] = url_for(
            "invitation.accept", token=context["invitation_token"], _external=True
        )
    links.update(_unpaid_order_links(context))
    return links


def _unpaid_order_links(context: dict) -> dict:
    """The payment page (a reminder, a failed debit), the cart-restore page (a recovery)."""
    links = {}
    if context.get("payment_link") and "access_token" in context:
        links["payment_url"] = url_for(
            "checkout.payment", number=context["order_number"], t=context["access_token"],
            _external=True,
        )
    if "restore_token" in context:
        links["restore_url"] = url_for(
            "checkout.restore", number=context["order_number"], t=context["restore_token"],
            _external=True,
        )
    return links


def render(key: str, template: str, to: str, context: dict) -> EmailMessage:
    """Build the message for `template` from its context, ready to send."""
    config = current_app.config
    env = current_app.jinja_env
    with current_app.test_request_context(base_url=config["PUBLIC_BASE_URL"]):
        values = {**context, **_links(context), "store_name": config["STORE_NAME"]}
    subject = env.get_template(f"mail/{template}.subject.txt").render(values)
    text = env.get_template(f"mail/{template}.txt").render(values)
    html = env.get_template(f"mail/{template}.html").render(values)

    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(UTC))
    # One Message-ID per cause: a receiving server can tell a resend from a new message.
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send(key: str, message: EmailMessage) -> None:
    """Hand the message to the SMTP server, or write it to MAIL_DIR when none is set."""
    config = current_app.config
    if config.get("SMTP_HOST"):
        _send_smtp(message)
    else:
        _write_eml(Path(config["MAIL_DIR"]), key, message)


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(
        config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS
    ) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


def _file_name(key: str) -> str:
    """The key as part of a file name: ASCII letters, digits, '-' and '_', at most 97 long.

    A file name holds 255 bytes, and a key may carry a staff address of 200 characters of up
    to 4 bytes each. A longer key, or one not in ASCII, gets a digest of the whole, so two
    keys that read alike once cut or changed never share a name.
    """
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", key)
    if key.isascii() and len(key) <= 80:
        return readable
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{readable[:80]}-{digest[:16]}"


def _write_eml(folder: Path, key: str, message: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{_file_name(key)}.eml"
    # Written aside and renamed, so a reader never opens half a message.
    partial = path.with_suffix(".eml.part")
    # An internationalised address has no ASCII form: such a message is written in UTF-8 (RFC
    # 6532), as smtplib sends it to a server that takes SMTPUTF8. Encoded as ASCII, the address
    # came out as a display name with no address at all.
    addresses = f"{message['From']} {message['To']}"
    partial.write_bytes(message.as_bytes(policy=None if addresses.isascii() else SMTPUTF8))
    partial.replace(path)
    return path
