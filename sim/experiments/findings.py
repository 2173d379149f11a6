"""Plain sentences generated from an estimate and its interval: which way, how big, how sure.

Every sentence a reader sees beside a comparison's numbers comes from here,
so no sentence can say "more" where the numbers say "fewer", and an interval
that includes no difference is said to do so. The verdict is drawn from the
figures as they are shown (rounded to the digits printed): a sentence never
says "more" beside two figures that read the same, nor "the whole interval is
above zero" beside an interval shown as starting at 0.0. The dashboard's
Compare tab and trial view and the trainer's handout use it; tests/test_findings.py
checks it on synthetic results of both signs and of no clear direction.
"""

from __future__ import annotations

import math


def _fmt(v: float, digits: int) -> str:
    return f"{abs(v):,.{digits}f}"


def _known(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def shown(v: float, digits: int) -> float:
    """``v`` as a reader sees it printed with ``digits`` decimals (-0.0 read as 0)."""
    return round(float(v), digits) + 0.0 if _known(v) else v


def difference(subject: str, measure: str, estimate: float, low: float, high: float, n: int, *,
               more: str = "more", fewer: str = "fewer", reference: float | None = None,
               digits: int = 1, runs: str = "paired runs", than: str = "") -> str:
    """One sentence on a difference (B - A) and its 95% interval.

    ``subject`` names B against A ("Without check-ins, members had"); ``measure`` what is counted
    ("relapses per 100 members a year"); ``reference`` A's mean (then the size is also given as a share
    of it); ``than`` names A ("with check-ins"): "... than with check-ins", or "compared with ..." when
    the interval shows no direction. The direction is read from the figures rounded to ``digits``.

    >>> difference("Without check-ins, members had", "relapses per 100 members a year", 6.7, 4.8, 8.6, 12)
    'Without check-ins, members had more relapses per 100 members a year: 6.7 more (95% interval 4.8 to 8.6 more, 12 paired runs). The whole interval is above zero, so these runs show an increase.'
    """
    if not _known(estimate):
        return f"{subject} no {measure} to compare."
    estimate, low, high = (shown(v, digits) for v in (estimate, low, high))
    size = _fmt(estimate, digits)
    share = ""
    if reference is not None and _known(reference) and shown(reference, digits) > 0 and estimate != 0:
        ref = shown(reference, digits)
        share = f", {abs(estimate) / ref:.0%} {more if estimate > 0 else fewer} than {_fmt(ref, digits)}"
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
    """One sentence on a ratio (1 = no difference), such as a hazard ratio and its 95% interval, read from
    the figures rounded to ``digits``.

    ``above``/``below``: what a ratio above/below 1 means ("came back sooner"/"came back later").

    >>> ratio("Members offered check-ins", 1.47, 1.2, 1.8, above="came back sooner", below="came back later")
    'Members offered check-ins came back sooner: at 1.47 times the rate (95% interval 1.20 to 1.80). The whole interval is above 1, so these runs show it.'
    """
    if not _known(estimate):
        return f"{subject}: no estimate."
    estimate, low, high = (shown(v, digits) for v in (estimate, low, high))
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


def largest(items: list[tuple[str, tuple[float, float, float]]], measure: str, digits: int = 1,
            what: str = "design") -> str:
    """Which of several estimates (each ``(name, (estimate, low, high))``) of the same measure is largest,
    over every one given, read from the figures rounded to ``digits``; whether its interval lies above all
    the others' (only then do the data say that it finds a larger effect).

    >>> largest([("randomising members", (7.2, 3.3, 11.1)), ("randomising meetings", (5.0, 2.0, 8.0)), ("the whole community both ways", (4.0, 1.4, 6.2))], "fewer relapses per 100 member-years")
    'Randomising members gave the largest estimate, 7.2 fewer relapses per 100 member-years (3.3 to 11.1), against 5.0 (2.0 to 8.0) for randomising meetings and 4.0 (1.4 to 6.2) for the whole community both ways; the intervals overlap, so these runs do not show that one design finds a larger effect than the others.'
    """
    rows = [(name, tuple(shown(v, digits) for v in est)) for name, est in items]
    if len(rows) < 2 or not all(_known(e) for _, (e, _, _) in rows):
        return "No estimates to compare: " + ", ".join(name for name, _ in rows) + "."
    f = lambda v: f"{v:,.{digits}f}"  # noqa: E731
    rows.sort(key=lambda r: -r[1][0])
    (n1, (e1, l1, h1)), rest = rows[0], rows[1:]
    cap = n1[:1].upper() + n1[1:]
    others_list = [f"{f(e)} ({f(lo)} to {f(hi)}) for {name}" for name, (e, lo, hi) in rest]
    others = others_list[0] if len(others_list) == 1 else ", ".join(others_list[:-1]) + " and " + others_list[-1]
    tie = [name for name, (e, _, _) in rest if e == e1]
    others_word = "the other" if len(rest) == 1 else "the others"
    if tie:
        lead = f"{cap} and {', '.join(tie)} gave the same estimate, {f(e1)} {measure}"
        text = f"{lead} ({f(l1)} to {f(h1)}), against {others}"
        return text + f"; these runs do not show that one {what} finds a larger effect than {others_word}."
    text = f"{cap} gave the largest estimate, {f(e1)} {measure} ({f(l1)} to {f(h1)}), against {others}"
    if not _known(l1, h1) or not all(_known(lo, hi) for _, (_, lo, hi) in rest):
        return text + "; without intervals these runs cannot tell them apart."
    if all(l1 > hi for _, (_, _, hi) in rest):
        return text + f"; its interval lies above {'the other' if len(rest) == 1 else 'all the others'}."
    return text + (f"; the intervals overlap, so these runs do not show that one {what} finds a larger effect "
                   f"than {others_word}.")


def which_larger(name_a: str, a: tuple[float, float, float], name_b: str, b: tuple[float, float, float],
                 measure: str, digits: int = 1) -> str:
    """:func:`largest` of two."""
    return largest([(name_a, a), (name_b, b)], measure, digits)


def plainly(count: str, without: float, with_: float, label_without: str, label_with: str,
            estimate: float, low: float, high: float, n: int, *, more: str = "more", fewer: str = "fewer",
            digits: int = 0) -> str:
    """The "put plainly" line: two counts a trainer can picture, then the difference and how sure the runs
    are of its direction (the interval in the same words, or that they do not make it clear); every figure
    rounded to ``digits`` and the verdict read from the rounded figures.

    >>> plainly("relapses for every 100 members followed for a year", 41.2, 37.1, "without check-ins", "with them", 4.0, 1.4, 6.2, 8)
    'Put plainly: about 41 relapses for every 100 members followed for a year without check-ins, and about 37 with them: about 4 more without (the runs put it between 1 and 6 more; average of 8 runs of the simulation).'
    """
    if not _known(without, with_, estimate):
        return "Put plainly: these runs have no figures to compare."
    w0, w1 = shown(without, digits), shown(with_, digits)
    e, lo, hi = (shown(v, digits) for v in (estimate, low, high))
    f = lambda v: f"{abs(v):,.{digits}f}"  # noqa: E731
    head = f"Put plainly: about {f(w0)} {count} {label_without}, and about {f(w1)} {label_with}"
    avg = f"average of {n} runs of the simulation"
    if not _known(lo, hi) or n < 2:
        return head + f" ({avg}); too few runs to say how sure that is."
    span = lambda a, b, word: (f"the runs put it at {f(a)} {word}" if a == b  # noqa: E731
                               else f"the runs put it between {f(a)} and {f(b)} {word}")
    if lo > 0:
        return head + f": about {f(e)} {more} without ({span(lo, hi, more)}; {avg})."
    if hi < 0:
        return head + f": about {f(e)} {fewer} without ({span(hi, lo, fewer)}; {avg})."
    word = lambda v: "no difference" if v == 0 else f"{f(v)} {more if v > 0 else fewer}"  # noqa: E731
    return head + (f" ({avg}). The runs do not make clear which way it goes: without, the difference could be "
                   f"anything from {word(lo)} to {word(hi)}.")
