"""The one settings module. Every value comes from the environment and is checked at start-up.

Embedded mode (no ``REDIS_URL``): SQLite file, in-memory channel layer, tasks run in-process.
Scaled mode (``DATABASE_URL`` and ``REDIS_URL``): PostgreSQL, channels_redis, Celery workers and beat.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from helpdesk.settings import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.string("SPORTELLO_VAR_DIR", str(BASE_DIR / "var")))


def _shown(url: str) -> str:
    """A URL fit for an error message: its password, if any, is masked."""
    password = urlparse(url).password
    return url.replace(f":{password}@", ":***@", 1) if password else url


REDIS_URL = env.string("REDIS_URL")
EMBEDDED = not REDIS_URL
if REDIS_URL and urlparse(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(
        f"REDIS_URL: expected redis://, rediss:// or unix://, got {_shown(REDIS_URL)!r}"
    )

# Off unless asked for, in both modes: an embedded server listens for the public too (the web chat, the
# API channel), and Django's debug page would show them the code, the settings and the local variables.
DEBUG = env.boolean("DEBUG", default=False)
SECRET_KEY = env.string("SECRET_KEY")
if not SECRET_KEY:
    if EMBEDDED:
        # One installation, one machine: a random key made on first start and kept beside the database.
        SECRET_KEY = env.persisted_secret("SECRET_KEY", VAR_DIR / "secret_key")
    elif DEBUG:
        SECRET_KEY = "insecure-development-key-change-me"
    else:
        raise ImproperlyConfigured("SECRET_KEY: required in scaled mode when DEBUG is off")

ALLOWED_HOSTS = env.string_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto itself (never passing the client's on),
# requests are https to Django too: secure cookies, absolute links.
TRUST_PROXY_PROTO = env.boolean("TRUST_PROXY_PROTO", False)
if TRUST_PROXY_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
PUBLIC_URL = env.string("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
if urlparse(PUBLIC_URL).scheme not in {"http", "https"} or not urlparse(PUBLIC_URL).netloc:
    raise ImproperlyConfigured(f"PUBLIC_URL: expected http://host or https://host, got {PUBLIC_URL!r}")

# --- transport security ---------------------------------------------------------------------------------
# An https public address means the site is served over TLS only: HSTS, secure cookies and a redirect of
# plain http, each of which can still be set on its own.
_PUBLIC_HTTPS = urlparse(PUBLIC_URL).scheme == "https"
# Sportello's servers do not speak TLS themselves: a request is known to be https only through the
# proxy's X-Forwarded-Proto, so without TRUST_PROXY_PROTO the redirect would send every request round
# in a loop.
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", _PUBLIC_HTTPS and TRUST_PROXY_PROTO)
SECURE_REDIRECT_EXEMPT = env.string_list("SECURE_REDIRECT_EXEMPT", [])
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _PUBLIC_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", _PUBLIC_HTTPS)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", _PUBLIC_HTTPS)
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", _PUBLIC_HTTPS)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", _PUBLIC_HTTPS)

INSTALLED_APPS = [
    "channels",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "axes",
    "csp",
    "tickets",
    "channels_in",
    # A channel is one folder: the widget's templates and static files live in it.
    "channels_in.webchat",
    # Last: the wiring, which holds the ``serve`` command and imports the apps above.
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "helpdesk.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: an agent's own interface language beats the browser's.
    "tickets.middleware.UILanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a refused sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# Provider webhooks in the scaled mode (helpdesk/wsgi.py): nothing there serves a person, so no
# sessions, authentication, CSRF, languages or messages. CommonMiddleware sets Content-Length, which
# spares clients a chunked answer.
WEBHOOK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

_default_database_url = f"sqlite:///{VAR_DIR / 'sportello.sqlite3'}"
DATABASE_URL = env.string("DATABASE_URL", _default_database_url)
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=env.integer("DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
if _database["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _database["CONN_MAX_AGE"] = 0
    # WAL lets readers run beside the one writer; IMMEDIATE avoids lock-upgrade deadlocks.
    _database["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _database.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test.sqlite3")
elif _database["ENGINE"] in {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}:
    if not _database.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL: no database name in {_shown(DATABASE_URL)!r}")
    _database["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured(
        f"DATABASE_URL: only sqlite:// and postgres:// are supported, got {_shown(DATABASE_URL)!r}"
    )
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# --- sign-in throttling (django-axes) -------------------------------------------------------------------
# Failed sign-ins are counted per account and per client address; at the limit, that account (from
# anywhere) and that address (for any account) are refused, right password or not, until the cool-off
# has passed since the last failure. Applies to every password sign-in: /login/ and /admin/login/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.boolean("SIGN_IN_THROTTLE", True)
AXES_FAILURE_LIMIT = env.integer("SIGN_IN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("SIGN_IN_COOL_OFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = env.string_list("SIGN_IN_LOCKOUT_BY", ["username", "ip_address"])
if not AXES_LOCKOUT_PARAMETERS or not set(AXES_LOCKOUT_PARAMETERS) <= {"username", "ip_address"}:
    raise ImproperlyConfigured(
        f"SIGN_IN_LOCKOUT_BY: username, ip_address or both, got {','.join(AXES_LOCKOUT_PARAMETERS)!r}"
    )
# Proxies that each append the address they saw to X-Forwarded-For; 0 takes the connection's peer.
# Anything further left in the header was written by the client and is never believed.
TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "tickets.client_address.request_client_address"
AXES_LOCKOUT_CALLABLE = "tickets.views.account.sign_in_locked_out"
# A success must not wipe the address's count: one account of one's own would reset it at will.
AXES_RESET_ON_SUCCESS = False
# Failures are all the throttle needs; a row per successful sign-in would only grow.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

LANGUAGE_CODE = env.choice("LANGUAGE_CODE", "it", {"it", "en"})
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.string("TIME_ZONE", "Europe/Rome")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"TIME_ZONE: unknown time zone {TIME_ZONE!r}") from exc
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Stored files have no public URL: they leave only through the access-checked views
# (tickets/views/attachments.py, the API's and the widget's downloads), never straight from this folder.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.string("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Content-Security-Policy (django-csp) --------------------------------------------------------------
# Every page runs only our own scripts and styles, from our own origin: no inline script, handler or
# style attribute anywhere, so injected markup cannot run. helpdesk.csp adds the socket origin of the
# request's own host to connect-src. Answers that set their own policy keep it: the widget's frame
# (framed by the channel's sites) and stored files (sandboxed).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- email ---------------------------------------------------------------------------------------------
EMAIL_BACKEND = env.string("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.string("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.boolean("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "support@sportello.localhost")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL: set at most one of them")

# --- ESP inbound webhooks (docs/channels/email.md) ----------------------------------------------------
# Each listed ESP's endpoint exists once Anymail can authenticate its posts: channels_in/email/esp.py.
EMAIL_INBOUND_ESPS = env.string_list("EMAIL_INBOUND_ESPS", [])
_INBOUND_ESP_NAMES = {
    "amazon_ses", "brevo", "mailersend", "mailgun", "mailjet", "mailtrap",
    "mandrill", "postal", "postmark", "resend", "sendgrid", "sparkpost",
}  # fmt: skip
if _unknown_esps := sorted(set(EMAIL_INBOUND_ESPS) - _INBOUND_ESP_NAMES):
    raise ImproperlyConfigured(
        f"EMAIL_INBOUND_ESPS: unknown {_unknown_esps}; choose from {sorted(_INBOUND_ESP_NAMES)}"
    )
# Anymail's secrets and keys, each from ANYMAIL_<NAME> (or ANYMAIL_<NAME>_FILE).
_ANYMAIL_SETTINGS = (
    "WEBHOOK_SECRET",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "MAILERSEND_INBOUND_SECRET",
    "MAILTRAP_INBOUND_SECRET",
    "MAILTRAP_API_TOKEN",
    "MANDRILL_WEBHOOK_KEY",
    "POSTAL_WEBHOOK_KEY",
    "RESEND_INBOUND_SECRET",
    "RESEND_API_KEY",
    "BREVO_API_KEY",
)
ANYMAIL = {name: value for name in _ANYMAIL_SETTINGS if (value := env.string(f"ANYMAIL_{name}"))}
if ":" not in ANYMAIL.get("WEBHOOK_SECRET", ":"):
    raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET: expected user:password, as ESPs send basic auth")

# --- live layer ----------------------------------------------------------------------------------------
if EMBEDDED:
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Redis pub/sub ignores the database number: installations sharing a server need their own.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.string("CHANNEL_LAYER_PREFIX", "sportello")},
        }
    }

# Rendered fragments (the inbox's rows): shared by the web processes in the scaled mode.
if EMBEDDED:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Keys live in REDIS_URL's database number, which separates installations sharing a server.
            "KEY_PREFIX": "sportello",
        }
    }

# How long a live socket counts after its web process last vouched for it: a crashed process's agents
# turn offline within this time.
LIVE_LEASE_SECONDS = env.integer("LIVE_LEASE_SECONDS", 45, minimum=2)

# --- background work -----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
# Embedded processes run tasks inline, except ``manage.py serve``: it starts an in-process worker and
# beat (helpdesk/embedded.py) so countdowns, retries and periodic jobs behave as in the scaled mode.
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.integer("CELERY_WORKER_PREFETCH_MULTIPLIER", 4, minimum=1)
# Celery's Django fix-up closes the database connection around every task unless this is set: a new
# PostgreSQL connection per task. helpdesk.celery applies CONN_MAX_AGE between tasks instead.
CELERY_DB_REUSE_MAX = 2**31
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "channels_in.tasks.ingest_*": {"queue": "ingest"},
    "tickets.tasks.deliver_*": {"queue": "outbound"},
    "tickets.tasks.route_*": {"queue": "routing"},
    "tickets.tasks.sla_*": {"queue": "sla"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
# The sweeps that re-queue work a dead worker held (inbound events, outbound messages) run this often.
REQUEUE_INTERVAL_SECONDS = env.integer("REQUEUE_INTERVAL_SECONDS", 15, minimum=1)
# How often the SLA timers look at the index of due alarms; each look also arms exact timers for the
# alarms that fall due before the next one.
SLA_TICK_SECONDS = float(env.integer("SLA_TICK_MS", 1000, minimum=100)) / 1000
# The most alarms one tick sends, and how long a sent alarm waits before a tick sends it again (its task
# may have been lost with a worker).
SLA_TICK_LIMIT = env.integer("SLA_TICK_LIMIT", 5000, minimum=100)
SLA_RESEND_SECONDS = env.integer("SLA_RESEND_SECONDS", 10, minimum=2)
# Each channel kind's periodic jobs (mailbox polling, …) join this at start-up from its registry entry
# (channels_in/registry.py), at the interval its setting names.
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-events": {
        "task": "channels_in.tasks.requeue_stale_events",
        "schedule": float(REQUEUE_INTERVAL_SECONDS),
    },
    "requeue-stale-messages": {
        "task": "tickets.tasks.requeue_stale_messages",
        "schedule": float(REQUEUE_INTERVAL_SECONDS),
    },
    "route-untriaged": {
        "task": "tickets.tasks.route_untriaged",
        "schedule": float(REQUEUE_INTERVAL_SECONDS),
    },
    "sla-tick": {
        "task": "tickets.tasks.sla_tick",
        "schedule": SLA_TICK_SECONDS,
    },
    # The reports' roll-ups follow the audit trail (docs/reports.md).
    "reports-rollup": {
        "task": "tickets.tasks.reports_rollup",
        "schedule": 60.0,
    },
}
EMAIL_POLL_SECONDS = env.integer("EMAIL_POLL_SECONDS", 60, minimum=5)
EMBEDDED_WORKER_THREADS = env.integer("EMBEDDED_WORKER_THREADS", 2, minimum=1)

# --- Sportello -----------------------------------------------------------------------------------------
INBOUND_MAX_BYTES = env.integer("INBOUND_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INBOUND_MAX_BYTES
# How long a web process reuses an inbound channel's account (token, active flag) before reading it again.
INBOUND_ACCOUNT_CACHE_SECONDS = env.integer("INBOUND_ACCOUNT_CACHE_SECONDS", 5, minimum=0)
REOPEN_WINDOW_DAYS = env.integer("REOPEN_WINDOW_DAYS", 7, minimum=0)
# The languages customers' messages are recognised in (tickets/language.py), for rules and routing.
DETECT_LANGUAGES = env.string_list("DETECT_LANGUAGES", ["it", "en", "de", "fr", "es"])
# What an open ticket costs of an agent's capacity, by channel kind, where a team does not say.
ROUTING_CHANNEL_WEIGHTS = {"webchat": 3, "email": 1, "api": 1}
STALE_WORK_SECONDS = env.integer("STALE_WORK_SECONDS", 30, minimum=1)
# Inbound events are filed by at most this many drains at once (channels_in/drain.py). One drain files
# the largest batches, which costs the least CPU per message; more use more cores.
INGEST_DRAIN_SLOTS = env.integer("INGEST_DRAIN_SLOTS", 1, minimum=1)
DELIVERY_MAX_ATTEMPTS = env.integer("DELIVERY_MAX_ATTEMPTS", 8, minimum=1)
ATTACHMENT_MAX_BYTES = env.integer("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)

# Requests the server makes to URLs it is given (attachment URLs, callbacks): tickets/net.py. Only public
# addresses on ports 80 and 443, unless a network or port is allowed here (an integrator on the LAN).
OUTBOUND_ALLOWED_NETWORKS = env.network_list("OUTBOUND_ALLOWED_NETWORKS")
OUTBOUND_ALLOWED_PORTS = env.port_list("OUTBOUND_ALLOWED_PORTS")
OUTBOUND_TIMEOUT_SECONDS = env.integer("OUTBOUND_TIMEOUT_SECONDS", 30, minimum=1)

# A web-chat file link is a bearer link (it ends up in access logs and browser history), so it lives
# only this long; the widget asks for fresh links before its own run out.
WEBCHAT_FILE_LINK_SECONDS = env.integer("WEBCHAT_FILE_LINK_SECONDS", 600, minimum=30)

# Files an agent attaches to one reply or note: how many, how much in all, and of which types.
REPLY_ATTACHMENTS_MAX_FILES = env.integer("REPLY_ATTACHMENTS_MAX_FILES", 10, minimum=1)
REPLY_ATTACHMENTS_MAX_BYTES = env.integer("REPLY_ATTACHMENTS_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)
REPLY_ATTACHMENT_TYPES = env.string_list(
    "REPLY_ATTACHMENT_TYPES",
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
    ],
)

# --- input limits, budgets and error reports ------------------------------------------------------------
# JSON from outside (bodies, frames, cursors) nested deeper than this is refused (tickets/jsonload.py).
JSON_MAX_DEPTH = env.integer("JSON_MAX_DEPTH", 32, minimum=2)
# New web-chat visitors (sessions without a valid token) and their first messages, each a ticket to be:
# budgets per client address and per channel over a sliding window.
WEBCHAT_BUDGET_WINDOW_SECONDS = env.integer("WEBCHAT_BUDGET_WINDOW_SECONDS", 600, minimum=10)
WEBCHAT_SESSIONS_PER_ADDRESS = env.integer("WEBCHAT_SESSIONS_PER_ADDRESS", 25, minimum=1)
WEBCHAT_SESSIONS_PER_CHANNEL = env.integer("WEBCHAT_SESSIONS_PER_CHANNEL", 2000, minimum=1)
WEBCHAT_FIRST_MESSAGES_PER_ADDRESS = env.integer("WEBCHAT_FIRST_MESSAGES_PER_ADDRESS", 10, minimum=1)
WEBCHAT_FIRST_MESSAGES_PER_CHANNEL = env.integer("WEBCHAT_FIRST_MESSAGES_PER_CHANNEL", 500, minimum=1)
# Error reports (the debug page, mails to ADMINS) hide secrets in settings and local variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "helpdesk.error_reports.SecretsHiddenFilter"

# --- API -----------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "not signed in" into 401 rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tickets.api.permissions.IsAgent"],
    "DEFAULT_SCHEMA_CLASS": "tickets.api.schema.ApiAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tickets.api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    # JSON bodies through the one bounded loader; forms and uploads as DRF reads them.
    "DEFAULT_PARSER_CLASSES": [
        "tickets.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "tickets.api.parsers.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sportello API",
    "DESCRIPTION": "Omnichannel help desk: tickets, messages, contacts, teams and inbound channels.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files, so /api/docs/ works without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get names of their own instead of generated hashes.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "MessageStatusEnum": "tickets.models.Message.Status",
        "ChannelKindEnum": "channels_in.models.ChannelAccount.Kind",
        "IdentityKindEnum": "tickets.inbound.IdentityKind.CHOICES",
    },
    # The API channel's endpoint is a plain Django view (the inbound hot path): its hook describes it.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "channels_in.api.openapi.inbound_api_schema",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
