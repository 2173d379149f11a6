"""Agent-level output: one row per member per day (``--member-days``, ``sim.run(member_days=True)``)."""

import numpy as np
import pandas as pd

import sim
from sim.cli import main
from sim.core.members import DAY_COLUMNS, MAX_MEMBER_DAY_ROWS

SMALL = {"population.size": 60, "population.burn_in": 30, "recovery.enabled": True}


def test_member_days_has_a_row_per_member_per_day_and_matches_the_state_on_both_engines():
    runs = {e: sim.run("baseline", engine=e, steps=12, set=SMALL, member_days=True, members=True)
            for e in ("agents", "kernel")}
    md = runs["kernel"].member_days
    assert list(md.columns) == list(DAY_COLUMNS)
    assert len(md) == 60 * 13 and md["step"].tolist() == sorted(md["step"].tolist())
    pd.testing.assert_frame_equal(md, runs["agents"].member_days)
    # the last day is the final state; attendance and use agree with the daily metrics
    last = md[md["step"] == 12]
    comm = runs["kernel"].model.community
    assert np.array_equal(last["stress"].to_numpy(), comm["stress"].astype(np.float32))
    assert np.array_equal(last["id"].to_numpy(), comm["member_id"])
    per_day = md.groupby("step")["attended"].mean()
    m = runs["kernel"].metrics.set_index("step")
    assert np.allclose(per_day.loc[1:].to_numpy(), m["attendance"].loc[1:].to_numpy())
    assert np.allclose(md.groupby("step")["using"].mean().to_numpy(), m["using"].to_numpy())
    # a sponsor is a member id present that day
    day = md[md["sponsor"].notna()]
    for step, rows in day.groupby("step"):
        assert set(rows["sponsor"].astype(int)) <= set(md.loc[md["step"] == step, "id"])
    # members who leave and newcomers who join both appear under their own ids
    assert md["id"].nunique() == len(runs["kernel"].members)


def test_cli_member_days_writes_the_file_and_refuses_too_many_rows(tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["run", "baseline", "--steps", "5", "--set", "population.size=40", "--member-days", "--out",
               str(out), "--quiet"])
    assert rc == 0
    md = pd.read_parquet(out / "member_days.parquet")
    assert len(md) == 40 * 6 and set(DAY_COLUMNS) == set(md.columns)
    capsys.readouterr()
    big = MAX_MEMBER_DAY_ROWS // 1000 + 1
    rc = main(["run", "baseline", "--steps", "999", "--set", f"population.size={big}", "--member-days",
               "--out", str(tmp_path / "big")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--member-days" in err[0] and "20,000,000" in err[0]
    assert not (tmp_path / "big").exists() or not any((tmp_path / "big").iterdir())
