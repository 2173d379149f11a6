"""The sensitivity ranking of docs/SENSITIVITY.md, from a Saltelli sweep's ``sobol.csv``.

``python -m sim.experiments.sensitivity DIR`` reads ``DIR/sobol.csv`` (written
by ``mutualaid report`` for a sweep with ``sampling: saltelli``) and prints,
for every metric, the parameters ranked by their total Sobol index (ST, the
share of the output's variance that involves the parameter, alone or with
others), with the first-order index (S1) and both 95% half-widths, each
parameter labelled fitted or free (:mod:`sim.core.provenance`). A parameter
*matters* for a metric when the lower end of its ST interval is above
:data:`THRESHOLD`.

Where the table has it (reports since Morris screening), each metric's line
also gives its ``seed_share``: the share of the metric's variance over runs
that comes from the seeds (within-point variance over total variance, see
:func:`sim.experiments.report.seed_share`). A large share means the indices
rank parameters by a signal small next to the noise of a run.

For a Morris sweep (``sampling: morris``) the same command reads
``DIR/morris.csv`` and ranks the parameters by mu* (the mean absolute
elementary effect), with its 95% half-width, mu and sigma: a screening that
says which parameters to keep for a Sobol sweep.
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
                 + (", ".join(f"`{p}`" for p in g.loc[g["matters"], "parameter"]) or "none")
                 + _seeds(g), "",
                 "| parameter | status | ST (95%) | S1 (95%) |", "|---|---|---|---|"]
        for r in rows.itertuples():
            lines.append(f"| `{r.parameter}` | {r.status} | {r.ST:.3f} ± {r.ST_conf:.3f} | "
                         f"{r.S1:.3f} ± {r.S1_conf:.3f} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _seeds(g: pd.DataFrame) -> str:
    if "seed_share" not in g or not len(g):
        return ""
    v = float(g["seed_share"].iloc[0])
    return "; seeds: " + ("n/a (one replicate)" if v != v else f"{v:.3f} of the variance")


def morris_markdown(screening: pd.DataFrame, top: int | None = None) -> str:
    """One table per metric of a Morris screening (``morris.csv``), parameters ranked by mu*."""
    parts = []
    for metric, g in screening.groupby("metric", sort=False):
        g = g.sort_values(["mu_star", "parameter"], ascending=[False, True]).reset_index(drop=True)
        rows = g if top is None else g.head(top)
        lines = [f"**{metric}**: ranked by mu* (response: mean of {g['replicates'].iloc[0]} replicates a point)"
                 + _seeds(g), "", "| parameter | status | mu* (95%) | mu | sigma |", "|---|---|---|---|---|"]
        for r in rows.itertuples():
            lines.append(f"| `{r.parameter}` | {status(r.parameter, 'float')} | {r.mu_star:.3g} ± "
                         f"{r.mu_star_conf:.3g} | {r.mu:.3g} | {r.sigma:.3g} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sim.experiments.sensitivity SWEEP_RESULTS_DIR", file=sys.stderr)
        return 2
    path = Path(args[0]) / "sobol.csv"
    if not path.is_file() and (Path(args[0]) / "morris.csv").is_file():
        print(morris_markdown(pd.read_csv(Path(args[0]) / "morris.csv")))
        return 0
    if not path.is_file():
        print(f"{path}: no such file (run `mutualaid report` on a Saltelli or Morris sweep first)", file=sys.stderr)
        return 2
    print(markdown(pd.read_csv(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
