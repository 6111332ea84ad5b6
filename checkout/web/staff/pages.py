"""What the admin form pages share: a posted form saved, or shown again with its errors."""

from collections.abc import Callable

from flask import flash, redirect, render_template, request


def form_page(form, save: Callable[[], bool], *, done: Callable[[], str], then: str,
              template: str, **context):
    """Validate and save a form: on success flash `done()` and go to `then`; else show it (422)."""
    if form.validate_on_submit() and save():
        flash(done(), "success")
        return redirect(then, 303)
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status
