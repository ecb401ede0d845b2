"""UTC hour and weekday of a timestamp: one definition for validator, adapter and simulator."""

import datetime as dt

import numpy as np

from lt4rec.schemas.timefields import utc_hour, utc_weekday


def test_epoch_was_a_thursday_and_the_fifth_a_monday():
    assert list(utc_weekday([0, 4 * 86400, 4 * 86400 - 1])) == [3, 0, 6]
    assert list(utc_hour([0, 3599, 3600, 86399])) == [0, 0, 1, 23]


def test_agrees_with_python_datetime_in_utc():
    stamps = np.random.default_rng(0).integers(0, 2_000_000_000, 500)
    want = [dt.datetime.fromtimestamp(int(s), dt.timezone.utc) for s in stamps]
    assert list(utc_weekday(stamps)) == [d.weekday() for d in want]
    assert list(utc_hour(stamps)) == [d.hour for d in want]
