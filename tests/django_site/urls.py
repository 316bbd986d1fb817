from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("messages/add", views.add_message),
    path("messages/", views.show_messages),
    path("api", views.api),
    # the routes of hostsessions.testing.server's concurrency checks, sync and async
    path("set/<str:key>", views.set_key),
    path("incr", views.incr),
    path("slow-set", views.slow_set),
    path("destroy", views.destroy),
    path("dump", views.dump),
    path("async/set/<str:key>", views.aset_key),
    path("async/incr", views.aincr),
    path("async/slow-set", views.aslow_set),
    path("async/destroy", views.adestroy),
    path("async/dump", views.adump),
    path("async/login", views.alogin_view),
    path("async/whoami", views.awhoami),
    path("async/logout", views.alogout_view),
]
urlpatterns.append(path("plain", views.plain))
