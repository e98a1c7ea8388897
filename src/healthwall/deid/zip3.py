"""ZIP3 tables for Safe Harbor (45 CFR 164.514(b)(2)(i)(B)).

The first three ZIP digits may be kept only when the area they cover holds more than 20,000
people; otherwise they become ``000``. Two versioned tables are built in:

* ``census-2010`` (default): derived from ``data/zip3_population_2010.csv`` (2010 Census ZCTA
  populations summed by prefix); restricted = population <= 20,000.
* ``hhs-2000``: the list HHS published from the 2000 Census.

Under both, a prefix absent from the 2010 population table also becomes ``000``: there is no
evidence it covers more than 20,000 people.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cache

from healthwall.data import data_path
from healthwall.errors import ConfigError

POPULATION_FILE = "zip3_population_2010.csv"
THRESHOLD = 20_000

#: HHS's published list of restricted prefixes (2000 Census), from the de-identification guidance.
_HHS_2000_LIST = "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893"
HHS_2000_RESTRICTED: frozenset[str] = frozenset(_HHS_2000_LIST.split(" "))


@dataclass(frozen=True)
class Zip3Table:
    """A named, versioned ZIP3 table: which prefixes may be kept."""

    name: str
    sha256: str  # digest of the source it was derived from
    restricted: frozenset[str]  # prefixes that must become 000
    known: frozenset[str]  # prefixes present in the population table

    @property
    def allowed(self) -> frozenset[str]:
        """Prefixes that may be released as they are."""
        return self.known - self.restricted


@cache
def _population() -> tuple[dict[str, int], str]:
    path = data_path(POPULATION_FILE)
    raw = path.read_bytes()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {row["zip3"].zfill(3): int(row["population"]) for row in csv.DictReader(handle)}
    return rows, hashlib.sha256(raw).hexdigest()


@cache
def zip3_table(name: str = "census-2010") -> Zip3Table:
    """The ZIP3 table called ``name`` (``census-2010`` or ``hhs-2000``)."""
    population, digest = _population()
    known = frozenset(population)
    if name == "census-2010":
        restricted = frozenset(z for z, n in population.items() if n <= THRESHOLD)
        return Zip3Table(name, digest, restricted, known)
    if name == "hhs-2000":
        listed = hashlib.sha256(" ".join(sorted(HHS_2000_RESTRICTED)).encode()).hexdigest()
        return Zip3Table(name, listed, HHS_2000_RESTRICTED, known)
    raise ConfigError(
        f"zip table {name!r} is unknown (use census-2010 or hhs-2000)", field="zip_table"
    )


ZIP_TABLES = ("census-2010", "hhs-2000")
