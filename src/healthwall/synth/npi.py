"""National Provider Identifiers: Luhn check digits with the 80840 prefix (CMS NPI standard).

An NPI is 9 digits plus a check digit computed by the Luhn formula over the 15 digits
``80840`` + the 9 digits; the prefix contributes the constant 24 to the Luhn sum.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def npi_check_digits(base: IntArray) -> IntArray:
    """Check digits of 9-digit NPI bases (vectorized)."""
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10  # most significant first
    doubled = digits[:, 0::2] * 2  # positions 1,3,5,7,9: doubled (the check digit follows)
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = 24 + doubled.sum(axis=1) + digits[:, 1::2].sum(axis=1)
    return np.asarray((10 - total % 10) % 10, dtype=np.int64)


def make_npis(base: IntArray) -> IntArray:
    """Full 10-digit NPIs (as integers) from 9-digit bases."""
    return np.asarray(base * 10 + npi_check_digits(base), dtype=np.int64)


def npi_is_valid(npi: str) -> bool:
    """Whether a string is a 10-digit NPI whose check digit is right (plain Luhn over 80840+NPI)."""
    if len(npi) != 10 or not npi.isdigit() or npi[0] not in "12":
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0
