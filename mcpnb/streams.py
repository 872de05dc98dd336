"""A transport's two streams, passed through, for wrappers that look at what passes.

An SDK transport is an async context manager that yields a read stream and a
write stream. The trace (``trace.Tap``) and the guard against unreadable
answers (``unreadable.Unreadable``) each wrap both streams; what they share,
passing everything else through, lives here. A subclass overrides ``seen``,
which gets every item and returns what goes on.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PassThrough", "ReadThrough", "WriteThrough"]


class PassThrough:
    """One stream of a transport, passed through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def seen(self, item: Any) -> Any:
        """Look at one item; return the item to pass on."""
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> PassThrough:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._inner.__aexit__(*exc_info)

    def __getattr__(self, name: str) -> Any:  # e.g. last_context, read by the SDK when present
        return getattr(self._inner, name)


class ReadThrough(PassThrough):
    """The read stream: each item received passes through ``seen``."""

    async def receive(self) -> Any:
        return self.seen(await self._inner.receive())

    def __aiter__(self) -> ReadThrough:
        return self

    async def __anext__(self) -> Any:
        return self.seen(await self._inner.__anext__())


class WriteThrough(PassThrough):
    """The write stream: each item sent passes through ``seen``."""

    async def send(self, item: Any, /) -> None:
        await self._inner.send(self.seen(item))
