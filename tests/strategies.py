"""Hypothesis strategies that construct valid small scenarios (as override dicts)."""

from hypothesis import strategies as st

KINDS = ["lattice", "ring", "watts_strogatz", "barabasi_albert", "erdos_renyi", "sbm", "complete"]


@st.composite
def network_overrides(draw):
    kind = draw(st.sampled_from(KINDS))
    o = {"network.kind": kind}
    if kind == "lattice":
        w, h = draw(st.integers(3, 9)), draw(st.integers(3, 9))
        o.update({"network.width": w, "network.height": h, "population.size": w * h,
                  "network.neighborhood": draw(st.sampled_from(["moore", "von_neumann"])),
                  "network.periodic": draw(st.booleans())})
    else:
        # now and then a community large enough for one meeting above stages.LARGE_MEETING (64)
        n = draw(st.one_of(st.integers(12, 70), st.integers(66, 90)))
        o["population.size"] = n
        o["network.degree"] = draw(st.integers(2, min(8, n - 1)))
        if kind == "sbm":
            # each group must be able to hold the ties inside it
            o["network.groups"] = draw(st.integers(1, max(1, min(4, n // (o["network.degree"] + 2)))))
    o["network.self_interaction"] = draw(st.booleans())
    return o


@st.composite
def scenarios(draw, psychology=None):
    """Override dicts for small scenarios with every toggle drawn."""
    o = draw(network_overrides())
    psych = draw(st.booleans()) if psychology is None else psychology
    o.update({
        "seed": draw(st.integers(0, 2**32)),
        "steps": draw(st.integers(3, 14)),
        "psychology.enabled": psych,
        "checkins.enabled": draw(st.booleans()),
        "sponsorship.enabled": draw(st.booleans()),
        "isolation.enabled": draw(st.booleans()),
        "isolation.start": draw(st.integers(0, 5)),
        "isolation.duration": draw(st.integers(0, 8)),
        "isolation.share": draw(st.floats(0, 1)),
        "evolution.enabled": draw(st.booleans()),
        "evolution.rule": draw(st.sampled_from(["fermi", "imitate_best", "death_birth"])),
        "evolution.interval": draw(st.integers(1, 3)),
        "evolution.mutation": draw(st.sampled_from([0.0, 0.05])),
        "turnover.enabled": draw(st.booleans()),
        "turnover.crisis_days": draw(st.integers(1, 5)),
        "turnover.leave_prob": draw(st.sampled_from([0.0, 0.02])),
        "ties.dynamic": draw(st.booleans()),
        "ties.form_prob": draw(st.floats(0, 1)),
        "population.initial_helpers": draw(st.floats(0, 1)),
        "population.initial_using": draw(st.floats(0, 0.3)),
        "population.newcomer_share": draw(st.floats(0, 1)),
        "meetings.size": draw(st.one_of(st.integers(2, 30), st.just(90))),
        "ties.extra_slots": draw(st.sampled_from([0, 1, 2, 8])),  # small: slots fill up
        "evolution.revision_share": draw(st.sampled_from([1.0, 1.0, 0.5, 0.1])),
        "evolution.wellbeing_weight": draw(st.sampled_from([0.0, 1.0])),
        "sponsorship.min_sober_days": draw(st.integers(0, 400)),
        "psychology.shock_prob": draw(st.floats(0, 0.3)),
        "psychology.lapse_max": draw(st.floats(0, 0.5)),
        "psychology.scarcity_stress": draw(st.sampled_from([0.0, 0.05])),
        "population.burn_in": draw(st.sampled_from([0, 0, 3, 8])),
        "attendance.propensity_a": draw(st.floats(0.5, 4)),
        "attendance.propensity_b": draw(st.floats(0.5, 4)),
        "checkins.capacity": draw(st.sampled_from([1, 2, 1000])),
        "checkins.readiness_a": draw(st.floats(0.5, 4)),
        "checkins.readiness_b": draw(st.floats(0.5, 4)),
        "checkins.prob": draw(st.floats(0.3, 1)),
        "checkins.effect_days": draw(st.sampled_from([1.0, 1.0, 3.5, 30.0])),
        "attendance.rhythm": draw(st.booleans()),
        "psychology.saturating": draw(st.booleans()),
        "psychology.help_acts": draw(st.booleans()),
        "turnover.newcomer_tie": draw(st.booleans()),
        "attendance.weekly_mean": draw(st.floats(1, 7)),
        "attendance.newcomer_weekly": draw(st.integers(1, 7)),
        "attendance.show": draw(st.floats(0.3, 1)),
        "sponsorship.ask_prob": draw(st.sampled_from([1.0, 0.3])),
        "turnover.newcomer_strategy": draw(st.sampled_from(["initial", "mix"])),
        "recovery.enabled": draw(st.booleans()),
        "recovery.lapse_loss": draw(st.floats(0, 1)),
        "recovery.build": draw(st.floats(0, 0.05)),
    })
    offered = [k for k in ("checkins", "sponsorship") if o[f"{k}.enabled"]]
    if offered and draw(st.booleans()):  # a trial of a mechanism that is on (7.13)
        o.update({"trial.enabled": True, "trial.intervention": draw(st.sampled_from(offered)),
                  "trial.design": draw(st.sampled_from(["individual", "meetings"])),
                  "trial.share": draw(st.sampled_from([0.5, 0.3]))})
    return o
