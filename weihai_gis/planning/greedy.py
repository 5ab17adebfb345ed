"""Greedy heuristics for siting instances too large for the exact MILP.

Each step opens the candidate with the largest marginal gain: newly covered population (uncapacitated), or
``min(capacity, unserved demand in reach)`` (capacitated, the site then takes that much demand from the
origins in reach in proportion to what they still lack). The caller evaluates the chosen set exactly and
reports the gap to the LP-relaxation bound (:mod:`weihai_gis.planning.siting`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

if TYPE_CHECKING:
    from weihai_gis.planning.siting import SitingProblem

__all__ = ["greedy_maximal_covering", "greedy_set_covering"]


def _steps(
    prob: SitingProblem, gcover: csr_matrix, gweight: npt.NDArray[np.float64]
) -> Iterator[tuple[int, float]]:
    """Yield (site, gain) in greedy order until no candidate adds anything."""
    cand = prob.candidates
    by_site = gcover.T.tocsr().astype(float)  # sites × groups
    remaining = gweight.astype(float).copy()
    if prob.capacitated:
        cap = np.asarray(prob.capacity, dtype=float).copy()
        # existing sites serve first, in order, proportionally to what their groups still lack
        for s in np.flatnonzero(prob.existing):
            _take(by_site, int(s), cap[s], remaining)
    is_cand = np.zeros(gcover.shape[1], dtype=bool)
    is_cand[cand] = True
    while True:
        reach = by_site @ remaining
        gain = np.minimum(reach, cap) if prob.capacitated else reach
        gain = np.where(is_cand, gain, -1.0)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            return
        is_cand[j] = False
        if prob.capacitated:
            _take(by_site, j, cap[j], remaining)
        else:
            row = by_site.indices[by_site.indptr[j] : by_site.indptr[j + 1]]
            remaining[row] = 0.0
        yield j, float(gain[j])


def _take(by_site: csr_matrix, j: int, capacity: float, remaining: npt.NDArray[np.float64]) -> None:
    """Serve up to ``capacity`` of the remaining demand of site ``j``'s groups, proportionally."""
    row = by_site.indices[by_site.indptr[j] : by_site.indptr[j + 1]]
    want = remaining[row].sum()
    if want <= 0:
        return
    remaining[row] *= 1.0 - min(1.0, capacity / want)


def greedy_maximal_covering(
    prob: SitingProblem, gcover: csr_matrix, gweight: npt.NDArray[np.float64], k: int
) -> npt.NDArray[np.int64]:
    """Return up to ``k`` site positions in greedy order (fewer when nothing more can be gained)."""
    chosen: list[int] = []
    for j, _ in _steps(prob, gcover, gweight):
        if len(chosen) >= k:
            break
        chosen.append(j)
    return np.asarray(chosen, dtype=np.int64)


def greedy_set_covering(
    prob: SitingProblem, gcover: csr_matrix, gweight: npt.NDArray[np.float64], need: float
) -> npt.NDArray[np.int64]:
    """Return site positions in greedy order until the exactly evaluated covered weight reaches ``need``."""
    from weihai_gis.planning.siting import evaluate

    chosen: list[int] = []
    for j, _ in _steps(prob, gcover, gweight):
        chosen.append(j)
        if not prob.capacitated or len(chosen) % 8 == 0:
            covered, _ = evaluate(prob, chosen)
            if covered >= need:
                break
    if prob.capacitated:  # the greedy's proportional assignment is conservative: trim with the exact LP
        while chosen and evaluate(prob, chosen[:-1])[0] >= need:
            chosen.pop()
    return np.asarray(chosen, dtype=np.int64)
