"""What starting costs: ``import mcpnb`` and ``%load_ext mcpnb`` against ``import mcp`` plus an SDK Client.

    python benchmarks/startup.py [--rounds 12] [--blocks 3]

Each measurement is a fresh Python process that times its own work (the
interpreter's start is left out, being the same for every side):

- raw: ``from mcp import Client, StdioServerParameters`` and a ``Client`` made
  for a stdio server (not connected), what any SDK client pays first;
- raw again: the same, the control (its ratio shows what noise and position
  alone do; it should read 1.00);
- import mcpnb: ``import mcpnb``;
- raw in IPython: the raw side in a process that has made an IPython
  ``InteractiveShell`` first (untimed);
- %load_ext mcpnb: ``%load_ext mcpnb`` run by such a shell, the stand-in for a
  kernel (a real kernel's start is too noisy to time beside it).

IPython is loaded on both shell sides, so %load_ext is measured against raw
in IPython. Every side runs once to warm the disk cache, then each round runs
every side once in a new (seeded) order. A figure is the ratio of medians; the
spread is the lowest and highest of the same ratio over ``--blocks``
consecutive blocks of rounds. Target: %load_ext mcpnb at most 1.30.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from overhead import ratios  # noqa: E402

RAW = """
from mcp import Client, StdioServerParameters
Client(StdioServerParameters(command=sys.executable, args=["-m", "mcpnb.demo", "helpdesk"]))
"""
SHELL = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
"""
# side: (untimed set-up, timed work)
SIDES = {
    "raw": ("", RAW),
    "raw again": ("", RAW),
    "import mcpnb": ("", "import mcpnb"),
    "raw in IPython": (SHELL, RAW),
    "%load_ext mcpnb": (SHELL, "shell.run_line_magic('load_ext', 'mcpnb')"),
}
# each side's ratio is to this side's median
BASE = {"raw again": "raw", "import mcpnb": "raw", "raw in IPython": "raw", "%load_ext mcpnb": "raw in IPython"}


def program(setup: str, work: str) -> str:
    """A script that does ``setup``, then times ``work`` and prints the seconds."""
    return f"import sys, time\n{setup.strip()}\nstarted = time.perf_counter()\n{work.strip()}\n" \
           "print(time.perf_counter() - started)\n"


def run(side: str) -> float:
    shown = subprocess.run([sys.executable, "-c", program(*SIDES[side])], capture_output=True, text=True,
                           check=True).stdout
    return float(shown.strip().splitlines()[-1])


def measure(rounds: int) -> dict[str, list[float]]:
    """Seconds of each side, round by round, the sides in a new (seeded) order each round."""
    names = list(SIDES)
    for name in names:  # warm the disk cache and the bytecode caches
        run(name)
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(2026)
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            times[name].append(run(name))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="rounds (one fresh process per side each)")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of rounds for the spread")
    args = parser.parse_args()
    times = measure(args.rounds)
    print(f"{'side':16} {'median':>9}   {'ratio (spread)':>18}   against")
    print(f"{'raw':16} {statistics.median(times['raw']) * 1000:7.0f} ms")
    for name, base in BASE.items():
        whole, low, high = ratios({"raw": times[base], name: times[name]}, args.blocks)[name]
        print(f"{name:16} {statistics.median(times[name]) * 1000:7.0f} ms   {whole:6.2f} ({low:.2f}-{high:.2f})   {base}")
    print(f"ratios of medians (lowest-highest over {args.blocks} blocks); {args.rounds} rounds of fresh processes in "
          "shuffled order; %load_ext in an IPython InteractiveShell (IPython loaded on both sides, untimed). "
          "Target: %load_ext mcpnb <= 1.30; 'raw again' is the control.")


if __name__ == "__main__":
    main()
