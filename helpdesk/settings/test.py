"""Test settings: the base module, with tasks run in-process unless a test starts a real worker."""

from helpdesk.settings.base import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests change channel accounts between requests and expect the change at once.
INBOUND_ACCOUNT_CACHE_SECONDS = 0
