"""Diagnosis and procedure code pools of the synthetic claims.

Diagnoses: a curated list of common ICD-10-CM codes with approximate relative frequencies of
outpatient visits (NAMCS-style rankings), including the sensitive groups the firewall must find
(SUD F10-F19, HIV B20/Z21, mental health, reproductive, STD, abuse), plus a uniform tail over every
billable ICD-10-CM code so hierarchies have breadth. Each code may carry a sex and age
restriction (pregnancy codes: female 12-55; well-child codes: under 18).

Procedures: CPT/HCPCS codes with a typical allowed amount in dollars and the label group they
serve (a claim whose diagnoses carry a label draws its first procedure from that group half the
time).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dx:
    code: str
    weight: float
    sex: str | None = None  # "F"/"M" when restricted
    age_min: int = 0
    age_max: int = 120


_F = "F"


def _preg(code: str, weight: float) -> Dx:
    """A pregnancy-related code: women aged 15-55 (in 2025; 12 or over on any service date)."""
    return Dx(code, weight, sex=_F, age_min=15, age_max=55)


DIAGNOSES: tuple[Dx, ...] = (
    Dx("I10", 8.0, age_min=18),
    Dx("E11.9", 5.0, age_min=18),
    Dx("E78.5", 4.0, age_min=18),
    Dx("Z00.00", 5.0, age_min=18),
    Dx("Z00.01", 2.0, age_min=18),
    Dx("Z00.129", 3.0, age_max=17),
    Dx("J06.9", 4.0),
    Dx("M54.50", 3.0, age_min=15),
    Dx("K21.9", 2.0),
    Dx("E66.9", 2.0),
    Dx("J45.909", 2.0),
    Dx("R51.9", 1.5),
    Dx("N39.0", 1.5),
    Dx("R10.9", 1.5),
    Dx("Z23", 4.0),
    Dx("E03.9", 2.0),
    Dx("I25.10", 1.5, age_min=35),
    Dx("J44.9", 1.5, age_min=40),
    Dx("N18.30", 1.0, age_min=40),
    Dx("M17.11", 1.0, age_min=40),
    Dx("R05.9", 1.5),
    Dx("Z79.4", 1.0),
    Dx("G47.33", 1.0, age_min=18),
    Dx("I48.91", 1.0, age_min=40),
    Dx("D64.9", 1.0),
    Dx("E55.9", 1.5),
    Dx("H52.13", 1.0),
    Dx("L70.0", 0.5, age_min=10, age_max=40),
    Dx("J02.9", 1.5),
    Dx("H66.90", 1.0, age_max=12),
    Dx("R07.9", 1.0),
    Dx("K59.00", 0.8),
    Dx("M25.561", 0.8),
    Dx("Z12.31", 2.0, sex=_F, age_min=40),
    Dx("N40.0", 0.8, sex="M", age_min=45),
    Dx("C61", 0.3, sex="M", age_min=50),
    Dx("C50.911", 0.3, sex=_F, age_min=30),
    Dx("C34.90", 0.2, age_min=40),
    Dx("U07.1", 1.0),
    Dx("S93.401A", 0.5),
    Dx("S61.411A", 0.3),
    Dx("T78.40XA", 0.3),
    Dx("G30.9", 0.3, age_min=65),
    # substance use (SUD)
    Dx("F10.20", 1.2, age_min=15),
    Dx("F10.10", 0.5, age_min=15),
    Dx("F11.20", 0.8, age_min=15),
    Dx("F11.23", 0.1, age_min=15),
    Dx("F12.20", 0.5, age_min=13),
    Dx("F14.20", 0.3, age_min=15),
    Dx("F15.20", 0.2, age_min=15),
    Dx("F17.210", 2.0, age_min=15),
    Dx("F19.20", 0.2, age_min=15),
    # HIV
    Dx("B20", 0.25),
    Dx("Z21", 0.2),
    Dx("Z71.7", 0.05),
    # mental health (MH)
    Dx("F32.9", 2.5, age_min=10),
    Dx("F32.A", 1.0, age_min=10),
    Dx("F41.1", 2.0, age_min=10),
    Dx("F41.9", 1.5, age_min=10),
    Dx("F43.10", 0.6, age_min=5),
    Dx("F90.0", 1.0, age_min=4, age_max=60),
    Dx("F31.9", 0.4, age_min=13),
    Dx("F20.9", 0.2, age_min=15),
    Dx("F33.1", 0.6, age_min=15),
    Dx("F84.0", 0.2, age_max=40),
    Dx("F50.00", 0.1, age_min=10, age_max=40),
    # reproductive (REPRO)
    _preg("Z34.00", 0.6),
    _preg("Z34.80", 0.3),
    _preg("O80", 0.4),
    _preg("O09.90", 0.2),
    _preg("O24.410", 0.1),
    _preg("O03.9", 0.05),
    _preg("Z33.2", 0.05),
    _preg("Z3A.20", 0.2),
    _preg("Z30.011", 0.5),
    Dx("Z30.09", 0.3, age_min=12, age_max=60),
    _preg("N97.9", 0.15),
    _preg("O99.320", 0.03),
    # sexually transmitted infections (STD)
    Dx("A54.00", 0.05, age_min=12),
    Dx("A53.9", 0.05, age_min=12),
    Dx("A60.00", 0.05, age_min=12),
    Dx("A56.00", 0.05, age_min=12),
    # abuse and neglect (SDV)
    Dx("T74.11XA", 0.05),
    Dx("T76.12XA", 0.03),
)

#: Share of claims whose first diagnosis is drawn uniformly from every billable code.
TAIL_SHARE = 0.10


@dataclass(frozen=True)
class Px:
    code: str
    weight: float
    price: float  # typical allowed amount, dollars
    group: str = ""  # "" general, else the sensitivity label it serves


PROCEDURES: tuple[Px, ...] = (
    Px("99213", 10.0, 95.0),
    Px("99214", 7.0, 135.0),
    Px("99212", 3.0, 60.0),
    Px("99215", 2.0, 185.0),
    Px("99203", 2.0, 110.0),
    Px("99204", 1.5, 170.0),
    Px("36415", 6.0, 3.0),
    Px("80053", 4.0, 11.0),
    Px("85025", 4.0, 8.0),
    Px("80061", 3.0, 13.0),
    Px("83036", 2.0, 10.0),
    Px("81001", 2.0, 3.0),
    Px("93000", 1.5, 17.0),
    Px("71046", 1.0, 30.0),
    Px("90471", 1.5, 17.0),
    Px("90686", 1.5, 20.0),
    Px("97110", 2.0, 30.0),
    Px("99283", 1.0, 70.0),
    Px("99284", 0.8, 120.0),
    Px("99285", 0.5, 175.0),
    Px("99223", 0.4, 210.0),
    Px("99232", 0.8, 75.0),
    Px("G0439", 0.5, 120.0),
    Px("77067", 0.5, 130.0),
    Px("70450", 0.3, 110.0),
    Px("45378", 0.2, 350.0),
    Px("29881", 0.05, 550.0),
    Px("J1885", 0.3, 1.0),
    Px("H0020", 1.0, 15.0, "SUD"),
    Px("H0004", 1.0, 25.0, "SUD"),
    Px("H0001", 0.5, 80.0, "SUD"),
    Px("80305", 1.0, 13.0, "SUD"),
    Px("99408", 0.5, 35.0, "SUD"),
    Px("87389", 1.0, 25.0, "HIV"),
    Px("87536", 1.0, 80.0, "HIV"),
    Px("86360", 1.0, 60.0, "HIV"),
    Px("90834", 1.0, 95.0, "MH"),
    Px("90837", 1.0, 140.0, "MH"),
    Px("90791", 0.6, 150.0, "MH"),
    Px("90832", 0.6, 65.0, "MH"),
    Px("96127", 0.5, 5.0, "MH"),
    Px("59400", 0.5, 2500.0, "REPRO"),
    Px("59510", 0.3, 2800.0, "REPRO"),
    Px("76805", 1.0, 110.0, "REPRO"),
    Px("76801", 0.6, 100.0, "REPRO"),
    Px("81025", 1.0, 9.0, "REPRO"),
    Px("58300", 0.4, 80.0, "REPRO"),
    Px("11981", 0.3, 150.0, "REPRO"),
    Px("59840", 0.1, 450.0, "REPRO"),
    Px("87491", 1.0, 35.0, "STD"),
    Px("86592", 1.0, 5.0, "STD"),
    Px("87591", 1.0, 35.0, "STD"),
    Px("99285", 1.0, 175.0, "SDV"),
)

#: Label groups in the bit order of the label masks (bit i <-> LABELS[i]).
LABELS: tuple[str, ...] = ("HIV", "MH", "REPRO", "SDV", "STD", "SUD")
