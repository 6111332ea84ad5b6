"""Audit s4: a staff alert whose key holds a non-ASCII staff address is never written to MAIL_DIR.

d9d51b0 keeps an outbox key within its VARCHAR(200) column (`stored_key`, checkout/services/
notifications.py:61-69), counted in characters. The same key names the mail's file when no
SMTP_HOST is set: checkout/mail.py:131-134 keeps every `isalnum()` character, non-ASCII letters
included, in `{stamp}-{safe_key}.eml.part`. A file name is limited to 255 *bytes*: the staff
address the invite form takes (InviteForm.email, an internationalised address: 113 characters,
217 bytes in UTF-8) makes every staff alert's file name longer than that, `open()` raises
OSError [Errno 36] File name too long, `_deliver` (notifications.py:375-385) records a failure,
and after its retries the alert is FAILED: the dispute the alert is about reaches nobody.
The guard test next to d9d51b0 (tests/hostile/test_unvalidated_lookups.py:231) checks only
that the row was written, never that the alert went out. The attack round found the same with a
64-character CJK local part (about 330 bytes of file name): both addresses are held here.
"""

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import OutboxMessage
from checkout.models.outbox import MessageStatus
from tests.hostile.conftest import post
from tests.state import text_of
from tests.test_webhook_hostile import paid_events  # noqa: F401  (the fixture)
from tests.test_webhooks import post_event

# Valid addresses (email_validator, check_deliverability=False) whose UTF-8 passes 255 bytes
# once in a file name: 113 characters and 217 bytes; 76 characters, 204 bytes of them CJK.
WIDE_STAFF_EMAILS = ["ü" * 64 + "@" + "ü" * 40 + ".example", "配" * 64 + "@example.com"]


@pytest.mark.parametrize("address", WIDE_STAFF_EMAILS, ids=["latin-local-and-domain", "cjk-local"])
def test_a_staff_alert_to_a_non_ascii_address_is_written_to_mail_dir(
        app, client, admin, paid_events, address):  # noqa: F811
    assert len(address.encode()) > 200
    invited = post(admin, "/staff/accounts/", {"email": address, "role": "staff",
                                                "password": "a-long-enough-password"})
    assert invited.status_code == 303, text_of(invited)[:2000]
    assert post_event(client, paid_events["checkout.session.completed"]).status_code == 200
    assert post_event(client, paid_events["charge.dispute.created"]).status_code == 200
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == "staff_alert",
            OutboxMessage.recipient == address)))
        found = [(row.status, row.last_error) for row in rows]
        db.session.remove()
    assert len(found) == 1, found
    assert found[0] == (MessageStatus.SENT, None), found
    files = list(Path(app.config["MAIL_DIR"]).glob("*.eml"))
    assert all(path.name.isascii() and len(path.name) < 255 for path in files)
    written = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert any(address in str(message["To"]) for message in written)
