"""The hostile folder's world and helpers, for this round's attack tests."""

from tests.hostile.conftest import _crash_as_500, mail_dir, world  # noqa: F401
