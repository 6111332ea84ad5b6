"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

from checkout import create_app

app = create_app()
# The job queue, for `huey_consumer wsgi.huey` (the same as `flask worker`).
huey = app.extensions["huey"]
