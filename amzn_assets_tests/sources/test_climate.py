"""parse_climate_csv on the real Sitka CDO export and on crafted CSVs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pytest

from amzn_assets.sources.climate import parse_climate_csv
from amzn_assets.sources.common import SourceFileError
from amzn_assets.tables import LANDED_CLIMATE_SCHEMA, WEATHER_TYPE_CODES

FIXTURES = Path(__file__).parents[1] / "fixtures"
SITKA = (FIXTURES / "sitka_weather_2018_full.csv").read_bytes()
SITKA_LINES = SITKA.split(b"\n")
HEADER = SITKA_LINES[0]
ROW1, ROW2, ROW3 = SITKA_LINES[1:4]  # 2018-01-01..03, TMAX "48","48","46"


@pytest.fixture(scope="module")
def sitka():
    return parse_climate_csv(SITKA, "sitka_weather_2018_full.csv")


def test_sitka_row_count(sitka):
    # The README's "405 records" are data rows: the file has 406 lines with the header.
    assert SITKA.count(b"\n") + (not SITKA.endswith(b"\n")) == 406
    assert sitka.table.schema == LANDED_CLIMATE_SCHEMA
    assert sitka.table.num_rows == 405
    assert sitka.rejected == []
    assert sitka.table["station_id"].unique().to_pylist() == ["USW00025333"]
    assert sitka.table["station_name"].unique().to_pylist() == ["SITKA AIRPORT, AK US"]
    dates = sitka.table["date"]
    assert pc.min_max(dates).as_py() == {"min": dt.date(2018, 1, 1), "max": dt.date(2019, 2, 11)}


def test_sitka_values(sitka):
    first = sitka.table.slice(0, 1).to_pylist()[0]
    assert first["date"] == dt.date(2018, 1, 1)
    assert (first["awnd"], first["prcp"], first["tmax"], first["tmin"]) == (13.87, 0.45, 48.0, 38.0)
    assert first["snow"] is None  # no SNOW column in this export
    assert first["snwd"] is None  # empty SNWD


def test_sitka_tmax_not_below_tmin(sitka):
    # An older project swapped TMAX and TMIN; every day with both must have tmax >= tmin.
    table = sitka.table
    both = pc.and_(pc.is_valid(table["tmax"]), pc.is_valid(table["tmin"]))
    assert pc.sum(both).as_py() == 404
    assert pc.all(pc.greater_equal(table["tmax"], table["tmin"]).filter(both)).as_py()


def test_sitka_tavg_empty_throughout(sitka):
    assert sitka.table["tavg"].null_count == 405


def test_sitka_weather_flags(sitka):
    table = sitka.table
    # WT01 holds "    1" (leading blanks) on 25 days and is empty otherwise
    assert pc.sum(table["wt01"]).as_py() == 25
    assert table["wt01"].null_count == 0
    assert pc.sum(table["wt02"]).as_py() == 1
    # present but empty on 2018-01-01 -> False; absent from the export -> null
    first = table.slice(0, 1).to_pylist()[0]
    assert first["wt01"] is False and first["wt08"] is False
    assert first["wt03"] is None and first["wt22"] is None


def test_leading_blanks_in_values():
    data = b'"STATION","DATE","TMAX","TMIN","PRCP","WT01"\n"S1"," 2018-01-01 "," 0023","  -4"," .5","    1"\n'
    row = parse_climate_csv(data, "c.csv").table.to_pylist()[0]
    assert row["date"] == dt.date(2018, 1, 1)
    assert (row["tmax"], row["tmin"], row["prcp"], row["wt01"]) == (23.0, -4.0, 0.5, True)


def test_file_without_weather_type_columns():
    data = b'"STATION","NAME","DATE","PRCP"\n"S1","ONE","2018-01-01","0.10"\n"S1","ONE","2018-01-02",\n'
    result = parse_climate_csv(data, "c.csv")
    table = result.table
    assert table.num_rows == 2 and result.rejected == []
    for code in WEATHER_TYPE_CODES:
        assert table[code].null_count == 2
    assert table["prcp"].to_pylist() == [0.1, None]
    assert table["tmax"].null_count == 2 and table["awnd"].null_count == 2


def test_bad_rows_are_rejected_with_reasons():
    data = b"\n".join(
        [
            HEADER,
            ROW1,
            ROW2.replace(b'"48"', b'"abc"'),  # TMAX
            b"",
            ROW3.replace(b"2018-01-03", b"2018-02-30"),
            b'"x","y"',
            b'"","SITKA AIRPORT, AK US",""' + b"," * 16,
            ROW3.replace(b'"0.40"', b'"nan"'),
        ]
    )
    result = parse_climate_csv(data, "c.csv")
    assert result.table["date"].to_pylist() == [dt.date(2018, 1, 1)]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "invalid number in TMAX: 'abc'"),
        (5, "invalid DATE: '2018-02-30'"),
        (6, "wrong number of fields: 2, expected 19"),
        (7, "missing STATION; missing DATE"),
        (8, "invalid number in PRCP: 'nan'"),
    ]
    assert result.rejected[0].record == ROW2.replace(b'"48"', b'"abc"').decode()


def test_duplicate_station_day_keeps_last():
    data = b"\n".join([HEADER, ROW1, ROW2, ROW1.replace(b'"38"', b'"40"')])
    result = parse_climate_csv(data, "c.csv")
    assert result.rejected == []
    rows = result.table.to_pylist()
    assert [(r["date"].day, r["tmin"]) for r in rows] == [(2, 43.0), (1, 40.0)]


@pytest.mark.parametrize("missing", [b'"DATE"', b'"STATION"'])
def test_missing_key_column_raises(missing):
    data = b"\n".join([HEADER.replace(missing, b'"OTHER"'), ROW1])
    with pytest.raises(SourceFileError, match=f"missing {missing.decode().strip(chr(34))} column"):
        parse_climate_csv(data, "c.csv")


def test_header_only_is_refused():
    with pytest.raises(SourceFileError, match="no data rows"):
        parse_climate_csv(HEADER, "c.csv")
