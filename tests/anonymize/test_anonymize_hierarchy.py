"""Hierarchy loading, validation, builders, and the spec's all-errors-at-once validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthwall.deid import hierarchy_builders as hb
from healthwall.deid.hierarchy import (
    Hierarchy,
    encode,
    find_hierarchy_file,
    load_hierarchies,
    load_hierarchy,
)
from healthwall.errors import InvalidInput, NotFound
from healthwall.model.anonymize import AnonymizeSpec, LVariant, TMeasure


def test_arx_naming_and_plain_naming(tmp_path: Path) -> None:
    (tmp_path / "adult_hierarchy_age.csv").write_text("1;0-4;*\n2;0-4;*\n")
    (tmp_path / "zip.csv").write_text("02139;021**;*\n")
    assert find_hierarchy_file(tmp_path, "age").name == "adult_hierarchy_age.csv"
    assert find_hierarchy_file(tmp_path, "zip").name == "zip.csv"
    with pytest.raises(NotFound, match="sex, race"):
        load_hierarchies(tmp_path, ["age", "sex", "race"])


def test_validation_names_column_and_counts_not_values(tmp_path: Path) -> None:
    ragged = tmp_path / "a.csv"
    ragged.write_text("1;x;*\n2;*\n")
    with pytest.raises(InvalidInput, match="different numbers of levels"):
        load_hierarchy(ragged, "a")
    not_function = tmp_path / "b.csv"
    not_function.write_text("1;x;p\n2;x;q\n")
    with pytest.raises(InvalidInput, match="level 1 is not a function"):
        load_hierarchy(not_function, "b")
    good = Hierarchy("age", (("1", "*"), ("2", "*")))
    with pytest.raises(InvalidInput) as info:
        encode(good, ["1", "secret-value-7", "secret-value-8"])
    assert "does not cover 2 distinct value(s)" in info.value.message
    assert "secret" not in info.value.message


def test_builders() -> None:
    ages = hb.intervals("age", ["3", "17", "42"], (5, 10))
    assert ages.rows[1] == ("17", "15-19", "10-19", "*")
    zips = hb.digit_mask("zip", ["02139", "02140"])
    assert zips.rows[0] == ("02139", "0213*", "021**", "02***", "0****", "*")
    days = hb.dates("d", ["2019-03-04"])
    assert days.rows[0] == ("2019-03-04", "2019-03", "2019", "2010-2019", "*")
    order = hb.ordered("grade", ["a", "b", "c", "d", "e"], (2, 4))
    assert order.rows[4] == ("e", "e..e", "e..e", "*")
    assert order.rows[1] == ("b", "a..b", "a..d", "*")
    with pytest.raises(InvalidInput, match="1 distinct value"):
        hb.dates("d", ["2019-03-04", "not a date"])
    with pytest.raises(InvalidInput, match="numbers"):
        hb.intervals("age", ["x"])


def test_icd10_builder() -> None:
    tree = hb.icd10("dx", ["F11.20", "E11.9"])
    assert tree.rows[0][:3] == ("F11.20", "F11", "F10-F19")
    assert tree.height == 5
    with pytest.raises(InvalidInput, match="ICD-10-CM"):
        hb.icd10("dx", ["QQQ.9"])


def test_spec_parses_model_grammar() -> None:
    spec = AnonymizeSpec.build(
        qi=["a", "zip"],
        sensitive="s",
        k=5,
        l_diversity="recursive:3,2",
        t_closeness="0.2:hierarchical",
        k_map=3,
        population="zip3",
        suppression=0.04,
        metric="loss",
    )
    assert spec.l_diversity is not None and spec.l_diversity.variant is LVariant.RECURSIVE
    assert (spec.l_diversity.c, spec.l_diversity.l) == (3.0, 2)
    assert spec.t_closeness is not None and spec.t_closeness.measure is TMeasure.HIERARCHICAL
    assert spec.k_map is not None and spec.k_map.column == "zip"


def test_spec_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as info:
        AnonymizeSpec.build(
            qi=["a", "a"],
            k=0,
            l_diversity="fancy:2",
            t_closeness="2",
            max_risk=1.5,
            suppression=2.0,
            metric="nope",
        )
    message = info.value.message
    for part in (
        "listed twice",
        "k: must",
        "l-diversity",
        "t-closeness",
        "max-risk",
        "suppression",
        "metric",
    ):
        assert part in message


def test_unreadable_or_odd_input_errors_carry_no_values(tmp_path: Path) -> None:
    from healthwall.workflows.anonymize import anonymize

    (tmp_path / "a.csv").write_text("x;*\n")
    bad = tmp_path / "bad.csv"
    bad.write_text('a;b\nx;y\n"SECRETVALUE;SECRET2;SECRET3;z\n')
    spec = AnonymizeSpec.build(qi=["a"], k=2)
    with pytest.raises(InvalidInput) as info:
        anonymize(str(bad), spec, tmp_path, tmp_path / "out.csv")
    assert "SECRET" not in info.value.message
    assert not (tmp_path / "out.csv").exists()
