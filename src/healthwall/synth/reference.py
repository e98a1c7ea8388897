"""Reference distributions of the synthetic generator, with their sources.

Every list here is a (value, weight) table; weights need not sum to one. Sources and the
assumptions made are in docs/data.md ("Synthetic data: sources and assumptions").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# 2020 Census race categories (OMB), share of the US population alone or in combination.
RACES: tuple[tuple[str, float], ...] = (
    ("White", 61.6),
    ("Black or African American", 12.4),
    ("Asian", 6.0),
    ("American Indian or Alaska Native", 1.1),
    ("Native Hawaiian or Other Pacific Islander", 0.2),
    ("Some Other Race", 8.4),
    ("Two or More Races", 10.2),
)
ETHNICITIES = ("Hispanic or Latino", "Not Hispanic or Latino")

# Birthplace of the foreign-born (ACS 2022, share of the foreign-born), with the language most
# often spoken at home, whether the country's people are mostly counted Hispanic, and the share
# who speak that language (rather than English) at home. About 13.8 % of residents are
# foreign-born (ACS 2022); the rest are born in the US.
FOREIGN_BORN_SHARE = 0.138


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    weight: float
    language: str
    hispanic: bool
    asian: bool
    non_english: float


COUNTRIES: tuple[Country, ...] = (
    Country("MX", 23.0, "Spanish", True, False, 0.75),
    Country("IN", 6.0, "Hindi", False, True, 0.45),
    Country("CN", 5.0, "Chinese", False, True, 0.75),
    Country("PH", 4.3, "Tagalog", False, True, 0.45),
    Country("SV", 3.2, "Spanish", True, False, 0.80),
    Country("VN", 3.0, "Vietnamese", False, True, 0.80),
    Country("CU", 3.0, "Spanish", True, False, 0.80),
    Country("DO", 2.7, "Spanish", True, False, 0.80),
    Country("GT", 2.4, "Spanish", True, False, 0.80),
    Country("KR", 2.2, "Korean", False, True, 0.70),
    Country("CO", 2.0, "Spanish", True, False, 0.75),
    Country("HN", 1.8, "Spanish", True, False, 0.80),
    Country("CA", 1.8, "English", False, False, 0.0),
    Country("JM", 1.8, "English", False, False, 0.0),
    Country("HT", 1.6, "Haitian Creole", False, False, 0.75),
    Country("VE", 1.5, "Spanish", True, False, 0.80),
    Country("BR", 1.2, "Portuguese", False, False, 0.65),
    Country("PK", 0.9, "Urdu", False, True, 0.60),
    Country("RU", 0.9, "Russian", False, False, 0.65),
    Country("NG", 0.9, "English", False, False, 0.0),
    Country("ET", 0.6, "Amharic", False, False, 0.60),
    Country("SO", 0.3, "Somali", False, False, 0.80),
    Country("UA", 0.8, "Ukrainian", False, False, 0.60),
    Country("IR", 0.9, "Persian", False, False, 0.65),
    Country("PL", 0.9, "Polish", False, False, 0.55),
    Country("GB", 1.5, "English", False, False, 0.0),
    Country("DE", 1.2, "English", False, False, 0.0),
    Country("EC", 1.0, "Spanish", True, False, 0.80),
    Country("PE", 1.0, "Spanish", True, False, 0.75),
    Country("AF", 0.5, "Pashto", False, True, 0.80),
    Country("SY", 0.3, "Arabic", False, False, 0.80),
    Country("IQ", 0.6, "Arabic", False, False, 0.75),
    Country("BD", 0.6, "Bengali", False, True, 0.75),
    Country("JP", 0.7, "Japanese", False, True, 0.50),
    Country("TW", 0.7, "Chinese", False, True, 0.70),
    Country("FR", 0.4, "French", False, False, 0.40),
    Country("IT", 0.6, "Italian", False, False, 0.40),
)

# Immigration status of the foreign-born (Pew Research Center, 2022: 49 % naturalized citizens,
# 24 % lawful permanent residents, 5 % temporary lawful residents, 23 % unauthorized; a small
# share with the status not recorded). US-born people are citizens.
FOREIGN_STATUS: tuple[tuple[str, float], ...] = (
    ("naturalized-citizen", 47.0),
    ("permanent-resident", 23.0),
    ("temporary-visa", 5.0),
    ("refugee-asylee", 2.0),
    ("undocumented", 20.0),
    ("unknown", 3.0),
)
US_BORN_STATUS = "citizen"

# Household sizes (ACS 2022 shares of households by size; 5+ collapsed to 5 and 6).
HOUSEHOLD_SIZES: tuple[tuple[int, float], ...] = (
    (1, 28.0),
    (2, 34.6),
    (3, 15.1),
    (4, 12.6),
    (5, 5.9),
    (6, 3.8),
)

STREETS = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Highland", "Franklin",
    "Willow", "Jefferson", "Madison", "Chestnut", "Spruce", "Ridge", "Meadow", "Forest",
    "Center", "Mill", "Spring", "Valley", "Adams", "Dogwood", "Hickory", "Laurel", "Birch",
    "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth",
)  # fmt: skip
STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Ter")

# Place of service (CMS POS code set) by an approximate share of professional claim lines.
PLACES_OF_SERVICE: tuple[tuple[str, float], ...] = (
    ("11", 55.0),  # office
    ("22", 10.0),  # on-campus outpatient hospital
    ("81", 9.0),  # independent laboratory
    ("23", 6.0),  # emergency room, hospital
    ("21", 5.0),  # inpatient hospital
    ("10", 4.0),  # telehealth in the patient's home
    ("20", 3.0),  # urgent care facility
    ("31", 2.0),  # skilled nursing facility
    ("12", 2.0),  # home
    ("50", 2.0),  # federally qualified health center
    ("57", 1.0),  # non-residential substance abuse treatment facility
    ("53", 1.0),  # community mental health center
)
FACILITY_KINDS = (
    "Medical Group", "Family Clinic", "General Hospital", "Community Health Center",
    "Behavioral Health", "Women's Health", "Imaging Center", "Laboratory", "Urgent Care",
    "Pediatrics",
)  # fmt: skip

LANGUAGES_US_BORN: tuple[tuple[str, float], ...] = (
    ("English", 90.5),
    ("Spanish", 8.0),
    ("French", 0.3),
    ("Chinese", 0.3),
    ("Vietnamese", 0.2),
    ("Tagalog", 0.2),
    ("Arabic", 0.2),
    ("Korean", 0.2),
    ("Other", 0.1),
)


def weights(table: tuple[tuple[object, float], ...]) -> npt.NDArray[np.float64]:
    """Normalized weights of a (value, weight) table."""
    w = np.array([float(x[1]) for x in table])
    return np.asarray(w / w.sum(), dtype=np.float64)


def values(table: tuple[tuple[str, float], ...]) -> list[str]:
    """The values of a (value, weight) table."""
    return [x[0] for x in table]
