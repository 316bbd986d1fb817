"""Django session engine: ``request.session``, auth, the admin and messages on hostsessions.

::

    # settings.py
    SESSION_ENGINE = "hostsessions.django"
    # optional; without it the platform adapters choose the store, as everywhere else
    HOSTSESSIONS = {"driver": "fs", "options": {"base": "/var/lib/myapp/sessions"}}

Django's ``SessionMiddleware`` keeps doing what it does (the cookie, its settings,
``SESSION_COOKIE_AGE``, ``set_expiry``); this engine replaces the storage. The session dict
is a :class:`~hostsessions.mapping.SessionMapping`: each change is one of the core's
operations, so a save writes only the keys this request changed, with a conditional write
that is replayed over concurrent changes (Django's own backends write the whole dict, last
write wins).

Expiry: Django renews a session's expiry at every save; here every save records the
core's ``touch`` operation, which gives every key the lifetime ``get_expiry_age()``
(``SESSION_COOKIE_AGE``, or what ``set_expiry`` chose) and merges like any other change.
``manage.py clearsessions`` sweeps stores that do not expire records themselves.

:func:`get_session` / :func:`get_async_session` give the full hostsessions API (per-key
``ttl``, ``update``, ``regenerate``, ``destroy``) on the same session.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

# Django ships no type information: the lines marked ``pyright: ignore`` are where its
# untyped API enters this module.
from django.conf import settings  # pyright: ignore[reportMissingTypeStubs]
from django.contrib.sessions.backends.base import SessionBase, UpdateError  # pyright: ignore[reportMissingTypeStubs]
from django.contrib.sessions.exceptions import SessionInterrupted  # pyright: ignore[reportMissingTypeStubs]
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware  # pyright: ignore[reportMissingTypeStubs]
from django.core.signals import setting_changed  # pyright: ignore[reportMissingTypeStubs]
from django.utils.cache import patch_vary_headers  # pyright: ignore[reportMissingTypeStubs, reportUnknownVariableType]
from django.utils.module_loading import import_string  # pyright: ignore[reportMissingTypeStubs, reportUnknownVariableType]

from ._django_cookie import SessionCookie
from ._payload import IMMUTABLE
from .config import SessionConfig
from .cookies import session_id_from_cookie_header
from .errors import SessionConfigError, SessionGoneError
from .ids import is_valid_session_id
from .manager import SessionManager
from .mapping import SessionMapping
from .session import AsyncSession, Session
from .state import UNKNOWN, Program

__all__ = ["SessionMiddleware", "SessionStore", "get_async_session", "get_session"]

_manager: SessionManager | None = None
_manager_lock = threading.Lock()


def _config() -> SessionConfig:
    configured = getattr(settings, "HOSTSESSIONS", None)
    if configured is None:
        configured = {}
    if isinstance(configured, Mapping):
        arguments = cast(Mapping[str, Any], configured)
        try:
            configured = SessionConfig(**arguments)
        except TypeError as exc:
            raise SessionConfigError(
                f"settings.HOSTSESSIONS: {exc}; use the arguments of SessionConfig "
                "(driver, options, ttl, retry_budget)"
            ) from None
    if not isinstance(configured, SessionConfig):
        raise SessionConfigError(
            "settings.HOSTSESSIONS must be a SessionConfig or a dict of its arguments, "
            f"not {type(configured).__name__}"
        )
    # Keys written without set_expiry() live SESSION_COOKIE_AGE, as Django's sessions do.
    return SessionConfig(
        driver=configured.driver,
        options=configured.options,
        cookie=configured.cookie,
        ttl=configured.ttl or settings.SESSION_COOKIE_AGE,
        retry_budget=configured.retry_budget,
    )


def session_manager() -> SessionManager:
    """The process's manager for ``settings.HOSTSESSIONS``, built on first use."""
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = SessionManager(_config())
    return _manager


