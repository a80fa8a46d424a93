"""One Redis subscription per process and channel, fanned out in memory to the open streams.

Every live stream of a web process (tracker, kitchen display, dispatch) joins the process's `Hub`
on its event loop. The hub holds ONE pub/sub connection: it subscribes to a channel when the
channel's first viewer joins and unsubscribes when the last one leaves, and copies each note into
every viewer's bounded queue. A viewer whose queue is full has stopped reading (a phone in a
tunnel, a client that never reads): it is dropped and its request task cancelled, so it never
costs more than `buffer` notes of memory and the others never wait for it.

A viewer receives `HELLO` whenever its channel's subscription is confirmed by Redis: on joining
(once the subscription is live, so no change after `hello` can be missed) and again after the hub
reconnected to a restarted Redis. The page re-reads what it shows on `hello`; that is how every
open page catches up with changes whose notes were lost while Redis was away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

from pizzeria.redisclient import redis_pubsub_client

logger = logging.getLogger(__name__)

HELLO = object()  # queue item: the channel is (again) subscribed; re-read the page's state
CLOSE = object()  # queue item: the process is shutting down; end the stream (the page reconnects)


class Viewer:
    """One open stream: its channel, its bounded queue of items (HELLO or a note dict)."""

    __slots__ = ("channel", "dropped", "queue", "task")

    def __init__(self, channel: str, buffer: int) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize=buffer)
        self.task = asyncio.current_task()  # cancelled when the viewer is dropped
        self.dropped = False


class Hub:
    def __init__(
        self, url: str, *, buffer: int = 16, reconnect_max: float = 1.0, ping_every: float = 10.0
    ) -> None:
        self.url = url
        self.buffer = buffer
        self.reconnect_max = reconnect_max
        self.ping_every = ping_every
        self.viewers: dict[str, set[Viewer]] = {}
        self.subscribed: set[str] = set()  # confirmed on the current connection
        self.connects = 0  # successful (re)connections, for tests and ops
        self.dropped = 0
        self._pubsub: aioredis.client.PubSub | None = None
        self._broken = False
        self._wake = asyncio.Event()  # a subscribe was sent, or the connection broke
        self._runner: asyncio.Task | None = None

    # --- viewers ----------------------------------------------------------------------------
    async def join(self, channel: str) -> Viewer:
        viewer = Viewer(channel, self.buffer)
        viewers = self.viewers.setdefault(channel, set())
        viewers.add(viewer)
        self._ensure_running()
        if channel in self.subscribed:
            viewer.queue.put_nowait(HELLO)
        elif len(viewers) == 1 and self._pubsub is not None:
            await self._send("subscribe", channel)  # HELLO follows Redis's confirmation
        return viewer

    async def leave(self, viewer: Viewer) -> None:
        viewers = self.viewers.get(viewer.channel)
        if viewers is None or viewer not in viewers:
            return
        viewers.discard(viewer)
        if not viewers:
            del self.viewers[viewer.channel]
            if viewer.channel in self.subscribed:
                self.subscribed.discard(viewer.channel)
                await self._send("unsubscribe", viewer.channel)

    def open_streams(self) -> int:
        return sum(len(v) for v in self.viewers.values())

    def _drop(self, viewer: Viewer) -> None:
        """A full queue: the viewer stopped reading. Forget it and end its request."""
        viewers = self.viewers.get(viewer.channel)
        if viewers is not None:
            viewers.discard(viewer)
        viewer.dropped = True
        self.dropped += 1
        logger.info("Live stream on %s dropped: %d notes unread", viewer.channel, viewer.queue.qsize())
        if viewer.task is not None and viewer.task is not asyncio.current_task():
            viewer.task.cancel()

    def drain(self) -> None:
        """End every stream (the process is shutting down): each finishes its response cleanly."""
        for viewers in list(self.viewers.values()):
            for viewer in list(viewers):
                try:
                    viewer.queue.put_nowait(CLOSE)
                except asyncio.QueueFull:
                    self._drop(viewer)

    def _fan_out(self, channel: str, item: object) -> None:
        for viewer in list(self.viewers.get(channel, ())):
            try:
                viewer.queue.put_nowait(item)
            except asyncio.QueueFull:
                self._drop(viewer)

    # --- the one connection ----------------------------------------------------------------
    async def _send(self, command: str, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # not connected: the runner subscribes every channel with viewers on connecting
        try:
            await getattr(pubsub, command)(channel)
            self._wake.set()
        except (redis.RedisError, OSError):
            # The connection is gone: have the runner start over (it subscribes every channel
            # that has viewers), even if it is not reading right now.
            logger.warning("Live hub: %s %s failed; reconnecting", command, channel)
            self._broken = True
            self._wake.set()

    def _ensure_running(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="live-hub")

    async def _connect(self) -> aioredis.client.PubSub:
        pubsub = redis_pubsub_client(self.url).pubsub()
        await pubsub.connect()
        return pubsub

    async def _run(self) -> None:
        delay = 0.05
        while True:
            pubsub = None
            try:
                pubsub = await self._connect()
                self.subscribed.clear()
                self._broken = False
                self._pubsub = pubsub
                channels = list(self.viewers)
                if channels:
                    await pubsub.subscribe(*channels)
                self.connects += 1
                delay = 0.05
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError, RuntimeError) as exc:
                if self._pubsub is not None:
                    logger.warning("Live hub lost Redis (%s); reconnecting", exc)
            finally:
                self._pubsub = None
                self.subscribed.clear()
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            # Quick first retries (a restart takes well under a second), then at most reconnect_max.
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        silent_pings = 0
        while not self._broken:
            if not pubsub.subscribed:
                # Nothing to read until a viewer joins: wait for its subscribe (or a failure).
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ping_every):
                        await self._wake.wait()
                continue
            message = await pubsub.get_message(timeout=self.ping_every)
            if message is None:
                # Silence: ask, so a connection that died without a word is noticed.
                silent_pings += 1
                if silent_pings > 2:
                    raise redis.ConnectionError("no answer to PING")
                await pubsub.ping()
                continue
            silent_pings = 0
            kind = message["type"]
            channel = (
                message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            )
            if kind == "message":
                try:
                    note = json.loads(message["data"])
                except ValueError:
                    logger.warning("Live hub: a note on %s is not JSON; ignored", channel)
                    continue
                self._fan_out(channel, note if isinstance(note, dict) else {})
            elif kind == "subscribe" and channel in self.viewers:
                self.subscribed.add(channel)
                self._fan_out(channel, HELLO)
            elif kind == "subscribe":
                await pubsub.unsubscribe(channel)  # its viewers left before Redis confirmed it
        raise redis.ConnectionError("a subscribe or unsubscribe failed")

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (one per web process; tests may run several loops)."""
    loop = asyncio.get_running_loop()
    h = _hubs.get(loop)
    if h is None:
        h = _hubs[loop] = Hub(settings.REDIS_URL, buffer=settings.LIVE_VIEWER_BUFFER)
    return h


def drain_hub() -> None:
    """End every stream of the running loop's hub (pizzeria.webworker, on SIGTERM)."""
    h = _hubs.get(asyncio.get_running_loop())
    if h is not None:
        h.drain()


async def close_hub() -> None:
    """Close the running loop's hub (the ASGI lifespan's shutdown)."""
    h = _hubs.pop(asyncio.get_running_loop(), None)
    if h is not None:
        await h.close()
