"""The benchmark's building blocks (the figures themselves are in benchmarks/RESULTS.md)."""

from sim.experiments import bench


def test_throughput_table_has_both_engines_and_their_ratio():
    rows = bench.throughput([300], [300, 600], min_seconds=0.05, log=lambda *_: None)
    by_n = {r["members"]: r for r in rows}
    assert set(by_n) == {300, 600}
    r = by_n[300]
    assert r["agents_agent_steps_per_s"] > 0 and r["kernel_agent_steps_per_s"] > 0
    assert abs(r["ratio"] - r["kernel_agent_steps_per_s"] / r["agents_agent_steps_per_s"]) < 1e-9
    assert "agents_steps_per_s" not in by_n[600] and by_n[600]["edge_pass_ms"] > 0


def test_nowak_may_table_runs_mesa_pd_grid_and_the_kernel():
    (row,) = bench.nowak_may_vs_pd_grid([12], min_seconds=0.05, log=lambda *_: None)
    assert row["lattice"] == "12x12" and row["pd_grid_steps_per_s"] > 0 and row["kernel_steps_per_s"] > 0


def test_memory_probe_runs_in_a_fresh_process():
    (row,) = bench.memory([20_000], [2], log=lambda *_: None)
    assert row["peak_mib"] > 50 and row["members"] == 20_000


def test_markdown_table():
    text = bench.markdown_table([{"a": 1, "b": 2.5}, {"a": 3}])
    assert text.splitlines()[0] == "| a | b |" and "| 3 |  |" in text


def test_bench_refuses_a_bad_markdown_path(capsys):
    from sim.cli import main

    assert main(["bench", "--quick", "--markdown", "/no/such/dir/x.md"]) == 2
    assert "--markdown" in capsys.readouterr().err


def test_bench_prints_aligned_tables_not_key_value_pairs():
    from sim.experiments import bench

    bench._printed.discard("nowak_may")
    lines = []
    bench.nowak_may_vs_pd_grid([12], min_seconds=0.05, log=lines.append)
    text = "\n".join(lines).splitlines()
    assert text[0].split() == list(bench.COLUMNS["nowak_may"])
    assert "=" not in text[1] and text[1].split()[0] == "12x12"
    assert len(text[0]) == len(text[1])


def test_a_column_never_mixes_exponents_with_plain_numbers():
    """`bench` printed 808,409 above 4.11e+06 in one column (exponents from 10^6 on)."""
    from sim.experiments.bench import _fmt

    for v in (808_409.0, 4_112_345.0, 6e6, 2.4e9, 0.0012, 1e-7, 0.5, 12.345, 0.0):
        assert "e" not in _fmt(v), v
    assert _fmt(808_409.0) == "808,409" and _fmt(4_112_345.0) == "4,112,345"
    assert _fmt(12.345) == "12.35" and _fmt(0.0012) == "0.0012"
