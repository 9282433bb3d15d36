"""Screening clients against the loaded sanctions list: fuzzy names, corroborated by date of
birth and country (``reference/protocols.md`` §5.4).

Names are normalised (accents removed, case folded, punctuation dropped) and compared token
by token with Jaro-Winkler (rapidfuzz), so word order, a missing middle name or patronymic
and small spelling differences ("Dmitri" / "Dmitry") still match. The name score is then
raised by a matching date of birth or country and lowered by a contradicting one; a hit is
an entry whose final score reaches the threshold. Every result is stored with the list it
used; hits are for Compliance only (permission ``kyc.view_aml_notes``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.kyc.models import (
    Corroboration,
    KycProfile,
    SanctionsEntry,
    ScreeningHit,
    ScreeningResult,
)
from brokerdesk.modules.kyc.sanctions import sanctions_list_current

THRESHOLD = 85
NAME_MINIMUM = 80
# Cheap first pass over every name (C speed) before the token-by-token score.
PREFILTER = 55
DOB_ADJUST = {Corroboration.MATCH: 10, Corroboration.PARTIAL: 5, Corroboration.MISMATCH: -15}
COUNTRY_ADJUST = {Corroboration.MATCH: 5, Corroboration.MISMATCH: -5}
PERSON_TYPES = ("individual",)
_NOT_WORD = re.compile(r"[^\w]+")


def name_normalise(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_NOT_WORD.sub(" ", plain).replace("_", " ").split())


def name_score(query: str, candidate: str) -> int:
    """0–100: how well the normalised ``query`` and ``candidate`` names agree, word by word.

    Each query word takes its best-matching candidate word (Jaro-Winkler); the query's side
    weighs more, so a listed middle name the client did not give costs little.
    """
    ours, theirs = query.split(), candidate.split()
    if not ours or not theirs:
        return 0
    if len(ours) == 1 or len(theirs) == 1:
        return round(fuzz.ratio(query, candidate))
    forward = sum(max(JaroWinkler.similarity(a, b) for b in theirs) for a in ours) / len(ours)
    backward = sum(max(JaroWinkler.similarity(b, a) for a in ours) for b in theirs) / len(theirs)
    return round(100 * (0.75 * forward + 0.25 * backward))


def dob_corroboration(date_of_birth: dt.date | None, listed: list[str]) -> str:
    if date_of_birth is None or not listed:
        return Corroboration.UNKNOWN
    iso = date_of_birth.isoformat()
    if iso in listed or iso[:7] in listed:
        return Corroboration.MATCH
    if any(value[:4] == iso[:4] for value in listed):
        return Corroboration.PARTIAL
    return Corroboration.MISMATCH


def country_corroboration(countries: list[str], listed: list[str]) -> str:
    if not countries or not listed:
        return Corroboration.UNKNOWN
    return Corroboration.MATCH if set(countries) & set(listed) else Corroboration.MISMATCH


@dataclass(frozen=True)
class Hit:
    entry: SanctionsEntry
    score: int
    name_score: int
    matched_name: str
    date_of_birth: str
    country: str


def screen(
    *,
    name: str,
    date_of_birth: dt.date | None,
    countries: list[str],
    entries: list[SanctionsEntry],
    threshold: int = THRESHOLD,
) -> list[Hit]:
    """The entries ``name`` matches, best first (each entry once, by its best-matching name)."""
    query = name_normalise(name)
    if not query:
        return []
    names: list[tuple[SanctionsEntry, str, str]] = []
    for entry in entries:
        for listed in (entry.name, *entry.aliases):
            names.append((entry, listed, name_normalise(listed)))
    candidates = process.extract(
        query, [n[2] for n in names], scorer=fuzz.token_set_ratio,
        score_cutoff=PREFILTER, limit=None,
    )  # fmt: skip
    best: dict[int, Hit] = {}
    for _, _, index in candidates:
        entry, listed, normalised = names[index]
        score = name_score(query, normalised)
        if score < NAME_MINIMUM:
            continue
        dob = dob_corroboration(date_of_birth, entry.dates_of_birth)
        country = country_corroboration(countries, entry.countries)
        final = max(0, min(100, score + DOB_ADJUST.get(dob, 0) + COUNTRY_ADJUST.get(country, 0)))
        if final < threshold:
            continue
        hit = Hit(entry, final, score, listed, dob, country)
        if entry.pk not in best or (hit.score, hit.name_score) > (
            best[entry.pk].score,
            best[entry.pk].name_score,
        ):
            best[entry.pk] = hit
    return sorted(best.values(), key=lambda h: (-h.score, -h.name_score, h.entry.source_id))


@dataclass(frozen=True)
class Subject:
    """Who is screened: the name, date of birth and countries the client gave."""

    name: str
    date_of_birth: dt.date | None
    countries: list[str]


def subject_of(client: Any) -> Subject:
    profile = KycProfile.objects.filter(client=client).first()
    if profile is not None and profile.full_name:
        countries = [c for c in (profile.nationality, profile.country) if c]
        return Subject(profile.full_name, profile.date_of_birth, sorted(set(countries)))
    return Subject(client.full_name, None, [client.country] if client.country else [])


@transaction.atomic
def client_screen(*, client: Any, actor: Any) -> ScreeningResult | None:
    """Screen ``client`` against the newest list and store the result (None: no list loaded)."""
    current = sanctions_list_current()
    if current is None:
        return None
    subject = subject_of(client)
    entries = list(
        SanctionsEntry.objects.filter(sanctions_list=current, entry_type__in=PERSON_TYPES)
    )
    hits = screen(
        name=subject.name,
        date_of_birth=subject.date_of_birth,
        countries=subject.countries,
        entries=entries,
    )
    result = ScreeningResult.objects.create(
        client=client, sanctions_list=current, name=subject.name[:200],
        date_of_birth=subject.date_of_birth, countries=subject.countries,
        threshold=THRESHOLD, hit_count=len(hits),
        screened_by=actor if isinstance(actor, str) else actor.email,
    )  # fmt: skip
    ScreeningHit.objects.bulk_create(
        ScreeningHit(result=result, entry=h.entry, score=h.score, name_score=h.name_score,
                     matched_name=h.matched_name[:350], date_of_birth=h.date_of_birth,
                     country=h.country)
        for h in hits
    )  # fmt: skip
    audit_record(
        actor=actor,
        action="kyc.screening.run",
        target=result,
        before=None,
        after={"hits": len(hits), "list": str(current.public_id), "files": current.file_hashes},
    )
    return result


def screening_latest(client: Any) -> ScreeningResult | None:
    return (
        ScreeningResult.objects.filter(client=client)
        .prefetch_related("hits__entry")
        .order_by("-screened_at", "-id")
        .first()
    )
