"""One chat turn with a tool call: ``mcpnb.chat(...).ask()`` against the same loop written raw.

    python benchmarks/chat.py [--rounds 150] [--blocks 5]

A turn is two model requests and one tool call: the model asks for ``echo``,
the tool runs on an MCP server, its result goes back, the model answers. The
model is the SCRIPTED stand-in (``mcpnb.demo.scripted_model``, not a model) on
127.0.0.1, so what is measured is the client side, with the provider's own
package (``anthropic``) making the requests on every side:

- raw: ``AsyncAnthropic.messages.create`` twice around the SDK's
  ``Client.call_tool``, with the tool definitions made once beforehand;
- raw again: a second raw side, the control (it should read 1.00);
- mcpnb: a new ``mcpnb.chat(model, servers=[server], show=False, approve="always")`` and one
  ``ask`` from synchronous code, as a cell makes it: the tools exported for the
  provider, the approval (approve="always": echo is not annotated read-only), the call through mcpnb's
  connection (trace, validation, progress token), the records and the
  transcript kept.

Each side has its own stdio echo server process; each round runs one turn per
side in a shuffled order (seeded). A figure is the ratio of the median turn
time of a side to the raw side's; the spread is its lowest and highest over
``--blocks`` blocks of rounds. No target is set: the model's own time (seconds
for a hosted model, against about a millisecond here) dwarfs this overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

import mcpnb
from mcpnb.demo.scripted_model import Rule, start
from overhead import ratios, shuffled_rounds  # this folder is on sys.path when a benchmark runs as a script

ECHO = [sys.executable, str(Path(__file__).with_name("echo_server.py"))]
PROMPT = "Please echo hello."
RULES = [Rule(when="echo", steps=[[("echo", {"text": "hello"})]], answer="It said: {results}")]
SIDES = ("raw", "raw again", "mcpnb")


async def raw_turn(client: Any, mcp: Client, definitions: list[dict[str, Any]], model: str) -> str:
    """The loop by hand: ask, call the tools it names, send the results, take the answer."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    reply = await client.messages.create(model=model, max_tokens=1024, messages=messages, tools=definitions)
    while reply.stop_reason == "tool_use":
        results = []
        for block in reply.content:
            if block.type == "tool_use":
                called = await mcp.call_tool(block.name, block.input)
                text = "\n".join(c.text for c in called.content if c.type == "text")
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": text,
                                "is_error": bool(called.is_error)})
        messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]},
                     {"role": "user", "content": results}]
        reply = await client.messages.create(model=model, max_tokens=1024, messages=messages, tools=definitions)
    return "".join(b.text for b in reply.content if b.type == "text")


async def measure(rounds: int) -> dict[str, list[float]]:
    from anthropic import AsyncAnthropic

    stand_in = start(RULES)
    model = stand_in.llm("anthropic")
    params = StdioServerParameters(command=ECHO[0], args=ECHO[1:])
    server = mcpnb.connect(ECHO, name="bench-chat")
    definitions = list(server.tools.export("anthropic"))
    raw_client = AsyncAnthropic(base_url=stand_in.anthropic_url, api_key="scripted-bench", max_retries=0)
    control_client = AsyncAnthropic(base_url=stand_in.anthropic_url, api_key="scripted-bench", max_retries=0)
    try:
        async with Client(params) as raw, Client(params) as control:
            async def raw_side() -> str:
                return await raw_turn(raw_client, raw, definitions, model.name)

            async def control_side() -> str:
                return await raw_turn(control_client, control, definitions, model.name)

            async def mcpnb_side() -> str:
                # the sync API, as a cell uses it (this loop is idle meanwhile)
                return mcpnb.chat(model, servers=[server], show=False, approve="always").ask(PROMPT).text

            sides: list[tuple[str, Callable[[], Any]]] = list(zip(SIDES, (raw_side, control_side, mcpnb_side)))
            for _ in range(10):  # warm up every side, and check they all got the tool's answer
                for name, turn in sides:
                    answer = await turn()
                    assert "hello" in answer, (name, answer)
            times = await shuffled_rounds(sides, rounds)
    finally:
        server.close()
        stand_in.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=150, help="rounds (one turn per side each)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks of rounds for the spread")
    args = parser.parse_args()
    times = asyncio.run(measure(args.rounds))
    found = ratios(times, args.blocks)
    print(f"one chat turn (2 model requests to the scripted stand-in, 1 tool call over stdio), {args.rounds} rounds")
    print(f"  raw median {statistics.median(times['raw']) * 1e3:.2f} ms")
    for name in SIDES[1:]:
        whole, low, high = found[name]
        print(f"  {name:10} {whole:.3f}x raw ({low:.2f}-{high:.2f} over {args.blocks} blocks), "
              f"median {statistics.median(times[name]) * 1e3:.2f} ms")
    print("shuffled order, each side its own server process; 'raw again' is the control.")


if __name__ == "__main__":
    main()
