"""Audit s5 (low): a reference to app.extensions["migrate"] taken before Flask-Migrate loads
stays a _PendingMigrate (checkout/deferred_migrate.py:43-57); every later attribute read through
it runs Migrate(app, db) again, which puts a NEW _MigrateConfig in app.extensions["migrate"]
(and re-adds the CLI group): what was set on the first one (configure_args, which
migrations/env.py fills with process_revision_directives and include_name) is dropped.
Before 5ba35f6 the extension was one object for the app's life. The project itself always
looks the extension up afresh, so nothing here breaks today."""



def test_a_held_reference_reads_the_one_extension(make_app):
    app = make_app()
    held = app.extensions["migrate"]
    held.configure_args["render_as_batch"] = False
    assert held.configure_args["render_as_batch"] is False
    assert app.extensions["migrate"].configure_args["render_as_batch"] is False
