"""The webhook log: every Stripe event received, its outcome and payload; replay a failed one.

Any staff member may replay: it runs the same handler a redelivery from Stripe would, on the
payload verified when it arrived, and only on a failed event, so it can apply nothing twice.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from checkout.domain.outcomes import Outcome
from checkout.forms import EmptyForm
from checkout.services import webhook_log
from checkout.web.routing import number_arg

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

OUTCOMES = [outcome.value for outcome in Outcome]


def _page_number() -> int:
    page = number_arg("page", 1, most=100_000)
    if page is None:
        abort(400, "The page number must be a whole number from 1.")
    return page


@bp.get("/")
def index():
    """List received events, newest first, filtered by outcome and type."""
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        abort(400, f"Unknown outcome {outcome!r}: choose one from the list.")
    type_ = (request.args.get("type") or "").strip()[:100] or None
    page = webhook_log.events(outcome, type_, _page_number())
    return render_template(
        "staff/webhooks/index.html",
        page=page,
        outcome=outcome,
        type_=type_,
        outcomes=OUTCOMES,
        types=webhook_log.event_types(),
        pretty=webhook_log.pretty,
        form=EmptyForm(),
    )


def _event_page(event_id: str, status: int = 200, problem: str = ""):
    event = webhook_log.find(event_id)
    if event is None:
        abort(404, "No such event was received.")
    return render_template(
        "staff/webhooks/show.html", event=event, payload=webhook_log.pretty(event.payload),
        failed=event.outcome == Outcome.FAILED, form=EmptyForm(), problem=problem,
    ), status


@bp.get("/<event_id>")
def show(event_id: str):
    """Show one event with its whole payload."""
    return _event_page(event_id)


@bp.post("/<event_id>/replay")
def replay(event_id: str):
    """Run the handler again on a failed event's stored payload and say what happened."""
    if webhook_log.find(event_id) is None:
        abort(404, "No such event was received.")
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")
    result = webhook_log.replay(event_id, by=current_user.email)
    if result.outcome == Outcome.DUPLICATE:
        problem = f"Event {event_id} did not fail, so it was not replayed: nothing changed."
        return _event_page(event_id, 409, problem)
    if result.outcome == Outcome.FAILED:
        flash(f"Replaying event {event_id} failed again: {result.detail}", "error")
    else:
        detail = f" ({result.detail})" if result.detail else ""
        flash(f"Event {event_id} replayed: {result.outcome}{detail}.", "success")
    return redirect(url_for("staff.webhooks.show", event_id=event_id), 303)
