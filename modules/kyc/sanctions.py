"""Reading the OFAC SDN list in its published legacy CSV format, and loading it.

Format (``reference/protocols.md`` §5.4): no header row, comma separated, quoted strings,
``-0-`` (often ``-0- ``) for null. ``sdn.csv`` has 12 columns (ent_num, name, type, programs,
title, call sign, vessel type, tonnage, GRT, vessel flag, vessel owner, remarks);
``add.csv`` addresses, ``alt.csv`` aliases and ``sdn_comments.csv`` the remarks beyond
1,000 characters, all keyed by ent_num. Dates of birth and countries are parsed out of the
remarks ("DOB 28 Jul 1963; POB Toledo District, Belize; nationality Russia; Passport …
(Belize)") and the addresses, for corroborating a name match.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
from django.db import transaction

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.kyc.models import SanctionsEntry, SanctionsList, SanctionsSource

SDN_COLUMNS = 12
FILES = ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}  # fmt: skip
_DOB = re.compile(r"\bDOB ([^;]+)")
_AKA = re.compile(r"\ba\.k\.a\. '([^']+)'")
_COUNTRY_AFTER = re.compile(r"\b(?:nationality|citizen) ([A-Za-z ,.'()-]+?)(?:;|$|\.$)")
_IN_BRACKETS = re.compile(
    r"\b(?:Passport|National ID No\.|Cedula No\.|Identification Number|Tax ID No\.)[^;()]*\(([^)]+)\)"
)
_POB = re.compile(r"\bPOB ([^;]+)")
# OFAC's spellings that pycountry does not resolve by itself.
_COUNTRY_ALIASES = {
    "russia": "RU", "russian federation": "RU", "iran": "IR", "syria": "SY", "burma": "MM",
    "north korea": "KP", "korea, north": "KP", "south korea": "KR", "korea, south": "KR",
    "venezuela": "VE", "bolivia": "BO", "tanzania": "TZ", "vietnam": "VN", "laos": "LA",
    "moldova": "MD", "czech republic": "CZ", "turkey": "TR", "kosovo": "XK", "taiwan": "TW",
    "palestinian": "PS", "west bank": "PS", "gaza": "PS", "united kingdom": "GB",
    "congo, democratic republic of the": "CD", "cote d'ivoire": "CI", "macau": "MO",
}  # fmt: skip


class SanctionsFormatError(ValueError):
    """The file is not the list's published format (with the line that shows it)."""


@dataclass
class ParsedEntry:
    source_id: str
    name: str
    entry_type: str
    programs: list[str]
    title: str
    remarks: str
    aliases: list[str] = field(default_factory=list)
    dates_of_birth: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


def _value(raw: str) -> str:
    value = raw.strip()
    return "" if value == "-0-" else value


