"""The sensitivity ranking of docs/SENSITIVITY.md, from a Saltelli sweep's ``sobol.csv``.

``python -m sim.experiments.sensitivity DIR`` reads ``DIR/sobol.csv`` (written
by ``mutualaid report`` for a sweep with ``sampling: saltelli``) and prints,
for every metric, the parameters ranked by their total Sobol index (ST, the
share of the output's variance that involves the parameter, alone or with
others), with the first-order index (S1) and both 95% half-widths, each
parameter labelled fitted or free (:mod:`sim.core.provenance`). A parameter
*matters* for a metric when the lower end of its ST interval is above
:data:`THRESHOLD`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from sim.core.provenance import status

#: ST lower bound above which a parameter is said to matter for a metric.
THRESHOLD = 0.05


def ranking(indices: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per metric, the rows of ``indices`` (columns metric, parameter, S1, S1_conf, ST, ST_conf) by ST, largest first."""
    out = {}
    for metric, g in indices.groupby("metric", sort=False):
        g = g.sort_values(["ST", "parameter"], ascending=[False, True]).reset_index(drop=True)
        g["status"] = [status(p, "float") for p in g["parameter"]]
        g["matters"] = (g["ST"] - g["ST_conf"]) > THRESHOLD
        out[metric] = g
    return out


def markdown(indices: pd.DataFrame, top: int | None = None) -> str:
    """One table per metric, parameters ranked by ST (``top``: only the first rows)."""
    parts = []
    for metric, g in ranking(indices).items():
        rows = g if top is None else g.head(top)
        lines = [f"**{metric}**: matters (ST lower bound > {THRESHOLD}): "
                 + (", ".join(f"`{p}`" for p in g.loc[g["matters"], "parameter"]) or "none"), "",
                 "| parameter | status | ST (95%) | S1 (95%) |", "|---|---|---|---|"]
        for r in rows.itertuples():
            lines.append(f"| `{r.parameter}` | {r.status} | {r.ST:.3f} ± {r.ST_conf:.3f} | "
                         f"{r.S1:.3f} ± {r.S1_conf:.3f} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sim.experiments.sensitivity SWEEP_RESULTS_DIR", file=sys.stderr)
        return 2
    path = Path(args[0]) / "sobol.csv"
    if not path.is_file():
        print(f"{path}: no such file (run `mutualaid report` on a Saltelli sweep first)", file=sys.stderr)
        return 2
    print(markdown(pd.read_csv(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
