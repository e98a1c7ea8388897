"""US ZIP codes: the ZIP5 -> city/county/state table and 2010 Census ZIP3 populations.

* ``zip5.csv.gz``: zip, city, county, state, zip3, zip_type (STANDARD, PO BOX, UNIQUE) for active
  ZIP codes of the 50 states, DC and Puerto Rico (USPS data through the ``zipcodes`` package,
  extracted by ``tools/build_data.py``). City is the USPS preferred city name; county is the
  county (or county-equivalent) name with its suffix, e.g. "Suffolk County".
* ``zip3_population_2010.csv``: population of each 3-digit prefix, 2010 Census.

The (state, county) pairs (:func:`counties`) are a public key set: they come from this table, not
from any data set, so aggregates keyed by county can list them without revealing which occur.
"""

from __future__ import annotations

import csv
from functools import lru_cache

import pyarrow as pa

from healthwall.data import data_path
from healthwall.data._tables import arrow, rows

ZIP5_FILE = "zip5.csv.gz"
ZIP3_POPULATION_FILE = "zip3_population_2010.csv"


@lru_cache(maxsize=1)
def zip3_population() -> dict[str, int]:
    """3-digit ZIP prefix -> 2010 Census population (894 prefixes incl. Puerto Rico)."""
    with data_path(ZIP3_POPULATION_FILE).open(encoding="utf-8", newline="") as fh:
        return {r["zip3"]: int(r["population"]) for r in csv.DictReader(fh)}


def zip5_table() -> pa.Table:
    """zip, city, county, state, zip3, zip_type (all strings; ~41k rows)."""
    return arrow(ZIP5_FILE)


@lru_cache(maxsize=1)
def zip5_index() -> dict[str, tuple[str, str, str]]:
    """ZIP5 -> (city, county, state), for lookups one code at a time."""
    return {r["zip"]: (r["city"], r["county"], r["state"]) for r in rows(ZIP5_FILE)}


def counties() -> list[tuple[str, str]]:
    """Every (state, county) pair of the ZIP table, sorted: the public county key set."""
    return sorted({(r["state"], r["county"]) for r in rows(ZIP5_FILE)})


def states() -> list[str]:
    """Every state code of the ZIP table (50 states, DC, PR), sorted."""
    return sorted({r["state"] for r in rows(ZIP5_FILE)})
