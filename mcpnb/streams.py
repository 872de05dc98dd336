"""A transport's two streams, passed through once, for watchers that look at what passes.

An SDK transport is an async context manager that yields a read stream and a
write stream. The trace (``trace.Tap``) and the guard against unreadable
answers (``unreadable.Unreadable``) each want to see every message; ``Watched``
wraps the transport once and hands each item to every watcher in turn: one
layer for all of them, not one each, since every layer adds an await (and a
method call) to each message's way, and every message of every call passes.

A watcher has ``read(item)`` and ``write(item)``, each returning the item to
pass on (the same one, or one put in its place). Watchers are listed from the
wire inward: what is read goes through them in that order, what is written in
the reverse order, as if each wrapped the one before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["Watcher", "Watched"]


class Watcher(Protocol):
    def read(self, item: Any) -> Any: ...

    def write(self, item: Any) -> Any: ...


class Watched:
    """An SDK transport, entered as is, whose two streams pass every item to its ``watchers``."""

    def __init__(self, transport: Any, watchers: Sequence[Watcher]) -> None:
        self._transport, self._watchers = transport, list(watchers)

    async def __aenter__(self) -> tuple[Any, Any]:
        read_stream, write_stream = await self._transport.__aenter__()
        return (_Read(read_stream, [watcher.read for watcher in self._watchers]),
                _Write(write_stream, [watcher.write for watcher in reversed(self._watchers)]))

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._transport.__aexit__(*exc_info)


class _Through:
    """One stream of a transport, passed through."""

    def __init__(self, inner: Any, looks: list[Callable[[Any], Any]]) -> None:
        self._inner, self._looks = inner, looks

    def _seen(self, item: Any) -> Any:
        for look in self._looks:
            item = look(item)
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Through:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._inner.__aexit__(*exc_info)

    def __getattr__(self, name: str) -> Any:  # anything else the SDK may ask of a stream
        return getattr(self._inner, name)


class _Read(_Through):
    """The read stream: each item received passes the watchers, wire first."""

    @property
    def last_context(self) -> Any:
        # The SDK asks for this after every message, with a default; through __getattr__ each
        # ask of a stream without one would raise and catch an AttributeError.
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        return self._seen(await self._inner.receive())

    def __aiter__(self) -> _Read:
        return self

    async def __anext__(self) -> Any:
        return self._seen(await self._inner.__anext__())


class _Write(_Through):
    """The write stream: each item sent passes the watchers, wire last."""

    async def send(self, item: Any, /) -> None:
        await self._inner.send(self._seen(item))
