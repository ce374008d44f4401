"""`localsearch ARGS`, with adapt judging on however few queries a test's tiny corpus holds out
(the real minimum is 5). A script, as torchrun runs scripts and not `python -c`."""

from __future__ import annotations

import sys

from localsearch.adapt import pipeline
from localsearch.cli import main

if __name__ == "__main__":
    pipeline.MIN_JUDGED = 1
    main(sys.argv[1:])