class _SessionSettings:
    """The session settings every request reads, looked up once (Django's ``settings`` costs
    an attribute lookup through a lazy object each time) and again when a test overrides
    one of them."""

    def __init__(self) -> None:
        self.cookie_name: str = settings.SESSION_COOKIE_NAME
        self.cookie_age: int = settings.SESSION_COOKIE_AGE
        self.save_every_request: bool = settings.SESSION_SAVE_EVERY_REQUEST
        self.expire_at_browser_close: bool = settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
        self.cookie_domain: str | None = settings.SESSION_COOKIE_DOMAIN
        self.cookie_path: str = settings.SESSION_COOKIE_PATH
        self.cookie_samesite: str | None = settings.SESSION_COOKIE_SAMESITE
        self.cookie = SessionCookie(
            self.cookie_name,
            path=self.cookie_path,
            domain=self.cookie_domain,
            secure=bool(settings.SESSION_COOKIE_SECURE),
            httponly=bool(settings.SESSION_COOKIE_HTTPONLY),
            samesite=self.cookie_samesite,
        )


_settings: _SessionSettings | None = None


def _session_settings() -> _SessionSettings:
    global _settings
    if _settings is None:
        _settings = _SessionSettings()
    return _settings


def _forget_manager(*, setting: str, **kwargs: Any) -> None:
    global _manager, _settings
    if setting in ("HOSTSESSIONS", "SESSION_COOKIE_AGE"):
        _manager = None
    if setting.startswith("SESSION_"):
        _settings = None


setting_changed.connect(_forget_manager, dispatch_uid="hostsessions.django")  # pyright: ignore[reportUnknownMemberType]


_UNKNOWN: Any = object()
EXPIRY_KEY = "_session_expiry"  # where Django's set_expiry() keeps a session's own expiry
# SessionBase's methods that decide a session's lifetime (see SessionStore._own_expiry_rules)
_EXPIRY_RULES = (
    "get_session_cookie_age",
    "get_expiry_age",
    "get_expiry_date",
    "get_expire_at_browser_close",
)


