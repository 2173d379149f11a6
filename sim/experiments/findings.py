"""Plain sentences generated from an estimate and its interval: which way, how big, how sure.

Every sentence a reader sees beside a comparison's numbers comes from here,
so no sentence can say "more" where the numbers say "fewer", and an interval
that includes no difference is said to do so. The dashboard's Compare tab and
trial view use it (dashboards/support.py); tests/test_findings.py checks it on
synthetic results of both signs and of no difference.
"""

from __future__ import annotations

import math


def _fmt(v: float, digits: int) -> str:
    return f"{abs(v):,.{digits}f}"


def _known(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def difference(subject: str, measure: str, estimate: float, low: float, high: float, n: int, *,
               more: str = "more", fewer: str = "fewer", reference: float | None = None,
               digits: int = 1, runs: str = "paired runs", than: str = "") -> str:
    """One sentence on a difference (B - A) and its 95% interval.

    ``subject`` names B against A ("Without check-ins, members had"); ``measure`` what is counted
    ("relapses per 100 members a year"); ``reference`` A's mean (then the size is also given as a share
    of it); ``than`` names A ("with check-ins"): "... than with check-ins", or "compared with ..." when
    the interval shows no direction.

    >>> difference("Without check-ins, members had", "relapses per 100 members a year", 6.7, 4.8, 8.6, 12)
    'Without check-ins, members had more relapses per 100 members a year: 6.7 more (95% interval 4.8 to 8.6 more, 12 paired runs). The whole interval is above zero, so these runs show an increase.'
    """
    if not _known(estimate):
        return f"{subject} no {measure} to compare."
    size = _fmt(estimate, digits)
    share = ""
    if reference is not None and _known(reference) and reference > 0 and estimate != 0:
        share = f", {abs(estimate) / reference:.0%} {more if estimate > 0 else fewer} than {_fmt(reference, digits)}"
    if n < 2 or not _known(low, high):
        way = more if estimate > 0 else fewer if estimate < 0 else "the same number of"
        amount = f"{size} {way}" if estimate != 0 else "no difference"
        return (f"{subject} {amount} {measure} in {n} pair of runs{share}. One pair cannot tell a difference from "
                f"chance: run more replicates.")
    measure_than = f"{measure} than {than}" if than else measure
    if low > 0:
        return (f"{subject} {more} {measure_than}: {size} {more}{share} (95% interval {_fmt(low, digits)} to "
                f"{_fmt(high, digits)} {more}, {n} {runs}). The whole interval is above zero, so these runs show "
                f"an increase.")
    if high < 0:
        return (f"{subject} {fewer} {measure_than}: {size} {fewer}{share} (95% interval {_fmt(high, digits)} to "
                f"{_fmt(low, digits)} {fewer}, {n} {runs}). The whole interval is below zero, so these runs show "
                f"a decrease.")
    versus = f", compared with {than}" if than else ""
    return (f"{subject} {estimate:+,.{digits}f} {measure} on average{versus} (95% interval {low:+,.{digits}f} to "
            f"{high:+,.{digits}f}, {n} {runs}). The interval includes zero, so these runs do not show whether "
            f"there are {more} or {fewer}.")


def ratio(subject: str, estimate: float, low: float, high: float, *, above: str, below: str,
          digits: int = 2) -> str:
    """One sentence on a ratio (1 = no difference), such as a hazard ratio and its 95% interval.

    ``above``/``below``: what a ratio above/below 1 means ("came back sooner"/"came back later").

    >>> ratio("Members who were checked on", 1.47, 1.2, 1.8, above="came back sooner", below="came back later")
    'Members who were checked on came back sooner: at 1.47 times the rate (95% interval 1.20 to 1.80). The whole interval is above 1, so these runs show it.'
    """
    if not _known(estimate):
        return f"{subject}: no estimate."
    if not _known(low, high):
        return (f"{subject}: {estimate:.{digits}f} times the rate, without an interval; these runs cannot tell "
                f"it from chance.")
    if low > 1:
        return (f"{subject} {above}: at {estimate:.{digits}f} times the rate (95% interval {low:.{digits}f} to "
                f"{high:.{digits}f}). The whole interval is above 1, so these runs show it.")
    if high < 1:
        return (f"{subject} {below}: at {estimate:.{digits}f} times the rate (95% interval {low:.{digits}f} to "
                f"{high:.{digits}f}). The whole interval is below 1, so these runs show it.")
    return (f"{subject}: {estimate:.{digits}f} times the rate (95% interval {low:.{digits}f} to {high:.{digits}f}). "
            f"The interval includes 1, so these runs do not show whether they {above} or {below}.")


def which_larger(name_a: str, a: tuple[float, float, float], name_b: str, b: tuple[float, float, float],
                 measure: str, digits: int = 1) -> str:
    """Which of two estimates (each ``(estimate, low, high)``) of the same measure is larger, and whether
    their intervals overlap (then the data do not say that one is larger).

    >>> which_larger("Randomising members", (7.2, 3.3, 11.1), "randomising the whole community", (4.0, 1.4, 6.2), "fewer relapses per 100 member-years")
    'Randomising members gave the larger estimate, 7.2 fewer relapses per 100 member-years (3.3 to 11.1), against 4.0 (1.4 to 6.2) for randomising the whole community; the intervals overlap, so these runs do not show that one design finds a larger effect than the other.'
    """
    (ea, la, ha), (eb, lb, hb) = a, b
    if not _known(ea, eb):
        return f"{name_a} and {name_b}: no estimates to compare."
    f = lambda v: f"{v:,.{digits}f}"  # noqa: E731
    first, second = ((name_a, a), (name_b, b)) if ea >= eb else ((name_b, b), (name_a, a))
    lead = f"{first[0][:1].upper() + first[0][1:]} gave " + ("the larger estimate" if ea != eb else "the same estimate")
    (n1, (e1, l1, h1)), (n2, (e2, l2, h2)) = first, second
    text = f"{lead}, {f(e1)} {measure} ({f(l1)} to {f(h1)}), against {f(e2)} ({f(l2)} to {f(h2)}) for {n2}"
    if not _known(l1, h1, l2, h2):
        return text + "; without intervals these runs cannot tell the two apart."
    if l1 > h2:
        return text + "; the intervals do not overlap."
    return text + "; the intervals overlap, so these runs do not show that one design finds a larger effect than " \
                  "the other."
