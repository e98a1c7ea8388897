"""Build the reference tables shipped in ``src/healthwall/data`` from PyPI packages.

Run in a throwaway environment (these packages are build-time only; healthwall never imports them)::

    python -m venv /tmp/buildenv
    /tmp/buildenv/bin/pip install zipcodes==3.0.0 names==0.3.0 simple-icd-10-cm==1.5.0
    /tmp/buildenv/bin/python tools/build_data.py

Outputs (gzip CSV, deterministic: rows sorted, gzip mtime 0):

* ``zip5.csv.gz``: zip, city, county, state, zip3, zip_type for active US ZIP codes with a county
  (``zipcodes``, MIT; data from the USPS via the package).
* ``names_first.csv.gz`` / ``names_last.csv.gz``: 1990 US Census name frequency files
  (shipped in ``names``, MIT; the Census files are public domain).
* ``icd10cm_chapters.csv.gz``, ``icd10cm_blocks.csv.gz``, ``icd10cm_codes.csv.gz``: ICD-10-CM
  (April 2026 release, CDC/NCHS, public domain) through ``simple-icd-10-cm`` (MIT).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "healthwall" / "data"
STATES = {  # the 50 states, DC and Puerto Rico (the ZIP3 population table covers these)
    *[
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "PR",
    ]
}


def write_csv(name: str, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with (OUT / name).open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    print(f"{name}: {len(rows)} rows", file=sys.stderr)


def build_zip5() -> None:
    import zipcodes

    rows = [
        [z["zip_code"], z["city"], z["county"], z["state"], z["zip_code"][:3], z["zip_code_type"]]
        for z in zipcodes.list_all()
        if z["active"] and z["country"] == "US" and z["county"] and z["state"] in STATES
    ]
    rows.sort()
    write_csv("zip5.csv.gz", ["zip", "city", "county", "state", "zip3", "zip_type"], rows)


def _read_names(package_file: str) -> list[tuple[str, float, int]]:
    text = resources.files("names").joinpath(package_file).read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        name, freq, _cum, rank = line.split()
        out.append((name.title(), float(freq), int(rank)))
    return out


def build_names() -> None:
    first: list[list[str]] = []
    for sex, fname in (("F", "dist.female.first"), ("M", "dist.male.first")):
        first += [[sex, n, f"{f:.3f}", str(r)] for n, f, r in _read_names(fname) if f > 0]
    write_csv("names_first.csv.gz", ["sex", "name", "percent", "rank"], first)
    last = [[n, f"{f:.3f}", str(r)] for n, f, r in _read_names("dist.all.last") if f > 0]
    write_csv("names_last.csv.gz", ["name", "percent", "rank"], last)


def build_icd10() -> None:
    import simple_icd_10_cm as cm

    all_codes = cm.get_all_codes(True)
    chapters = [c for c in all_codes if cm.is_chapter(c)]
    chapter_rows = []
    for ch in chapters:
        title = cm.get_description(ch)
        match = re.search(r"\(([A-Z0-9]{3})-([A-Z0-9]{3})\)\s*$", title)
        first, last = (match.group(1), match.group(2)) if match else ("", "")
        clean = re.sub(r"\s*\([A-Z0-9]{3}-[A-Z0-9]{3}\)\s*$", "", title)
        chapter_rows.append([ch, f"{first}-{last}", first, last, clean])
    write_csv(
        "icd10cm_chapters.csv.gz", ["chapter", "range", "first", "last", "title"], chapter_rows
    )

    block_rows = []
    for b in dict.fromkeys(c for c in all_codes if cm.is_block(c)):
        first, _, last = b.partition("-")
        block_rows.append([b, cm.get_ancestors(b)[-1], first, last or first, cm.get_description(b)])
    write_csv("icd10cm_blocks.csv.gz", ["block", "chapter", "first", "last", "title"], block_rows)

    code_rows = []
    seen: set[str] = set()
    for c in all_codes:
        if c in seen or not cm.is_category_or_subcategory(c):
            continue
        seen.add(c)
        anc = cm.get_ancestors(c)
        chapter, block = anc[-1], anc[-2]
        category = c if cm.is_category(c) else c.split(".")[0]
        leaf = "1" if cm.is_leaf(c) else "0"
        code_rows.append([c, category, block, chapter, leaf, cm.get_description(c)])
    write_csv(
        "icd10cm_codes.csv.gz",
        ["code", "category", "block", "chapter", "billable", "description"],
        code_rows,
    )


if __name__ == "__main__":
    build_zip5()
    build_names()
    build_icd10()