class SessionStore(SessionBase):  # type: ignore[misc]
    """``SESSION_ENGINE = "hostsessions.django"``: Django's session API over the core."""

    # What a request has not changed stays at these class-level values: a store is made per
    # request, and most requests change few of them.
    _modified = False
    _accessed = False
    _async_core: AsyncSession | None = None
    _dict: _DjangoMapping | None = None
    _expiry: Any = _UNKNOWN  # what set_expiry() stored, once read (see _custom_expiry)
    # Whether the expiry rules are this class's own (a subclass may override them, as
    # Django's docs suggest for get_session_cookie_age): then the middleware and the save
    # compute the lifetime without going through them.
    _own_expiry_rules = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._own_expiry_rules = all(
            getattr(cls, name) is getattr(SessionStore, name) for name in _EXPIRY_RULES
        )

    def __init__(self, session_key: str | None = None) -> None:
        # Not SessionBase.__init__: it imports SESSION_SERIALIZER on every request, and the
        # codec stands in for the serializer here.
        self._manager = session_manager()
        self._point_at(session_key if is_valid_session_id(session_key) else None)

    @classmethod
    def _for_checked_id(cls, cookie_id: str | None) -> SessionStore:
        """``SessionStore(cookie_id)`` for an ID the caller already checked is well-formed
        (the middleware's cookie reader does), so that it is not checked twice; made in one
        step, as it is once per request."""
        store = cls.__new__(cls)
        store._manager = manager = _manager or session_manager()
        store._cookie_key = cookie_id
        store._state = state = manager.new_state(cookie_id, id_checked=True)
        store._core = Session(state, manager.sync_store)
        return store

    @property
    def serializer(self) -> Any:
        """Django's serializer setting, for code that asks; this engine stores values with
        hostsessions' codec."""
        return import_string(settings.SESSION_SERIALIZER)

    # ---- the session key and the core session behind it ---------------------------------

    def _get_session_key(self) -> str | None:
        state = self._state
        return state.id if state.loaded else self._cookie_key

    def _set_session_key(self, value: str | None) -> None:
        """Point this store at the session ``value`` (a cookie's value); anything that is
        not an ID hostsessions could have issued means no session."""
        self._point_at(value if is_valid_session_id(value) else None)

    def _point_at(self, cookie_id: str | None) -> None:
        self._cookie_key = cookie_id
        self._state = state = self._manager.new_state(cookie_id, id_checked=True)
        self._core = Session(state, self._manager.sync_store)
        # back to the class-level values (see the top of the class)
        for name in ("_async_core", "_dict", "_expiry", "_session_cache"):
            self.__dict__.pop(name, None)

    session_key = property(_get_session_key)
    _session_key = property(_get_session_key, _set_session_key)

    @property
    def _acore(self) -> AsyncSession:
        if self._async_core is None:
            self._async_core = AsyncSession(self._state, self._manager.async_store)
        return self._async_core

    @property
    def _mapping(self) -> _DjangoMapping:
        if self._dict is None:
            self._dict = _DjangoMapping(self._core, self._expiry_changed)
        return self._dict

    @property
    def hostsessions(self) -> Session:
        """The same session with the full hostsessions API (see :func:`get_session`)."""
        return self._core

    @property
    def ahostsessions(self) -> AsyncSession:
        """The same session with the async hostsessions API, for async views."""
        return self._acore

    # Django's middleware reads these flags; changes made through the hostsessions API
    # count too, and so does a new ID the browser must learn.
    @property
    def modified(self) -> bool:
        state = self._state
        return self._modified or state.dirty or state.cookie_action() is not None

    @modified.setter
    def modified(self, value: bool) -> None:
        self._modified = value

    @property
    def accessed(self) -> bool:
        return self._accessed or self._state.touched

    @accessed.setter
    def accessed(self, value: bool) -> None:
        self._accessed = value

    # ---- the session dict ------------------------------------------------------------------

    def _custom_expiry(self) -> Any:
        """What set_expiry() stored (None: the settings' default), read once per request."""
        expiry = self._expiry
        if expiry is _UNKNOWN:
            # from the loaded session when it is (as at a save), without the dict view
            expiry = self._state.known_value(EXPIRY_KEY, None)
            if expiry is UNKNOWN:
                expiry = self._core.get(EXPIRY_KEY)
            self._expiry = expiry
        return expiry

    def _expiry_changed(self, expiry: Any) -> None:
        self._expiry = expiry

    async def _aload_expiry(self) -> None:
        """Read what set_expiry() stored the async way, so that the sync methods that need
        it (get_expiry_age, ...) make no storage call on the event loop."""
        if self._expiry is _UNKNOWN:
            expiry = self._state.known_value(EXPIRY_KEY, None)  # no await when it is read
            if expiry is UNKNOWN:
                expiry = await self._acore.get(EXPIRY_KEY)
            self._expiry = expiry

    def _lifetime(self) -> float:
        """The session's lifetime from now, in seconds, as Django computes it."""
        if self._own_expiry_rules and self._custom_expiry() is None:
            age = (_settings or _session_settings()).cookie_age  # get_expiry_age(), inlined
        else:
            age = self.get_expiry_age()
        # A date already past: the keys are stored already expired, and read as absent.
        return float(max(age, 0.001))

    def _cookie_max_age(self) -> int | None:
        """The cookie's ``Max-Age`` as Django's middleware sets it (None: until the browser
        closes)."""
        if self._own_expiry_rules and self._custom_expiry() is None:
            conf = _settings or _session_settings()
            return None if conf.expire_at_browser_close else conf.cookie_age
        return None if self.get_expire_at_browser_close() else int(self.get_expiry_age())

    def get_session_cookie_age(self) -> int:
        return _session_settings().cookie_age

    def get_expiry_age(self, **kwargs: Any) -> int:
        expiry = kwargs["expiry"] if "expiry" in kwargs else self._custom_expiry()
        if not expiry:
            return self.get_session_cookie_age()
        kwargs["expiry"] = expiry
        return super().get_expiry_age(**kwargs)  # type: ignore[no-any-return]

    def get_expiry_date(self, **kwargs: Any) -> Any:
        if "expiry" not in kwargs:
            kwargs["expiry"] = self._custom_expiry()
        return super().get_expiry_date(**kwargs)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]

    def get_expire_at_browser_close(self) -> bool:
        expiry = self._custom_expiry()
        if expiry is None:
            return _session_settings().expire_at_browser_close
        return bool(expiry == 0)

    def _get_session(self, no_load: bool = False) -> SessionMapping:
        # No read here: the first value read loads the session, a write needs no read.
        self._accessed = True
        mapping = self._dict
        if mapping is None:
            mapping = self._dict = _DjangoMapping(self._core, self._expiry_changed)
        self._session_cache = mapping
        return mapping

    # SessionBase's dict methods go through the ``_session`` property; these four are on
    # every request's path, so they call it directly. Until the app has held a mutable
    # value (which the dict view must watch for in-place changes), a value of an immutable
    # type goes straight to and from the core: nothing to watch.
    # (The core's get and set mark its state touched, which ``accessed`` reads: these paths
    # need not set the flag themselves.)
    def get(self, key: str, default: Any = None) -> Any:
        if self._dict is None:
            value = self._core.get(key, _UNKNOWN)
            if value is _UNKNOWN:
                return default
            if type(value) in IMMUTABLE:
                return value
            return self._get_session().hand_out(key, value)
        return self._get_session().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._get_session()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        immutable = type(value) in IMMUTABLE
        if self._dict is None and immutable and type(key) is str and key != EXPIRY_KEY:
            self._state.set(key, value, None)  # Session.set(key, value), inlined
        else:
            self._get_session()[key] = value
        self._modified = True

    def __contains__(self, key: object) -> bool:
        return key in self._get_session()

    async def _aget_session(self, no_load: bool = False) -> SessionMapping:
        self._accessed = True
        if not self._state.loaded:
            await self.aload()
        self._session_cache = mapping = self._mapping
        return mapping

    _session = property(_get_session)

    def load(self) -> SessionMapping:
        """Read the stored session (once per request); an unknown ID gets a fresh session."""
        self._core.run_load()
        self._session_cache = self._mapping
        return self._mapping

    async def aload(self) -> SessionMapping:
        await self._acore.run_program(self._state.load_current())
        self._session_cache = self._mapping
        return self._mapping

    def clear(self) -> None:
        self._session.clear()
        self.modified = True

    def is_empty(self) -> bool:
        """True when there is no session to store or to point the cookie at."""
        state = self._state
        if not state.loaded:
            return self._cookie_key is None
        session_id = state.id
        if session_id is None:
            return True
        if session_id == self._cookie_key:
            return False
        return not self._core.keys()  # a new session: no read, the data is all local

    # ---- what Django asks every engine for ----------------------------------------------------

    def exists(self, session_key: str) -> bool:
        if not is_valid_session_id(session_key):
            return False
        return self._manager.sync_store().read(session_key) is not None

    async def aexists(self, session_key: str) -> bool:
        if not is_valid_session_id(session_key):
            return False
        return await self._manager.async_store().read(session_key) is not None

    def create(self) -> None:
        """Store this session now, even empty, so that it has a key."""
        self._core.run_program(self._state.create())
        self.modified = True

    async def acreate(self) -> None:
        await self._acore.run_program(self._state.create())
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        """Write what this request changed (the core's conditional write and merge).

        Raises Django's ``UpdateError`` (the middleware answers 400) if another request
        deleted the session meanwhile: its changes are not written back.
        """
        state = self._state
        before = state.id
        try:
            self._prepare_save()
            if self._saves_empty():
                self._core.run_program(state.create())
            else:
                self._core.save()
        except SessionGoneError as gone:
            # Django's own answer to a session deleted mid-request: the middleware's 400
            raise UpdateError(str(gone)) from gone
        if before is not None and state.id is None and before == self._cookie_key:
            raise _deleted_meanwhile(before)

    async def asave(self, must_create: bool = False) -> None:
        await self._aload_expiry()
        state = self._state
        before = state.id
        try:
            self._prepare_save()
            if self._saves_empty():
                await self._acore.run_program(state.create())
            else:
                await self._acore.run_save()
        except SessionGoneError as gone:
            raise UpdateError(str(gone)) from gone
        if before is not None and state.id is None and before == self._cookie_key:
            raise _deleted_meanwhile(before)

    def _prepare_save(self) -> None:
        """What a save does before storage: the dict's in-place changes recorded, and
        Django's renewal of the whole session (every key gets its lifetime)."""
        if self._dict is not None:
            self._dict.record_in_place_changes()
        state = self._state
        if state.dirty or (
            (_settings or _session_settings()).save_every_request and self.session_key is not None
        ):
            state.touch(self._lifetime())

    def _saves_empty(self) -> bool:
        """Whether a save must store an empty session, for a key (Django's test client
        saves one): the core itself never stores a session with nothing in it."""
        return not self._state.dirty and self.session_key is None

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None or session_key == self._state.id:
            self._core.run_program(self._destroy_program())
        elif is_valid_session_id(session_key):
            self._manager.sync_store().delete(session_key)

    async def adelete(self, session_key: str | None = None) -> None:
        if session_key is None or session_key == self._state.id:
            await self._acore.run_program(self._destroy_program())
        elif is_valid_session_id(session_key):
            await self._manager.async_store().delete(session_key)

    def _destroy_program(self) -> Program[None]:
        state = self._state
        state.destroy()
        self._expiry = None
        yield from state.save()

    def flush(self) -> None:
        """Delete the session and forget its key (Django's logout)."""
        self._core.run_program(self._destroy_program())
        self.modified = True

    async def aflush(self) -> None:
        await self._acore.run_program(self._destroy_program())
        self.modified = True

    def cycle_key(self) -> None:
        """A new key for the same data, the old record removed (Django's login)."""
        self._core.run_program(self._cycle_program())

    async def acycle_key(self) -> None:
        await self._acore.run_program(self._cycle_program())

    def _cycle_program(self) -> Program[None]:
        self.accessed = True
        if self._dict is not None:
            self._dict.record_in_place_changes()
        state = self._state
        yield from state.regenerate()
        yield from state.save()
        self._session_cache = self._mapping

    # ---- what hostsessions' SessionMiddleware does with the store after the view ----------

    def _respond(self, request: Any, response: Any) -> None:
        """Django's ``SessionMiddleware.process_response`` for this store: save and send the
        cookie again, expire the cookie, ``Vary``, as Django's rules say."""
        if self._wants_save(request, response):
            try:
                self.save()
            except UpdateError:
                raise _interrupted() from None
            self._attach_cookie(response)

    async def _arespond(self, request: Any, response: Any) -> None:
        """:meth:`_respond` under ASGI: the save with the async methods, on the event loop."""
        if self._wants_save(request, response):
            try:
                await self.asave()
            except UpdateError:
                raise _interrupted() from None
            self._attach_cookie(response)

    def _wants_save(self, request: Any, response: Any) -> bool:
        """Django's ``process_response`` up to the save: the cookie to expire, ``Vary``; and
        whether the session must be saved (and its cookie sent again). The flags are read
        as ``accessed``, ``modified`` and ``is_empty()`` read them, without their calls."""
        conf = _settings or _session_settings()
        state = self._state
        accessed = self._accessed or state.touched
        session_id = state.id
        # the usual case first: the session the cookie names, read and alive, is not empty
        if (session_id is None or session_id != self._cookie_key) and self.is_empty():
            if conf.cookie_name in request.COOKIES:
                response.delete_cookie(
                    conf.cookie_name,
                    path=conf.cookie_path,
                    domain=conf.cookie_domain,
                    samesite=conf.cookie_samesite,
                )
                _vary_on_cookie(response)
            elif accessed:
                _vary_on_cookie(response)
            return False
        save = (
            self._modified
            or conf.save_every_request
            or state.dirty
            or state.cookie_action() is not None
        ) and response.status_code < 500
        if save or accessed:
            _vary_on_cookie(response)
        return save

    def _attach_cookie(self, response: Any) -> None:
        """Django's ``response.set_cookie(...)`` of the session cookie, made at less cost."""
        conf = _settings or _session_settings()
        if self._expiry is None and self._own_expiry_rules:  # _cookie_max_age(), inlined
            max_age = None if conf.expire_at_browser_close else conf.cookie_age
        else:
            max_age = self._cookie_max_age()
        session_id = self._state.id  # after a save the state is loaded: the session key
        if session_id is not None:
            conf.cookie.attach(response.cookies, session_id, max_age)

    @classmethod
    def clear_expired(cls) -> None:
        """Remove expired sessions, for stores that keep them until swept (the filesystem);
        stores that expire records themselves (DynamoDB, Firestore TTL) need nothing."""
        sweep = getattr(session_manager().driver(), "sweep", None)
        if callable(sweep):
            sweep()