def _rows(data: bytes, *, name: str, columns: int) -> list[list[str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    rows = []
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        # The published files end with a DOS end-of-file character on a line of its own.
        if not row or (len(row) == 1 and row[0].strip() in ("", "\x1a")):
            continue
        if len(row) != columns or not row[0].strip().isdigit():
            raise SanctionsFormatError(
                f"{name} line {reader.line_num}: expected {columns} columns starting with an "
                f"entry number, found {len(row)}: {','.join(row)[:80]!r}"
            )
        rows.append([_value(cell) for cell in row])
    return rows


def country_code(name: str) -> str | None:
    """ISO 3166-1 alpha-2 for a country as OFAC spells it, or None."""
    cleaned = name.strip().strip(".").strip()
    if not cleaned:
        return None
    alias = _COUNTRY_ALIASES.get(cleaned.lower())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(cleaned).alpha_2
    except LookupError:
        return None


def dates_of_birth(remarks: str) -> list[str]:
    """Dates of birth in the remarks as ISO text: "1963-07-28", "1963-07" or "1963"."""
    found: list[str] = []
    for raw in _DOB.findall(remarks):
        found += _dob_values(raw.strip())
    return list(dict.fromkeys(found))


def _dob_values(raw: str) -> list[str]:
    text = raw.lower().replace("circa", "").strip()
    span = re.fullmatch(r"(\d{4})\s*(?:to|-)\s*(\d{4})", text)
    if span:
        first, last = int(span[1]), int(span[2])
        return [str(year) for year in range(first, last + 1)] if 0 <= last - first <= 10 else []
    full = re.fullmatch(r"(\d{1,2}) ([a-z]{3})[a-z]* (\d{4})", text)
    if full and full[2] in _MONTHS:
        try:
            return [dt.date(int(full[3]), _MONTHS[full[2]], int(full[1])).isoformat()]
        except ValueError:
            return []
    month = re.fullmatch(r"([a-z]{3})[a-z]* (\d{4})", text)
    if month and month[1] in _MONTHS:
        return [f"{month[2]}-{_MONTHS[month[1]]:02d}"]
    year = re.fullmatch(r"(\d{4})", text)
    return [year[1]] if year else []


def countries_in_remarks(remarks: str) -> list[str]:
    names = [*_COUNTRY_AFTER.findall(remarks), *_IN_BRACKETS.findall(remarks)]
    names += [place.rsplit(",", 1)[-1] for place in _POB.findall(remarks)]
    return [code for code in (country_code(n) for n in names) if code]


def ofac_parse(
    sdn: bytes, *, add: bytes = b"", alt: bytes = b"", comments: bytes = b""
) -> list[ParsedEntry]:
    """Every entry of the list, with its aliases, addresses, dates of birth and countries."""
    entries: dict[str, ParsedEntry] = {}
    for row in _rows(sdn, name="sdn.csv", columns=SDN_COLUMNS):
        entries[row[0]] = ParsedEntry(
            source_id=row[0],
            name=row[1],
            entry_type=row[2] or "entity",
            programs=[p.strip() for p in row[3].split("] [") if p.strip()],
            title=row[4][:200],
            remarks=row[11],
        )
    for row in _rows(comments, name="sdn_comments.csv", columns=2) if comments else []:
        if row[0] in entries:
            entries[row[0]].remarks += row[1]
    for row in _rows(alt, name="alt.csv", columns=5) if alt else []:
        if row[0] in entries and row[3]:
            entries[row[0]].aliases.append(row[3])
    for row in _rows(add, name="add.csv", columns=6) if add else []:
        entry = entries.get(row[0])
        if entry is None:
            continue
        address = ", ".join(part for part in row[2:5] if part)
        if address:
            entry.addresses.append(address)
        code = country_code(row[4]) if row[4] else None
        if code:
            entry.countries.append(code)
    for entry in entries.values():
        entry.aliases = list(dict.fromkeys([*entry.aliases, *_AKA.findall(entry.remarks)]))
        entry.dates_of_birth = dates_of_birth(entry.remarks)
        entry.countries = sorted(set(entry.countries) | set(countries_in_remarks(entry.remarks)))
    return list(entries.values())


def ofac_files_read(path: Path) -> dict[str, bytes]:
    """``sdn.csv`` (given as the file or its folder) and whichever companions lie beside it."""
    folder = path if path.is_dir() else path.parent
    main = path if path.is_file() else folder / "sdn.csv"
    if not main.is_file():
        raise SanctionsFormatError(f"no such file: {main}")
    files = {"sdn.csv": main.read_bytes()}
    for name in FILES[1:]:
        companion = folder / name
        if companion.is_file():
            files[name] = companion.read_bytes()
    return files


@transaction.atomic
def sanctions_list_load(*, files: dict[str, bytes], actor: str) -> SanctionsList:
    """Load the list from its files as a new version; screening uses the newest version."""
    parsed = ofac_parse(
        files["sdn.csv"],
        add=files.get("add.csv", b""),
        alt=files.get("alt.csv", b""),
        comments=files.get("sdn_comments.csv", b""),
    )
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    loaded = SanctionsList.objects.create(
        source=SanctionsSource.OFAC_SDN, file_hashes=hashes, loaded_by=actor,
        entry_count=len(parsed),
    )  # fmt: skip
    SanctionsEntry.objects.bulk_create(
        (SanctionsEntry(sanctions_list=loaded, **vars(entry)) for entry in parsed),
        batch_size=2000,
    )
    audit_record(
        actor=actor,
        action="kyc.sanctions.load",
        target=loaded,
        before=None,
        after={"source": loaded.source, "entries": len(parsed), "files": hashes},
    )
    return loaded


def sanctions_list_current(source: str = SanctionsSource.OFAC_SDN) -> SanctionsList | None:
    return SanctionsList.objects.filter(source=source).order_by("-loaded_at", "-id").first()
