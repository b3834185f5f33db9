"""An attacker's arithmetic, written independently of `reports.disclosure`: what a partner can work out exactly by
adding and subtracting the figures it reads.

A figure is a vector over the closed measures (those whose money partners do not see); the figures a partner reads
span a space (exact rational arithmetic, reduced row echelon form); a withheld figure is exposed exactly when its
vector lies in that space.
"""

from fractions import Fraction


class Span:
    """The rational span of 0/1 vectors (sets of closed measures), kept in reduced row echelon form."""

    def __init__(self):
        self.rows: dict = {}  # pivot column -> {column: coefficient}, coefficient 1 at the pivot, 0 at other pivots

    def _reduce(self, vector: dict) -> dict:
        vector = {k: Fraction(v) for k, v in vector.items() if v}
        for pivot, row in self.rows.items():
            factor = vector.get(pivot)
            if factor:
                for column, value in row.items():
                    vector[column] = vector.get(column, 0) - factor * value
                vector = {k: v for k, v in vector.items() if v}
        return vector

    def add(self, members) -> None:
        rest = self._reduce(dict.fromkeys(members, 1))
        if not rest:
            return
        pivot = min(rest, key=repr)
        scale = rest[pivot]
        rest = {k: v / scale for k, v in rest.items()}
        for other, row in self.rows.items():
            factor = row.get(pivot)
            if factor:
                for column, value in rest.items():
                    row[column] = row.get(column, 0) - factor * value
                self.rows[other] = {k: v for k, v in row.items() if v}
        self.rows[pivot] = rest

    def contains(self, members) -> bool:
        """Whether the sum over these measures can be worked out from the figures added."""
        return not self._reduce(dict.fromkeys(members, 1))
