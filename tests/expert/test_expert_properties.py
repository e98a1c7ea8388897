"""Property: an expert extract either meets its threshold per patient, within the suppression
limit, or is refused with nothing written -- whatever the data and the parameters."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthwall.errors import Refused
from healthwall.workflows.deidentify import DeidRequest, deidentify

QI = ["birth_date", "sex", "zip", "race"]

patient = st.tuples(
    st.integers(0, 20000),  # birth date offset in days
    st.sampled_from(["F", "M", "X"]),
    st.sampled_from(["02139", "02140", "03601", "99501", "10001"]),
    st.sampled_from(["White", "Black", "Asian", "Other"]),
)


def _write(people: list[tuple[int, str, str, str]], path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE p (patient_id VARCHAR, birth_date DATE, sex VARCHAR, zip VARCHAR,"
        " race VARCHAR, immigration_status VARCHAR)"
    )
    start = date(1940, 1, 1)
    con.executemany(
        "INSERT INTO p VALUES (?, ?, ?, ?, ?, 'citizen')",
        [
            (f"P{i:05d}", start + timedelta(days=d), s, z, r)
            for i, (d, s, z, r) in enumerate(people)
        ],
    )
    con.execute(f"COPY p TO '{path}' (FORMAT parquet)")
    con.close()


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(patient, min_size=1, max_size=250),
    max_risk=st.sampled_from([0.5, 0.2, 0.09, 0.05, 0.02]),
    suppression=st.sampled_from([0.0, 0.04, 0.1]),
)
def test_threshold_holds_or_refused(
    people: list[tuple[int, str, str, str]], max_risk: float, suppression: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "p.parquet", Path(tmp) / "out.parquet"
        _write(people, src)
        req = DeidRequest(
            input=str(src), output=out, profile="expert", max_risk=max_risk,
            suppression=suppression,
        )  # fmt: skip
        try:
            report = deidentify(req)
        except Refused:
            assert not out.exists()
            return
        con = duckdb.connect()
        sizes = [
            int(r[0])
            for r in con.execute(
                f"SELECT count(*) FROM '{out}' GROUP BY {', '.join(QI)}"
            ).fetchall()
        ]
        con.close()
        assert report.expert is not None
        released = sum(sizes)
        assert released + report.expert["suppressed"] == len(people)
        assert len(people) - released <= suppression * len(people) + 1e-9
        if sizes:
            assert 1.0 / min(sizes) <= max_risk + 1e-12
