"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

from checkout import create_app

app = create_app()
