"""Run every tutorial notebook top to bottom and save it with its outputs.

    python scripts/execute_notebooks.py [NOTEBOOK ...]

The demo servers get a freshly seeded database in a temporary folder, so the
saved outputs are the same on every machine (and no earlier writes show).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def main(names: list[str]) -> None:
    paths = [NOTEBOOKS / name for name in names] or sorted(NOTEBOOKS.glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="mcpnb-demo-") as data:
        os.environ["MCPNB_DEMO_DIR"] = data
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(notebook, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
            nbformat.write(notebook, path)
            print(f"executed {path.relative_to(NOTEBOOKS.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
