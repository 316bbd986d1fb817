"""Django test cases run by the site's own ``manage.py test`` (tests/test_django.py runs it):
the test runner's Client keeps its session in hostsessions, with no wsgi.py involved.
Written the way Django users write them, with unittest's assertions."""

# ruff: noqa: PT009

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import TestCase

from hostsessions.django import SessionStore


class AdminThroughTheTestClient(TestCase):
    def setUp(self) -> None:
        User.objects.create_superuser("admin", "admin@example.com", "s3cret-pass")

    def test_admin_login_logout(self) -> None:
        self.assertEqual(self.client.get("/admin/").status_code, 302)
        response = self.client.post(
            "/admin/login/?next=/admin/",
            {"username": "admin", "password": "s3cret-pass", "next": "/admin/"},
        )
        self.assertRedirects(response, "/admin/", fetch_redirect_response=False)
        self.assertContains(self.client.get("/admin/"), "Site administration")
        self.assertIsInstance(self.client.session, SessionStore)
        self.assertEqual(self.client.session["_auth_user_id"], str(User.objects.get().pk))
        self.client.post("/admin/logout/")
        self.assertEqual(self.client.get("/admin/").status_code, 302)

    def test_client_login_helper(self) -> None:
        self.assertTrue(self.client.login(username="admin", password="s3cret-pass"))
        self.assertContains(self.client.get("/admin/"), "Site administration")
        self.client.force_login(User.objects.get())
        self.assertContains(self.client.get("/admin/"), "Site administration")

    def test_messages_round_trip(self) -> None:
        response = self.client.get("/messages/add?text=hello", follow=True)
        self.assertEqual(response.json(), ["hello"])
        self.assertEqual(self.client.get("/messages/").json(), [])

    def test_session_prepared_by_the_test(self) -> None:
        session = self.client.session
        session["cart"] = ["apple"]
        session.save()
        self.assertEqual(self.client.get("/dump").json()["items"], {"cart": ["apple"]})
