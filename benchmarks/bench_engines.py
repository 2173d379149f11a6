"""The engines' benchmark: the same as ``mutualaid bench`` (see sim/experiments/bench.py).

    .venv/bin/python benchmarks/bench_engines.py [--quick] [--markdown FILE]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.experiments.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