def get_session(request: Any) -> Session:
    """``request``'s session with the full hostsessions API: ``set(key, value, ttl=)``,
    ``update``, ``regenerate``, ``destroy``, ``load``. ``request.session`` is a dict-style
    view of the same session."""
    return _store_of(request).hostsessions


def get_async_session(request: Any) -> AsyncSession:
    """The async twin of :func:`get_session`, for ``async def`` views."""
    return _store_of(request).ahostsessions


def _store_of(request: Any) -> SessionStore:
    store = getattr(request, "session", None)
    if not isinstance(store, SessionStore):
        raise LookupError(
            "request.session is not a hostsessions session: set "
            'SESSION_ENGINE = "hostsessions.django" and keep '
            "django.contrib.sessions.middleware.SessionMiddleware in MIDDLEWARE"
        )
    return store


class _DjangoMapping(SessionMapping):
    """The engine's session dict: it tells the engine when the custom expiry changes."""

    def __init__(self, session: Session, expiry_changed: Callable[[Any], None]) -> None:
        super().__init__(session)
        self._expiry_changed = expiry_changed

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if key == EXPIRY_KEY:
            self._expiry_changed(value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        if key == EXPIRY_KEY:
            self._expiry_changed(None)

    def clear(self) -> None:
        super().clear()
        self._expiry_changed(None)


# ---- the middleware ---------------------------------------------------------------------------


class SessionMiddleware(DjangoSessionMiddleware):  # type: ignore[misc]
    """Django's ``SessionMiddleware`` for this engine, doing the same at a fraction of the cost.

    ::

        MIDDLEWARE = [
            ...
            "hostsessions.django.SessionMiddleware",  # instead of django.contrib.sessions'
            ...
        ]

    The same rules as Django's: the cookie (its name, ``Max-Age``, ``Expires``, domain,
    path, ``Secure``, ``HttpOnly``, ``SameSite`` settings) is sent again on every response
    that saved the session, expired when the session ends up empty, ``Vary: Cookie`` when
    the session was used, no save on a 5xx response, ``SessionInterrupted`` (a 400) when
    another request deleted the session meanwhile, ``SESSION_SAVE_EVERY_REQUEST``. It is a
    subclass of Django's, so the admin's and auth's checks accept it. Under ASGI it saves
    with the engine's async methods, on the event loop, instead of in a worker thread.

    What it saves: the settings read once (and again when a test overrides them), the
    cookie's text made from a template (see :mod:`hostsessions._django_cookie`), ``Vary``
    set without parsing an absent header. With another ``SESSION_ENGINE`` it is Django's middleware.
    """

    # What this class uses of Django's (untyped) middleware, typed.
    get_response: Callable[[Any], Any]
    async_mode: bool

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        super().__init__(get_response)
        self._ours = issubclass(self.SessionStore, SessionStore)

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if not self._ours:
            return super().__call__(request)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        store = self._open(request)
        response = self.get_response(request)
        if request.session is store:
            store._respond(request, response)  # pyright: ignore[reportPrivateUsage]
        else:
            # Something replaced request.session: Django's own handling of whatever it is.
            self.process_response(request, response)  # pyright: ignore[reportUnknownMemberType]
        return response

    async def __acall__(self, request: Any) -> Any:
        if not self._ours:
            return await super().__acall__(request)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        store = self._open(request)
        get_response: Callable[[Any], Awaitable[Any]] = self.get_response
        response = await get_response(request)
        if request.session is store:
            await store._arespond(request, response)  # pyright: ignore[reportPrivateUsage]
        else:
            self.process_response(request, response)  # pyright: ignore[reportUnknownMemberType]
        return response

    def _open(self, request: Any) -> SessionStore:
        cookie_id = session_id_from_cookie_header(
            request.META.get("HTTP_COOKIE"), (_settings or _session_settings()).cookie_name
        )
        store: SessionStore = self.SessionStore._for_checked_id(cookie_id)
        request.session = store
        return store


def _deleted_meanwhile(session_id: str) -> UpdateError:
    return UpdateError(f"session {session_id[:8]}... was deleted by another request")


def _interrupted() -> SessionInterrupted:
    return SessionInterrupted(
        "The request's session was deleted before the request completed. The user may "
        "have logged out in a concurrent request, for example."
    )


def _vary_on_cookie(response: Any) -> None:
    """``patch_vary_headers(response, ("Cookie",))``; a response without ``Vary`` (the usual
    case) gets it without parsing."""
    headers = response.headers
    # Django's ResponseHeaders keeps (name, value) by the lower-case name in ``_store``;
    # "vary" absent there is has_header("Vary") False, without its KeyError.
    known = getattr(headers, "_store", None)
    if type(known) is dict and "vary" not in known:
        known["vary"] = ("Vary", "Cookie")
    elif response.has_header("Vary"):
        patch_vary_headers(response, ("Cookie",))
    else:
        headers["Vary"] = "Cookie"
