"""Views of the test site: messages, the full hostsessions API, and the concurrency routes."""

from __future__ import annotations

import asyncio
import time

from django.contrib import messages
from django.contrib.auth import aauthenticate, alogin, alogout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hostsessions.django import get_async_session, get_session


def add_message(request: HttpRequest) -> HttpResponse:
    messages.success(request, request.GET.get("text", "saved"))
    return HttpResponseRedirect("/messages/")


def show_messages(request: HttpRequest) -> JsonResponse:
    return JsonResponse([m.message for m in messages.get_messages(request)], safe=False)


def api(request: HttpRequest) -> JsonResponse:
    """The full API from a Django view, on the same session as request.session."""
    session = get_session(request)
    session.set("short", "lived", ttl=1)
    visits = session.update("visits", lambda n: n + 1, default=0)
    if request.GET.get("regenerate"):
        session.regenerate()
    return JsonResponse({"visits": visits, "short": request.session.get("short"), "id": session.id})


def set_key(request: HttpRequest, key: str) -> JsonResponse:
    request.session[key] = True
    return JsonResponse("ok", safe=False)


def incr(request: HttpRequest) -> JsonResponse:
    return JsonResponse(get_session(request).update("n", lambda n: n + 1, default=0), safe=False)


def slow_set(request: HttpRequest) -> JsonResponse:
    request.session.get("anything")
    time.sleep(float(request.GET.get("delay", "0.5")))
    request.session["late"] = True
    return JsonResponse("ok", safe=False)


def destroy(request: HttpRequest) -> JsonResponse:
    request.session.flush()
    return JsonResponse("ok", safe=False)


def dump(request: HttpRequest) -> JsonResponse:
    items = dict(request.session)  # loaded first: before, session_key is the cookie's value
    return JsonResponse({"id": request.session.session_key, "items": items})


async def aset_key(request: HttpRequest, key: str) -> JsonResponse:
    await request.session.aset(key, True)
    return JsonResponse("ok", safe=False)


async def aincr(request: HttpRequest) -> JsonResponse:
    value = await get_async_session(request).update("n", lambda n: n + 1, default=0)
    return JsonResponse(value, safe=False)


async def aslow_set(request: HttpRequest) -> JsonResponse:
    await request.session.aget("anything")
    await asyncio.sleep(float(request.GET.get("delay", "0.5")))
    await request.session.aset("late", True)
    return JsonResponse("ok", safe=False)


async def adestroy(request: HttpRequest) -> JsonResponse:
    await request.session.aflush()
    return JsonResponse("ok", safe=False)


async def adump(request: HttpRequest) -> JsonResponse:
    items = dict(await request.session.aitems())
    return JsonResponse({"id": request.session.session_key, "items": items})


@csrf_exempt
async def alogin_view(request: HttpRequest) -> HttpResponse:
    user = await aauthenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("wrong password", status=403)
    await alogin(request, user)
    return HttpResponse("ok")


async def awhoami(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("anonymous", status=401)
    return HttpResponse(user.get_username())


@csrf_exempt
async def alogout_view(request: HttpRequest) -> HttpResponse:
    await alogout(request)
    return HttpResponse("ok")


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no session here")
