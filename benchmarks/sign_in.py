"""A whole OAuth sign-in, end to end: ``connect(url, auth=OAuth(...))`` against the raw SDK's provider.

    python benchmarks/sign_in.py [--rounds 20]

One demo system behind OAuth (``python -m mcpnb.demo helpdesk --http PORT --auth``,
its own process) serves three sides; each round, in a shuffled order (seeded), each
side signs in from nothing (discovery, dynamic registration, the sign-in page played
by ``mcpnb.demo.authserver.sign_in``, the token), lists the tools once, and closes:

- raw: the SDK's ``OAuthClientProvider`` on an ``httpx2.AsyncClient``, ``mcp.Client``
  over Streamable HTTP, tokens in memory;
- raw again: the same a second time, the control (its ratio should read 1.00);
- mcpnb: ``mcpnb.connect(url, auth=mcpnb.OAuth(authorize=sign_in, storage="memory"))``
  and ``server.tools``, then ``close()`` and ``logout()``.

A figure is the ratio of a side's median to the raw side's median; the spread is the
lowest and highest ratio over five consecutive blocks of rounds. Also printed: the
median seconds of an mcpnb sign-in. The person's own time in the browser is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

import mcpnb
from mcpnb.demo.authserver import sign_in

SIDES = ("raw", "raw again", "mcpnb")


class Memory:
    """The SDK's TokenStorage, in memory (what the raw side needs at the least)."""

    def __init__(self) -> None:
        self.tokens = self.client = None

    async def get_tokens(self):  # noqa: ANN201
        return self.tokens

    async def set_tokens(self, tokens) -> None:  # noqa: ANN001
        self.tokens = tokens

    async def get_client_info(self):  # noqa: ANN201
        return self.client

    async def set_client_info(self, client_info) -> None:  # noqa: ANN001
        self.client = client_info


async def raw_sign_in(url: str) -> None:
    sent: list[str] = []

    async def redirect(authorization_url: str) -> None:
        sent.append(authorization_url)

    async def callback() -> AuthorizationCodeResult:
        back = await asyncio.to_thread(sign_in, sent[-1])
        query = {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    metadata = OAuthClientMetadata(redirect_uris=["http://127.0.0.1:9/callback"], client_name="bench",
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                                   token_endpoint_auth_method="none")
    provider = OAuthClientProvider(url, metadata, Memory(), redirect, callback)
    async with httpx2.AsyncClient(auth=provider) as http, Client(streamable_http_client(url, http_client=http)) as c:
        await c.list_tools()


def mcpnb_sign_in(url: str) -> None:
    server = mcpnb.connect(url, name="bench", auth=mcpnb.OAuth(authorize=sign_in, storage="memory"))
    server.tools
    server.close()
    mcpnb.logout(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "mcpnb.demo", "helpdesk", "--http", str(port), "--auth"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while "token_lifetime" not in process.stderr.readline():
            pass
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.1)
        sides = {"raw": lambda: asyncio.run(raw_sign_in(url)), "raw again": lambda: asyncio.run(raw_sign_in(url)),
                 "mcpnb": lambda: mcpnb_sign_in(url)}
        for run in sides.values():  # warm up
            run()
        times: dict[str, list[float]] = {name: [] for name in SIDES}
        order = random.Random(2026)
        for _ in range(rounds):
            names = list(SIDES)
            order.shuffle(names)
            for name in names:
                started = time.perf_counter()
                sides[name]()
                times[name].append(time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(10)
        process.stderr.close()
    base = statistics.median(times["raw"])
    block = max(1, rounds // 5)
    print(f"A whole sign-in (discovery, registration, sign-in page, token, tools/list), {rounds} rounds:")
    for name in SIDES:
        ratio = statistics.median(times[name]) / base
        spread = [statistics.median(times[name][i:i + block]) / statistics.median(times["raw"][i:i + block])
                  for i in range(0, rounds - block + 1, block)]
        print(f"  {name:10} {ratio:5.2f}x raw  (blocks {min(spread):.2f}-{max(spread):.2f}), "
              f"median {statistics.median(times[name]) * 1000:.0f} ms")
    print("The person's time in the browser is not in these figures.")


if __name__ == "__main__":
    main()
