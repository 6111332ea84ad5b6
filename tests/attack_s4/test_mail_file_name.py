"""A staff address of non-ASCII letters makes a staff alert's .eml file name too long to write.

With no SMTP_HOST, mail goes to MAIL_DIR as f"{stamp}-{safe_key}.eml" (checkout/mail.py:129-137),
where safe_key keeps every letter of the outbox key (str.isalnum is true of "配"). Every staff
alert is keyed with the recipient's address (checkout/services/notifications.py:239, :253) and
stored_key caps the key at 200 characters, not bytes: an address whose 64-character local part
is CJK (the invite form's Email validator takes it, SMTPUTF8) gives a file name of about 330
bytes, past the file system's 255. Writing it is OSError [Errno 36] File name too long: the
alert to that staff member is never written, and is retried every minute.
"""

from sqlalchemy import select

from checkout.extensions import db
from checkout.models import OutboxMessage
from checkout.services.accounts import create_staff
from tests.hostile.conftest import post
from tests.staff.conftest import sign_in
from tests.state import text_of
from tests.test_webhook_hostile import paid_events  # noqa: F401  (the fixture)
from tests.test_webhooks import post_event

CJK_STAFF_EMAIL = "配" * 64 + "@example.com"


def test_a_staff_alert_to_a_non_ascii_address_is_written_to_the_mail_folder(
        app, client, mail_dir, paid_events):  # noqa: F811
    with app.app_context():
        create_staff("admin@example.com", "a-long-enough-password", admin=True)
        db.session.remove()
    admin = sign_in(app.test_client(), "admin@example.com", "a-long-enough-password")
    invited = post(admin, "/staff/accounts/", {"email": CJK_STAFF_EMAIL, "role": "staff",
                                                "password": "a-long-enough-password"})
    if invited.status_code == 422:
        return  # refused up front: also a fix
    assert invited.status_code == 303, text_of(invited)[:2000]
    assert post_event(client, paid_events["checkout.session.completed"]).status_code == 200
    assert post_event(client, paid_events["charge.dispute.created"]).status_code == 200
    with app.app_context():
        statuses = {(m.recipient, m.status) for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "staff_alert"))}
        db.session.remove()
    assert (CJK_STAFF_EMAIL, "sent") in statuses, statuses
    assert any("example-com" in p.name and "-admin-" not in p.name
               for p in mail_dir.glob("*.eml") if "staff-alert" in p.name)
