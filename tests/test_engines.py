"""The two engines agree exactly: same scenario and seed, same bits.

Hypothesis generates scenarios with every toggle, every network kind and the
classic games; both engines step side by side and every member's state, the
ties, the metrics and the members table must be identical at every step (no
tolerance: both engines call the same compiled rules and random draws and
sum over neighbours in the same order).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
from hypothesis import given, settings

import sim
from sim.engines.kernel import KernelModel
from sim.engines.agents import MutualAidModel
from sim.core.scenarios import load_scenario

from .strategies import scenarios


def assert_same_run(sc):
    agents, kernel = MutualAidModel(sc), KernelModel(sc)
    for step in range(sc.steps + 1):
        if step:
            agents.step()
            kernel.step()
        a, k = agents.state_arrays(), kernel.state_arrays()
        for name in a:
            assert np.array_equal(a[name], k[name]), f"{name} differs at step {step}"
        for x, y in zip(agents.tie_arrays(), kernel.tie_arrays()):
            assert np.array_equal(x, y), f"ties differ at step {step}"
    pd.testing.assert_frame_equal(agents.metrics_frame(), kernel.metrics_frame(), check_exact=True)
    pd.testing.assert_frame_equal(agents.members_frame(), kernel.members_frame(), check_exact=True)
    return agents


@settings(max_examples=120)
@given(o=scenarios())
def test_engines_agree_on_generated_scenarios(o):
    assert_same_run(load_scenario(None, o))


@settings(max_examples=20)
@given(o=scenarios(psychology=False))
def test_engines_agree_on_classic_games(o):
    o = dict(o, **{"evolution.enabled": True, "ties.initial_weight": 1.0})
    assert_same_run(load_scenario(None, o))


def test_engines_agree_on_shipped_scenarios_for_a_while():
    for name, small in [("baseline", {"population.size": 300}),
                        ("isolation-with-checkins", {"population.size": 300, "isolation.start": 20}),
                        ("struggle", {"population.size": 80}),
                        ("kropotkin", {"network.width": 16, "network.height": 16}),
                        ("nowak-may-1992", {"network.width": 20, "network.height": 20})]:
        sc = load_scenario(name, dict(small, steps=80))
        model = assert_same_run(sc)
        assert model.metrics_frame()["step"].iloc[-1] == 80


def test_engines_agree_on_an_edgelist(tmp_path):
    rng = np.random.default_rng(0)
    edges = {(int(a), int(b)) for a, b in rng.integers(0, 40, size=(120, 2)) if a != b}
    path = tmp_path / "ties.txt"
    path.write_text("# i j\n" + "\n".join(f"{a} {b}" for a, b in sorted(edges)) + "\n")
    sc = load_scenario(None, {"network.kind": "edgelist", "network.path": str(path),
                              "population.size": 40, "steps": 30})
    assert_same_run(sc)


SCRIPT = textwrap.dedent("""
    import sys, hashlib
    import numba
    import sim
    sim.set_threads(numba.config.NUMBA_NUM_THREADS)  # every thread it has (by size, 3,000 members take one)
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    r = sim.run("baseline", engine="kernel", steps=40, set={"population.size": 3000})
    print(hashlib.sha256(r.metrics.to_csv().encode()).hexdigest())
""")


def test_kernel_results_do_not_depend_on_the_thread_count():
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                             check=True)
        out.append(res.stdout.strip())
    assert out[0] == out[1] and len(out[0]) == 64


def test_threads_follow_the_community_size_unless_chosen():
    """Small communities run on one thread (waking a second for each of a day's loops cost 8x at 500
    members); the count a user chooses wins; a run's numbers are the same either way."""
    import numba

    from sim.core import threads

    cores = numba.config.NUMBA_NUM_THREADS
    assert threads.count_for(500) == 1 and threads.count_for(threads.MEMBERS_PER_THREAD - 1) == 1
    assert threads.count_for(10**7) == cores
    sc = load_scenario("baseline", {"population.size": 300, "population.burn_in": 5, "steps": 4})
    by_size = sim.run(sc, engine="kernel").metrics
    assert numba.get_num_threads() == 1
    threads.choose(cores)
    assert threads.count_for(500) == cores
    chosen = sim.run(sc, engine="kernel").metrics
    assert numba.get_num_threads() == cores
    pd.testing.assert_frame_equal(by_size, chosen)
    threads.choose(1, this_thread=True)  # a dashboard session's own choice wins in its thread
    assert threads.count_for(10**7) == 1
