"""Synthetic NOAA data: the GHCN-Daily fixed-width station list and CDO daily CSV exports."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from faker import Faker

# (state, latitude, longitude, elevation m) of a real US airport per state; stations jitter round them.
ANCHORS = (
    ("WA", 47.45, -122.31, 131.0), ("OR", 45.59, -122.60, 6.0), ("CA", 37.62, -122.37, 3.0),
    ("AZ", 33.43, -112.01, 337.0), ("CO", 39.85, -104.66, 1656.0), ("TX", 32.90, -97.02, 171.0),
    ("MN", 44.88, -93.23, 255.0), ("IL", 41.98, -87.91, 201.0), ("GA", 33.63, -84.44, 308.0),
    ("FL", 25.79, -80.32, 1.0), ("NY", 40.78, -73.88, 3.0), ("MA", 42.36, -71.01, 6.0),
    ("OH", 39.99, -82.88, 249.0), ("MO", 38.75, -90.37, 162.0), ("UT", 40.79, -111.97, 1288.0),
    ("AK", 61.17, -150.03, 36.0),
)
NAME_SUFFIXES = ("MUNI AP", "INTL AP", "RGNL AP", "AP", "2 N", "WSO AP", "FLD")
EXTRA_STATIONS = 3  # listed but not reporting


@dataclass(frozen=True)
class Station:
    station_id: str
    latitude: float
    longitude: float
    elevation: float  # metres, -999.9 = missing
    state: str
    name: str
    gsn: str = ""
    hcn_crn: str = ""
    wmo: str = ""

    def line(self) -> str:
        """The documented fixed-width layout; the real file pads every line to 85 columns."""
        return (
            f"{self.station_id:<11} {self.latitude:8.4f} {self.longitude:9.4f} {self.elevation:6.1f} "
            f"{self.state:<2} {self.name[:30]:<30} {self.gsn:<3} {self.hcn_crn:<3} {self.wmo:<5}"
        )


def make_stations(rng: random.Random, fake: Faker, reporting: int) -> tuple[list[Station], list[Station]]:
    """Return (reporting, all listed stations sorted by id as in the real file)."""
    seen: set[str] = set()
    made: list[Station] = []
    anchors = rng.sample(ANCHORS, len(ANCHORS))
    for k in range(reporting + EXTRA_STATIONS):
        sid = f"USW000{rng.randrange(10000, 100000)}"
        while sid in seen:
            sid = f"USW000{rng.randrange(10000, 100000)}"
        seen.add(sid)
        state, lat, lon, elev = anchors[k % len(anchors)]
        name = f"{fake.city().upper()} {rng.choice(NAME_SUFFIXES)}"
        if k == reporting + 1:  # a name that fills all 30 columns, as some real ones do
            name = f"{fake.city().upper()} {fake.city().upper()} MUNICIPAL AIRPORT"
        elevation = max(0.0, elev + rng.uniform(-0.2, 0.2) * elev + rng.uniform(-20, 20))
        if k == reporting:  # a non-reporting station with the missing-elevation marker
            elevation = -999.9
        roll = rng.random()
        made.append(Station(
            sid, round(lat + rng.uniform(-1, 1), 4), round(lon + rng.uniform(-1.5, 1.5), 4),
            round(elevation, 1), state, name[:30],
            "GSN" if roll < 0.1 else "", "HCN" if roll > 0.8 else ("CRN" if roll > 0.7 else ""),
            f"72{rng.randrange(100, 1000)}" if rng.random() < 0.6 else "",
        ))
    return made[:reporting], sorted(made, key=lambda s: s.station_id)


def station_list(stations: list[Station]) -> bytes:
    return "".join(s.line() + "\n" for s in stations).encode("ascii")


BASE_COLUMNS = ("AWND", "PGTM", "PRCP", "SNOW", "SNWD", "TAVG", "TMAX", "TMIN", "WDF2", "WSF2",
                "WT01", "WT02", "WT03", "WT08")
DROPPED = (  # per station profile (index % 4): the column set differs by station in real exports
    (),
    ("SNOW", "SNWD"),
    ("PGTM",),
    ("AWND", "PGTM", "WDF2", "WSF2", "WT02", "WT08"),
)


def climate_csv(rng: random.Random, station: Station, profile: int, start: dt.date, days: int) -> bytes:
    """A CDO daily export: every value quoted, missing values empty, no newline at the end."""
    columns = [c for c in BASE_COLUMNS if c not in DROPPED[profile % 4]]
    lines = [",".join(f'"{c}"' for c in ["STATION", "NAME", "DATE"] + columns)]
    name = f"{station.name}, {station.state} US"
    lat = abs(station.latitude)
    mean = 95.0 - lat - 0.0116 * max(station.elevation, 0.0)
    amplitude = 0.55 * lat - 4.0
    anomaly, wet, depth = 0.0, False, 0.0
    for offset in range(days):
        date = start + dt.timedelta(days=offset)
        doy = date.timetuple().tm_yday
        anomaly = 0.7 * anomaly + rng.gauss(0, 4)
        wet = rng.random() < (0.55 if wet else 0.25)
        t = mean - amplitude * math.cos(2 * math.pi * (doy - 20) / 365.25) + anomaly
        half = rng.uniform(4, 11) * (0.6 if wet else 1.0)
        tmax, tmin = round(t + half), round(t - half)
        prcp = round(max(0.01, rng.expovariate(1 / 0.3)), 2) if wet else 0.0
        snow = round(prcp * rng.uniform(8, 12), 1) if wet and tmax <= 35 else 0.0
        depth = max(0.0, depth + snow - max(0.0, (tmax - 32) * 0.2))
        values = {
            "AWND": "" if rng.random() < 0.02 else f"{rng.uniform(2, 16):.2f}",
            "PGTM": f" {rng.randrange(24):02d}{rng.randrange(60):02d}",
            "PRCP": f"{prcp:.2f}",
            "SNOW": f"{snow:.1f}",
            "SNWD": f"{round(depth):.1f}",
            "TAVG": "" if profile % 4 == 2 else str(min(tmax, max(tmin, round(t + rng.gauss(0, 1.5))))),
            "TMAX": str(tmax),
            "TMIN": str(tmin),
            "WDF2": f"{rng.randrange(1, 37) * 10:5d}",
            "WSF2": f"{rng.uniform(8, 35):.1f}",
            "WT01": "1" if rng.random() < (0.2 if wet else 0.06) else "",
            "WT02": "1" if rng.random() < 0.02 else "",
            "WT03": "1" if wet and tmax > 60 and rng.random() < 0.3 else "",
            "WT08": "1" if rng.random() < 0.03 else "",
        }
        if rng.random() < 0.01:  # a day without temperatures, as in the real exports
            values["TAVG"] = values["TMAX"] = values["TMIN"] = ""
        row = [station.station_id, name, date.isoformat()] + [values[c] for c in columns]
        lines.append(",".join(f'"{v}"' if v else "" for v in row))
    return "\n".join(lines).encode("ascii")
