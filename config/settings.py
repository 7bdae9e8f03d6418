"""Settings for Bounty Desk, read once from the environment (see the table in README.md).

With nothing set, the app runs on one machine with no services: SQLite and a filesystem broker
in the git-ignored ``var/`` folder, mail printed to the console. ``BOUNTY_ENV=production``
switches to the hardened profile, which refuses to start without real secrets.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from accounts.identity_providers import configured_apps as configured_identity_provider_apps

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env")

BOUNTY_ENV = env.str("BOUNTY_ENV", default="development")
if BOUNTY_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("BOUNTY_ENV must be 'development' or 'production'.")
PRODUCTION = BOUNTY_ENV == "production"

DATA_DIR = Path(env.str("BOUNTY_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _development_secret_key() -> str:
    # A random key kept beside the local database, so sessions survive restarts on a laptop
    # without anyone ever committing or sharing a key.
    key_file = DATA_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "Production needs SECRET_KEY: at least 50 random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
        )
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Production needs ALLOWED_HOSTS (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Staff reach /admin/ and the staff sign-on endpoints only from these networks (CIDRs, IPv4 and
# IPv6), or from anywhere with "any". Empty admits any address in development and none in
# production, where `check --deploy` fails until one or the other is chosen. The client address
# is REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the X-Forwarded-For entry the
# first of them added: the allowlist, login lockout and rate limits all read it through
# accounts.network.client_ip.
ADMIN_ALLOWED_NETWORKS = env.list("ADMIN_ALLOWED_NETWORKS", default=[])
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# One deployment per region; nothing is shared between regions.
DATA_REGION = env.str("DATA_REGION", default="local")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "accounts.admin_config.StaffAdminConfig",  # django.contrib.admin, signing in through allauth
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "encryption",
    "accounts",
    "bounty",
    "reports",
    "audit",
    "outbox",
    "intake",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.StaffNetworkMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bounty.middleware.ProgramTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.context_processors.deployment",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
# Transaction policy: services are explicitly atomic (each use case is one transaction that
# also writes its history and outbox rows); requests are not wrapped as a whole.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
# Media is never served directly: attachments go out only through an authorizing view.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# Seconds the SMTP backend waits on each step with the mail server before giving up (Django's
# own default is to wait forever): a hung server fails the attempt, which is retried later.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bounty Desk <security@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. REDIS_URL is the usual way to point at Redis; CELERY_BROKER_URL wins when both are set.
# Without either, kombu's filesystem transport needs no server at all.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_IGNORE_RESULT = True
# Every task is idempotent, so a task whose worker dies is redelivered rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Redis redelivers an unacknowledged task after this long: longer than the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# The whole schedule lives here, in code and under review, rather than in admin-editable rows:
# a reminder sweep switched off by a click would break the program's promises silently.
CELERY_BEAT_SCHEDULE: dict = {
    # Delivers mail whose task was lost (broker down, worker crash) and retries failed sends.
    "deliver-pending-mail": {"task": "outbox.deliver_pending_mail", "schedule": 60.0},
    "send-deadline-reminders": {
        "task": "reports.send_deadline_reminders",
        "schedule": env.int("DEADLINE_SWEEP_SECONDS", default=300),
    },
    "send-triage-digest": {
        "task": "reports.send_triage_digest",
        "schedule": crontab(hour=env.int("TRIAGE_DIGEST_HOUR", default=8), minute=5),
    },
    # Creates the payment instructions whose task was lost between approval and the broker.
    "instruct-approved-payouts": {"task": "bounty.instruct_approved_payouts", "schedule": 300.0},
    # Approval deadlines count in business days; an hourly look is early enough.
    "escalate-stale-payout-approvals": {
        "task": "bounty.escalate_stale_approvals",
        "schedule": crontab(minute=23),
    },
    # Reads new mail from the intake mailbox (a no-op while INTAKE_IMAP_URL is empty) and
    # processes mail recorded and never processed. A poll not started within the minute is
    # dropped: the next one reads the same mail.
    "poll-intake-mailbox": {
        "task": "intake.poll_intake_mailbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Once a day, at a quiet hour and off the hour, when other nightly jobs tend to start.
    "delete-expired-history": {
        "task": "audit.delete_expired_history",
        "schedule": crontab(hour=3, minute=17),
    },
}

# Reminders: "due soon" this many hours before a deadline, escalation this long after it.
DEADLINE_REMINDER_LEAD_HOURS = env.int("DEADLINE_REMINDER_LEAD_HOURS", default=24)
DEADLINE_ESCALATION_AFTER_HOURS = env.int("DEADLINE_ESCALATION_AFTER_HOURS", default=24)

SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Content-Security-Policy and public pages
INSTALLED_APPS += ["csp"]
STATICFILES_DIRS = [BASE_DIR / "static"]
# Nothing inline and nothing from elsewhere: pages (the admin included) load their scripts, styles
# and images from this origin only, so injected markup cannot run or phone home.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    },
}

# Audit retention
# History rows (who changed what, and when) older than this many days are deleted every night by
# the audit.delete_expired_history task; 0 keeps every row forever.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=0)
if AUDIT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be 0 (keep forever) or a number of days.")
# Seconds before Redis hands an unacknowledged task to another worker (see the Celery block
# above). The live-worker tests lower it to see a killed worker's task redelivered in seconds.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int(
    "CELERY_REDIS_VISIBILITY_TIMEOUT", default=3600
)

# Accounts and the reporter portal
# Researchers sign up and sign in with django-allauth under /accounts/: the email address is the
# login (no username), it must be verified before the first sign-in, and TOTP two-factor is
# optional. Staff sign in on the same page, by SSO (see "Staff single sign-on" at the end).
INSTALLED_APPS += ["allauth", "allauth.account", "allauth.mfa"]
MIDDLEWARE += ["allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/portal/"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
# The verified address is what links reports sent earlier by email to the account, and where the
# desk writes about reports, so an account has exactly one.
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Bounty Desk] "
# Links in verification and password-reset mail use the scheme of the public URL.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_URL.split("://", 1)[0]
MFA_TOTP_ISSUER = "Bounty Desk"

# Rate limits (the portal's and allauth's) count in the default cache. The in-process default
# counts per worker process, so a deployment with several processes points this at Redis.
CACHES = {
    "default": env.cache_url_config(
        env.str("CACHE_URL", default="") or REDIS_URL or "locmemcache://"
    )
}
# Per-address limits count the client address the allowlist and the lockout see.
RATELIMIT_IP_META_KEY = "accounts.network.client_ip"
PORTAL_SUBMIT_RATE = env.str("PORTAL_SUBMIT_RATE", default="10/h")
PORTAL_REPLY_RATE = env.str("PORTAL_REPLY_RATE", default="30/h")
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_REPORT_MAX_BYTES = env.int("ATTACHMENT_REPORT_MAX_BYTES", default=25 * 1024 * 1024)

# Email intake (intake/): mail to the published address becomes reports. INTAKE_IMAP_URL names
# the mailbox, imaps://user:password@host:993/INBOX or imap://... with STARTTLS; empty turns
# intake off. Processed mail moves to INTAKE_PROCESSED_FOLDER, or when that is empty gets a
# keyword (\Seen on servers without keywords). The system check intake.E001 reports a
# malformed URL.
INTAKE_IMAP_URL = env.str("INTAKE_IMAP_URL", default="")
INTAKE_ADDRESS = env.str("INTAKE_ADDRESS", default="")
INTAKE_PROCESSED_FOLDER = env.str("INTAKE_PROCESSED_FOLDER", default="")
# A CA bundle for a mail server with a private certificate authority; empty: the system's.
INTAKE_IMAP_CA_FILE = env.str("INTAKE_IMAP_CA_FILE", default="")
INTAKE_IMAP_TIMEOUT = env.int("INTAKE_IMAP_TIMEOUT", default=30)
# Larger mail is not fetched: it is recorded as failed and stays on the mail server.
INTAKE_MAX_MESSAGE_BYTES = env.int("INTAKE_MAX_MESSAGE_BYTES", default=40 * 1024 * 1024)
# New reports one sender may make by mail in an hour (by the mails' arrival times, so that an
# imported archive is not limited); further mail is recorded as ignored. 0: no limit.
INTAKE_REPORTS_PER_SENDER_PER_HOUR = env.int("INTAKE_REPORTS_PER_SENDER_PER_HOUR", default=10)

# Encryption at rest and data regions
# Everything sensitive is encrypted with keys derived from the operator's master key (see
# encryption/keys.py and README.md): 32 random bytes in urlsafe base64. Earlier keys, newest
# first, keep decrypting until `manage.py rotate_master_key` has moved everything off them.


def _development_master_key() -> str:
    # Like the development SECRET_KEY: random, kept beside the local database, never shared.
    key_file = DATA_DIR / "dev-master-key"
    if not key_file.exists():
        key_file.touch(mode=0o600)  # private before the key is in it
        key_file.write_text(secrets.token_urlsafe(32))
    return key_file.read_text().strip()


BOUNTY_MASTER_KEY = env.str("BOUNTY_MASTER_KEY", default="")
if PRODUCTION and not BOUNTY_MASTER_KEY:
    raise ImproperlyConfigured(
        "Production needs BOUNTY_MASTER_KEY, the key everything sensitive is encrypted with "
        '(python -c "import secrets,base64;'
        'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"). Keep a copy '
        "somewhere safe: without it the data cannot be read."
    )
BOUNTY_MASTER_KEY = BOUNTY_MASTER_KEY or _development_master_key()
BOUNTY_OLD_MASTER_KEYS = env.list("BOUNTY_OLD_MASTER_KEYS", default=[])
# Encrypted file fields store through this storage (encryption.storage.encrypted_storage); any
# storage class mixing in encryption.storage.EncryptedStorageMixin may replace the default.
STORAGES["encrypted"] = {"BACKEND": "encryption.storage.EncryptedFileSystemStorage"}
# DATA_REGION (above) names this deployment's region. These name the OTHER regions' resources,
# without their secrets; regions/checks.py refuses a deployment that uses any of them, and
# production refuses to start with one, or with the development region "local".
INSTALLED_APPS += ["regions"]
OTHER_REGION_DATABASE_URLS = env.list("OTHER_REGION_DATABASE_URLS", default=[])
OTHER_REGION_BROKER_URLS = env.list("OTHER_REGION_BROKER_URLS", default=[])
OTHER_REGION_MEDIA_ROOTS = env.list("OTHER_REGION_MEDIA_ROOTS", default=[])
OTHER_REGION_KEY_FINGERPRINTS = env.list("OTHER_REGION_KEY_FINGERPRINTS", default=[])

# Staff single sign-on, lockout and MFA
# Staff sign in through their organisation's identity provider (OpenID Connect through allauth,
# every ID token verified: accounts/oidc/); SSO_ROLE_MAP turns an identity into roles on every
# sign-in (accounts/sso.py), and an identity it does not map gets no staff rights. Researchers
# never use SSO. The admin signs in through allauth too (accounts/admin_site.py), so SSO, the
# allowlist, the lockout, two-factor authentication and the rate limits apply to every way in.
INSTALLED_APPS += [
    "django.contrib.humanize",  # allauth's security key pages use its filters
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
]
# django-axes checks for a lockout before any other backend tries the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]
# The MFA rule needs the signed-in user; axes' middleware turns a lockout into its page, last.
MIDDLEWARE += ["accounts.middleware.StaffMFAMiddleware", "axes.middleware.AxesMiddleware"]

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.StaffSocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "accounts.oidc.provider.StaffOpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": configured_identity_provider_apps(os.environ),
    },
}
# A mapped identity gets its account on first sign-in, or is linked to the staff account with
# its verified address; the identity provider has verified the address, so no mail goes out.
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ONLY = False  # researchers keep email and password
SSO_ROLE_MAP = env.str("SSO_ROLE_MAP", default="")
SSO_GROUPS_CLAIM = env.str("SSO_GROUPS_CLAIM", default="groups")
# Staff passwords stop working; superusers keep theirs as the way in when the provider fails.
STAFF_SSO_ONLY = env.bool("STAFF_SSO_ONLY", default=False)

# Lockout (django-axes): after LOGIN_FAILURE_LIMIT failed sign-ins for one login from one
# address, that pair is locked for LOGIN_LOCKOUT_MINUTES or until a program admin unlocks it.
# Counting the pair keeps an attacker elsewhere from locking the real person out; allauth's rate
# limits (per address, and per login) slow down guessing across many logins or addresses.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.lockout.attempted_login"
AXES_CLIENT_IP_CALLABLE = "accounts.network.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
# accounts.admin registers axes' pages itself, with an Unlock action.
AXES_ENABLE_ADMIN = False
# allauth's own limit on failed sign-ins per login is looser than the lockout, which it would
# otherwise pre-empt with a vaguer message; its per-address limit stays as allauth sets it.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,20/h/key"}

# Two-factor authentication: an authenticator app, or a security key or passkey (WebAuthn), with
# recovery codes. Passkeys are a second factor only: signing in with one alone would go around
# STAFF_SSO_ONLY and the lockout. Browsers allow WebAuthn over plain http only on localhost.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
# Staff without a second factor are sent to set one up before they reach the admin.
STAFF_REQUIRE_MFA = env.bool("STAFF_REQUIRE_MFA", default=PRODUCTION)
# Forms carry the CSRF token and no script here reads the cookie, so no script may.
CSRF_COOKIE_HTTPONLY = True
