"""One settings module, driven by environment variables (see README "Configuration").

Defaults are safe for production (DEBUG off, secure cookies when not debugging); the
embedded default database is a SQLite file so that `make run` needs no server.
"""

import os
from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
TESTING = env.bool("DJANGO_TESTING", default=False)

# Read as it is: django-environ takes a value starting with "$" for the name of another variable,
# and "$" is among the characters of Django's own key generator (get_random_secret_key).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("CRM_VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "django_celery_beat",
    "simple_history",
    "template_partials",
    "axes",
    "csp",
    "crm",
    "accounts",
    "leads",
    "followups",
    "receivables",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.middleware_db.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "crm.middleware.AuthenticationMiddleware",
    "crm.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.middleware.SessionTimeoutMiddleware",
    "crm.middleware.AuditDeniedMiddleware",
    # Last, so that it sees every authentication attempt (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
            # {% url %} with argument-free URLs remembered (crm/templatetags/crm_url.py).
            "builtins": ["crm.templatetags.crm_url"],
        },
    },
]
# Inputs, selects and textareas written in Python, the rest by Django's widget templates.
FORM_RENDERER = "crm.form_renderer.FormRenderer"

# Database: SQLite file by default, PostgreSQL (psycopg 3) when DATABASE_URL is set.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Celery workers and the web process share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # A file-backed test database, so a real Celery worker process can see test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # Persistent connections in production; none in tests, so test databases can be dropped.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A stopped database must fail a request fast (a 503 page, crm.middleware_db), never hang it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
    # No JIT for the app's sessions: on million-row tables most page queries pass jit_above_cost,
    # and compiling costs 50-150 ms per query, more than the indexed query itself (bench/README.md).
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# How long a computed dashboard is reused (per user, filters and language; the page shows its
# as-of time and a refresh link). 0 computes on every request, as the test suite does.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=0 if TESTING else 300)

# How long the signed-in user, profile, roles, permissions and managed teams are reused between requests
# (crm/principal.py; dropped at once when they change). Only with Redis, which every process
# shares; 0 reads them from the database on every request, as without Redis and in tests.
PRINCIPAL_CACHE_SECONDS = env.int("PRINCIPAL_CACHE_SECONDS", default=60 if REDIS_URL and not TESTING else 0)

if REDIS_URL:
    # Degrades to "no cache" while Redis is down (crm/cache.py): pages keep being served.
    _redis_timeout = env.float("REDIS_CONNECT_TIMEOUT", default=2.0)
    CACHES = {
        "default": {
            "BACKEND": "crm.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": _redis_timeout, "socket_timeout": _redis_timeout},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions are read from Redis when there is one (a GET instead of a database query on every
# request) and written to the database too, so a restarted Redis signs nobody out. Without Redis
# the cache is per process, where a session ended in one process would live on in another's
# copy: the database alone then.
SESSION_ENGINE = f"django.contrib.sessions.backends.{'cached_db' if REDIS_URL else 'db'}"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("DJANGO_PASSWORD_MIN_LENGTH", default=10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2 in production (argon2-cffi); the other hashers still read older passwords.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes first, so a locked-out username + IP pair is refused before the password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "crm.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "crm:home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: Chinese first, English complete.
LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False
CRM_CURRENCY_SYMBOL = "¥"
# Absolute address of the app, for links in emails (NPS surveys, notices).
CRM_PUBLIC_URL = env.str("CRM_PUBLIC_URL", default="http://127.0.0.1:8000")
# Group-robot webhooks (WeCom, DingTalk) may only point at these hosts; seconds before giving up.
CRM_WEBHOOK_HOSTS = env.list("CRM_WEBHOOK_HOSTS", default=["qyapi.weixin.qq.com", "oapi.dingtalk.com"])
CRM_WEBHOOK_TIMEOUT = env.float("CRM_WEBHOOK_TIMEOUT", default=5.0)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
# Third-party front-end packages come from npm (package.json); only their dist folders are served.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "crm.storage.StaticFilesStorage"  # WhiteNoise's compressed manifest storage
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Email: console in development, SMTP (EMAIL_URL) in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Lead nurture SMS: a dotted class path with send_messages([(phone, text), ...]); the default logs.
LEADS_SMS_BACKEND = env.str("LEADS_SMS_BACKEND", default="leads.sms.LoggingSMSBackend")
# Public web-to-lead form: at most this many posts per client IP per window (seconds).
LEADS_WEB_FORM_RATE = env.int("LEADS_WEB_FORM_RATE", default=5)
LEADS_WEB_FORM_WINDOW = env.int("LEADS_WEB_FORM_WINDOW", default=600)

# Security: safe defaults outside debug; SECURE_SSL_REDIRECT only where TLS terminates here.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# HSTS for sub-domains and browser preload lists bind every host under the domain to HTTPS for
# good: a decision for whoever owns the domain, so they are off unless enabled (README).
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_CHECKS", default=["security.W005", "security.W021"])
# Sessions end after DJANGO_SESSION_IDLE seconds without a request (crm.middleware) and, whatever
# the activity, DJANGO_SESSION_AGE seconds after sign-in (the cookie's lifetime).
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_AGE", default=12 * 3600)
SESSION_IDLE_TIMEOUT = env.int("DJANGO_SESSION_IDLE", default=30 * 60)
SESSION_COOKIE_SAMESITE = "Lax"

# Sign-in throttling (django-axes): AXES_FAILURE_LIMIT failures lock that username from that IP
# for AXES_COOLOFF_MINUTES; other users and other addresses are unaffected.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False

# Content Security Policy (django-csp): scripts, styles, fonts and images from our own static
# files only; the few inline <script>/<style> blocks carry the per-request nonce. Inline style
# attributes (progress bars, widths) are allowed: they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Celery: Redis when REDIS_URL is set, otherwise Kombu's filesystem transport (real Celery,
# messages are files under var/celery) so `make run` needs no broker server.
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A worker child killed mid-job (OOM, kill -9) puts its message back for another run; jobs are
# idempotent, so a redelivery completes the work once. One message reserved per process.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The longest job is killed after CELERY_TASK_TIME_LIMIT; Redis redelivers an unacknowledged
# message only after the visibility timeout, which must stay longer than that.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CRM_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=2 * 3600)
if CRM_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_BROKER_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT.")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Publishing must not hang a request while Redis is down: fail fast, the outbox keeps the job.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CRM_BROKER_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": _redis_timeout,
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = _redis_timeout
    CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
else:
    _celery_dir = VAR_DIR / "celery"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "control_folder": str(_celery_dir / "control"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
    }

DJANGO_TABLES2_TEMPLATE = "django_tables2/crm.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-hover align-middle mb-0"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; production uses Argon2
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
