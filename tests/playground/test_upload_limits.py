"""A playground CSV is bounded before pandas reads it (issue 25): its size (MAX_BYTES), its rows
(MAX_ROWS) and the columns its header names (MAX_COLUMNS). pandas took 14.6 s and 150 MB for a
60 KB header of 30,000 columns, and grew faster than linearly with them."""
import time
import tracemalloc

import pytest

from dlplay.playground.custom import MAX_BYTES, MAX_COLUMNS, DataError, read_csv

GOOD = "".join(f"{i % 7 - 3},{i % 5 - 2},{'ab'[i % 2]}\n" for i in range(40))


def refused(data: bytes) -> tuple[str, float, int]:
    import pandas  # noqa: F401 - imported once by the server; not this check's cost

    start = time.perf_counter()
    with pytest.raises(DataError) as caught:
        read_csv(data, "wide.csv")
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        with pytest.raises(DataError):
            read_csv(data, "wide.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(caught.value), seconds, peak


@pytest.mark.parametrize("columns", [MAX_COLUMNS + 1, 30_000, 2_000_000])
def test_a_header_of_too_many_columns_is_refused_before_pandas(columns):
    data = ("x1,x2,label" + ",c" * (columns - 3) + "\n" + GOOD).encode()
    assert len(data) < MAX_BYTES
    message, seconds, peak = refused(data)
    assert message.startswith(f"The first line names {columns:,} columns; the playground reads files of up to "
                              f"{MAX_COLUMNS}")
    assert seconds < 0.5 and peak < 3 * len(data) + 1_000_000, (seconds, peak)  # the text, decoded: no more


def test_files_past_the_size_and_row_limits_are_refused_quickly():
    message, seconds, _ = refused(b"x1,x2,label\n" + b"1,2,a\n" * (MAX_BYTES // 6 + 1))
    assert message.startswith("The file is 5.0 MB: at most 5 MB") and seconds < 0.05
    message, seconds, _ = refused(("x1,x2,label\n" + "1,2,a\n1,3,b\n" * 6_000).encode())
    assert message.startswith("Too many rows: more than 10,000") and seconds < 1


def test_extra_columns_up_to_the_limit_are_still_read_and_ignored():
    header = "x1,x2,label," + ",".join(f'"note, {i}"' for i in range(MAX_COLUMNS - 3))  # commas inside quotes
    rows = "".join(line.rstrip("\n") + "," * (MAX_COLUMNS - 3) + "\n" for line in GOOD.splitlines(True))
    d = read_csv((header + "\n" + rows).encode(), "notes.csv")
    assert len(d) == 40 and d.classes == ("a", "b") and "Ignored columns: note, 0" in d.notes[0]
