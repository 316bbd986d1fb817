"""A small Django site as a user sets one up, with hostsessions as its session engine.

The database file is ``$DJANGO_SITE_DB`` (the tests migrate it first). Sessions have no
configuration at all: the platform adapters choose the store (the local filesystem under
the working directory here), unless the tests set ``HOSTSESSIONS``.
"""

from __future__ import annotations

import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "django-site-for-tests-only-" + "x" * 40  # signs CSRF and password resets
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
# Django's SessionMiddleware, or hostsessions' (the tests run the site with both)
SESSION_MIDDLEWARE = os.environ.get(
    "DJANGO_SITE_SESSION_MIDDLEWARE", "django.contrib.sessions.middleware.SessionMiddleware"
)
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    SESSION_MIDDLEWARE,
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_ENGINE = "hostsessions.django"

ROOT_URLCONF = "tests.django_site.urls"
WSGI_APPLICATION = "tests.django_site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SITE_DB", os.path.join(BASE_DIR, "db.sqlite3")),
        "OPTIONS": {"timeout": 30},
    }
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
