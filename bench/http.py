"""HTTP benchmark of the disclosure gateway (the code is in bench/http_bench.py).

    .venv/bin/python bench/http.py [--patients 2000] [--seconds 10] [--connections 8,32,64]

This file is named like the standard library's ``http`` package, so it only takes its own
directory off the import path (else ``import http.client`` inside httpx would import this script)
and runs ``http_bench.py``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    runpy.run_path(str(HERE / "http_bench.py"), run_name="__main__")
