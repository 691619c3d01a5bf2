"""Frequency bands and the estimated CEFR level."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthlib.core.schema import CEFR
from synthlib.lexicon import frequency

ZIPF = st.floats(min_value=0, max_value=8, allow_nan=False)
CEFR_ORDER = [CEFR.A1, CEFR.A2, CEFR.B1, CEFR.B2, CEFR.C1, CEFR.C2]


@pytest.mark.parametrize(
    ("zipf", "band"),
    [
        (7.7, 5),
        (6.0, 5),
        (5.99, 4),
        (5.0, 4),
        (4.0, 3),
        (3.0, 2),
        (2.99, 1),
        (0.01, 1),
        (0.0, None),
    ],
)
def test_band_thresholds(zipf: float, band: int | None):
    assert frequency.frequency_band(zipf) == band


@given(ZIPF, ZIPF)
def test_bands_are_monotonic_in_zipf(a: float, b: float):
    low, high = sorted((a, b))
    band_low, band_high = frequency.frequency_band(low), frequency.frequency_band(high)
    if band_low is not None:
        assert band_high is not None and band_high >= band_low


@given(ZIPF, ZIPF)
def test_cefr_estimate_gets_easier_as_words_get_commoner(a: float, b: float):
    low, high = sorted((a, b))
    level_low, level_high = frequency.estimated_cefr(low), frequency.estimated_cefr(high)
    if level_low is not None:
        assert CEFR_ORDER.index(level_high) <= CEFR_ORDER.index(level_low)


def test_cefr_thresholds():
    assert frequency.estimated_cefr(5.0) == CEFR.A1
    assert frequency.estimated_cefr(4.99) == CEFR.A2
    assert frequency.estimated_cefr(2.0) == CEFR.C2
    assert frequency.estimated_cefr(0.0) is None


def test_real_frequencies():
    assert frequency.frequency_band(frequency.zipf("the")) == 5
    assert frequency.zipf("zzqxv") == 0.0
    assert frequency.zipf("bank") > frequency.zipf("aardvark") > 0
