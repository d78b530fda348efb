"""Brief → candidates: rank the catalog for a written brief, before any training.

A brief is free text: "calm, hopeful piano, builds to a lift, one-stop only, no vocals, 90-110 bpm".
:func:`~supervisor_app.briefs.query.parse_brief_query` reads it into terms (moods, styles, instruments,
vocals, each mapped through :mod:`supervisor_app.briefs.vocab`'s synonyms; "no"/"without"/"not"
negate), metadata asked for explicitly (``artist:``, ``title:``, ``composer:``, ...; names are never
matched otherwise, so "strings" no longer finds "The U.S. Army Strings"), tempo ("90-110 bpm",
"slow"), duration ("30s spot", "under 2 min") and rights ("one-stop", "cleared for TV", "worldwide").

Every track that passes the rights (and the caller's) filters is *ranked*, never dropped for missing a
word: each term scores the track in 0..1 (:mod:`supervisor_app.briefs.track_profile`: pool-calibrated
AudioSet classes, arousal/valence/build from audio descriptors, the user's own tags at full weight;
a negated term scores 1 − that), and the brief score is the weighted mean over terms (metadata fields
count double, duration half). Each result says which words matched what; words not understood are
reported (and matched only against the user's tags, genre and description).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from supervisor_app.briefs.query import BriefQuery, Term, parse_brief_query
from supervisor_app.briefs.vocab import CONCEPTS, WORDS
from supervisor_app.catalog.filters import Filters

#: a track "matches" a brief (kept by callers that need a candidate set) when it scores at least this
MATCH_SCORE = 0.55
_FIELD_WEIGHT = 2.0
_DURATION_WEIGHT = 0.5
_CLASS_SHARE = 0.6  # a concept with both classes and mood axes: 60 % classes, 40 % axes


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9&+ -]", "", s.casefold().replace("_", " ")).strip()


def parse_brief(text: str) -> list[str]:
    """The brief's comma-separated parts (or words): the keyword matcher's view, kept for callers."""
    parts = [p for p in re.split(r"[,;\n]+", text or "") if p.strip()]
    if len(parts) <= 1:
        parts = (text or "").split()
    return [_norm(p) for p in parts if _norm(p)]


@dataclass
class BriefMatch:
    track_id: int
    score: float  # 0..1, the weighted mean of the term scores
    matched: dict = field(default_factory=dict)  # term as written -> (what it matched, term score 0..1)


@dataclass
class BriefResult:
    query: BriefQuery
    matches: list  # BriefMatch, best first
    not_understood: list  # words of the brief that map to nothing the catalog knows
    notes: list = field(default_factory=list)

    def explain_query(self) -> str:
        q = self.query
        parts = []
        for t in _unique_terms(q.terms):
            if t.concept is not None:
                parts.append(("not " if t.negated else "") + (t.text if t.text == t.concept else f"{t.text}→{t.concept}"))
        parts += [f"{f.field}:{f.value}" for f in q.fields]
        parts += q.understood
        return ", ".join(parts)


def _unique_terms(terms: list[Term]) -> list[Term]:
    seen, out = set(), []
    for t in terms:
        key = (t.concept or t.text, t.negated)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def brief_filters(q: BriefQuery, filters: Filters | None = None) -> Filters:
    """The caller's filters plus the brief's rights (one-stop, cleared for, territory)."""
    f = Filters.from_dict((filters or Filters()).to_dict())
    f.one_stop_only = f.one_stop_only or q.one_stop
    f.cleared_for = list(dict.fromkeys([*f.cleared_for, *q.cleared_for]))
    f.territory = f.territory or q.territory
    return f


def _user_words(track) -> set[str]:
    from supervisor_app.catalog.fields import fold

    words = set()
    for t in track.tags or []:
        words.add(fold(t if isinstance(t, str) else str(t[0])))
    if track.genre:
        words.update(fold(g) for g in re.split(r"[,;/]", track.genre) if g.strip())
    return words


def _synonyms(concept: str) -> set[str]:
    return {w for w, c in WORDS.items() if c == concept}


def _tempo_fit(bpm, rng) -> float:
    if bpm is None or rng is None:
        return 0.5
    lo, hi = rng
    best = 0.0
    for b, factor in ((bpm, 1.0), (bpm * 2, 0.7), (bpm / 2, 0.7)):  # half/double tempo: a weaker match
        if (lo is None or b >= lo) and (hi is None or b <= hi):
            best = max(best, factor)
        else:
            d = (lo - b) if lo is not None and b < lo else (b - hi)
            best = max(best, factor * float(2.0 ** (-d / 8.0)))
    return best


def concept_score(prof, track, concept_name: str, user_words: set[str], cal: dict | None = None) -> tuple[float, str]:
    """(0..1, what matched) of one concept on one track (``cal``: the pool calibration, see track_profile)."""
    from supervisor_app.briefs.track_profile import concept_quantile

    cal = cal or {}
    c = CONCEPTS[concept_name]
    if user_words & _synonyms(concept_name):
        return 1.0, "your tag " + next(iter(user_words & _synonyms(concept_name)))
    class_part, what = None, ""
    if c.classes and prof.raw:
        top = max(c.classes, key=lambda name: c.classes[name] * prof.raw.get(name, 0.0))
        class_part = concept_quantile(concept_name, c.classes, prof.raw, cal)
        if class_part is None:  # no calibration pool: the best class's own (quantile or raw) score
            class_part = max(w * prof.classes.get(name, 0.0) for name, w in c.classes.items())
        what = f"{top} {prof.raw.get(top, 0.0):.3f}"
    axes = []
    if c.arousal and prof.arousal is not None:
        axes.append((prof.arousal if c.arousal > 0 else 1.0 - prof.arousal, f"energy {prof.arousal:.2f}"))
    if c.valence and prof.valence is not None:
        axes.append((prof.valence if c.valence > 0 else 1.0 - prof.valence, f"valence {prof.valence:.2f}"))
    if c.build and prof.build is not None:
        axes.append((prof.build, f"build {prof.build:.2f}"))
    if c.tempo_bpm is not None and prof.tempo_bpm is not None:
        axes.append((_tempo_fit(prof.tempo_bpm, c.tempo_bpm), f"{prof.tempo_bpm:.0f} BPM"))
    axis_part = sum(a for a, _ in axes) / len(axes) if axes else None
    if axes:
        what = ", ".join(filter(None, [what] + [n for _, n in axes]))
    if class_part is None and axis_part is None:
        return 0.5, "unknown (not indexed)"  # no evidence either way: neutral, and so is its negation
    if class_part is None:
        return axis_part, what
    if axis_part is None:
        return class_part, what
    return _CLASS_SHARE * class_part + (1 - _CLASS_SHARE) * axis_part, what


def _field_match(track, f) -> bool:
    from supervisor_app.catalog.fields import fold

    value = fold(f.value)
    if f.field == "tag":
        have = " | ".join(fold(t if isinstance(t, str) else str(t[0])) for t in track.tags or [])
    else:
        have = fold(getattr(track, f.field, None) or (Path(track.path).stem if f.field == "title" else ""))
    return bool(value) and re.search(rf"(?<![a-z0-9]){re.escape(value)}", have) is not None


def score_track(q: BriefQuery, terms: list[Term], prof, track, cal: dict | None = None) -> BriefMatch:
    """The brief score of one track with the per-term explanation."""
    from supervisor_app.catalog.fields import fold

    m = BriefMatch(track.id, 0.0)
    total = weight = 0.0
    words = _user_words(track)
    desc = fold(track.description) if getattr(track, "description", None) else ""
    for t in terms:
        if t.concept is not None:
            s, what = concept_score(prof, track, t.concept, words, cal)
        else:  # a free word: the user's tags, genre or the description only
            hit = t.text in words or (desc and re.search(rf"(?<![a-z0-9]){re.escape(t.text)}", desc))
            s, what = (1.0, "your tags/description") if hit else (0.0, "")
        if t.negated:
            s, what = 1.0 - s, f"absent ({what})" if what else "absent"
        total += t.weight * s
        weight += t.weight
        m.matched[("no " if t.negated else "") + t.text] = (what, round(s, 3))
    for f in q.fields:
        hit = _field_match(track, f)
        s = float(hit != f.negated)
        total += _FIELD_WEIGHT * s
        weight += _FIELD_WEIGHT
        m.matched[f"{'-' if f.negated else ''}{f.field}:{f.value}"] = (getattr(track, f.field, "") or "", s)
    if q.tempo_bpm is not None:
        s = _tempo_fit(prof.tempo_bpm, q.tempo_bpm)
        total += s
        weight += 1.0
        m.matched["tempo"] = ("unknown" if prof.tempo_bpm is None else f"{prof.tempo_bpm:.0f} BPM", round(s, 3))
    if q.min_duration_s or q.max_duration_s:
        d = track.duration_s or 0.0
        s = 1.0
        if q.min_duration_s and d < q.min_duration_s:
            s = (d / q.min_duration_s) ** 2
        if q.max_duration_s and d > q.max_duration_s:
            s = min(s, (q.max_duration_s / d) ** 2)
        total += _DURATION_WEIGHT * s
        weight += _DURATION_WEIGHT
        m.matched["duration"] = (f"{d:.0f} s", round(s, 3))
    m.score = round(total / weight, 4) if weight else 0.0
    return m


def rank_brief(catalog, brief: str, *, filters: Filters | None = None, limit: int | None = 50,
               min_score: float | None = None) -> BriefResult:
    """Every track that passes the filters (and the brief's rights), ranked for ``brief``; see the module doc."""
    from supervisor_app.briefs.track_profile import load_calibration, prefetch, track_profile

    q = parse_brief_query(brief)
    terms = _unique_terms(q.terms)
    f = brief_filters(q, filters)
    cal = load_calibration() or {}
    notes = [] if cal else ["no pool calibration found: AudioSet scores are used raw"]
    from supervisor_app.catalog.fields import fold

    tracks = [t for t in catalog.tracks() if t.status == "ok" and f.accepts(t)]
    # free words count only where some track's tags, genre or description has them
    known = set()
    for t in tracks:
        known |= _user_words(t)
        if t.description:
            known.update(fold(t.description).split())
    not_understood = [t.text for t in terms if t.concept is None and t.text not in known]
    terms = [t for t in terms if t.concept is not None or t.text in known]
    matches, n_unprofiled = [], 0
    needed = {name for t in terms if t.concept for name in CONCEPTS[t.concept].classes}
    pre = prefetch(catalog) if not q.is_empty else None
    for t in tracks if not q.is_empty else []:
        prof = track_profile(catalog, t, cal, classes=needed, pre=pre)
        if prof.source == "none":
            n_unprofiled += 1
        matches.append(score_track(q, terms, prof, t, cal))
    if n_unprofiled:
        notes.append(f"{n_unprofiled} track(s) have no audio profile yet ('catalog index' computes it): "
                     "they rank on tags and metadata only")
    matches.sort(key=lambda m: (-m.score, m.track_id))
    if min_score is not None:
        matches = [m for m in matches if m.score >= min_score]
    if limit is not None:
        matches = matches[:limit]
    return BriefResult(q, matches, not_understood, notes)


def search_brief(catalog, brief: str, *, filters: Filters | None = None, limit: int = 50,
                 min_score: float | None = MATCH_SCORE) -> list[BriefMatch]:
    """Tracks that fit the brief (score ≥ ``min_score``), best first; an empty brief gives []."""
    return rank_brief(catalog, brief, filters=filters, limit=limit, min_score=min_score).matches


#: candidate sets for fitting a picture: the tracks scoring ≥ MATCH_SCORE, but at least this many (the
#: brief's best, even when none fits it well) and at most a quarter of the catalog (or this many)
MIN_CANDIDATES = 10


def brief_candidates(catalog, brief: str, filters: Filters | None = None) -> tuple[list[int], Filters, str]:
    """(track ids to leave out, filters with the brief's rights, one line for people) for fitting a video
    to the tracks that fit ``brief`` (``recommend --brief``, the demo, the app): the tracks scoring at
    least :data:`MATCH_SCORE`, at least the best :data:`MIN_CANDIDATES` and at most a quarter of the
    catalog. A brief with nothing understood leaves nothing out (the picture decides)."""
    res = rank_brief(catalog, brief, filters=filters, limit=None)
    f = brief_filters(res.query, filters)
    extra = f"; not understood: {', '.join(res.not_understood)}" if res.not_understood else ""
    if res.query.is_empty or not res.explain_query():
        return [], f, f"brief: nothing understood; fitting every track{extra}"
    if not res.matches:
        return [], f, f"brief ({res.explain_query()}): no track passes its rights and filters{extra}"
    n_good = sum(1 for m in res.matches if m.score >= MATCH_SCORE)
    cap = max(MIN_CANDIDATES, len(res.matches) // 4)
    n = min(max(n_good, MIN_CANDIDATES), cap, len(res.matches))
    keep = {m.track_id for m in res.matches[:n]}
    exclude = [t.id for t in catalog.tracks() if t.id not in keep]
    how = f"{n_good} fit it well" if n_good >= n else f"{n_good} fit it well, the best {n} kept"
    return exclude, f, f"brief ({res.explain_query()}): {how}{extra}"


def _cmd_search(args) -> int:
    import json

    from supervisor_app.catalog.tracks_view import tempo_and_key
    from supervisor_app.infra.fileio import atomic_write_text
    from supervisor_app.cli.recommend import _catalog, _fmt_time, filters_from_args

    with _catalog(args) as cat:
        res = rank_brief(cat, args.brief, filters=filters_from_args(args), limit=args.k)
        rows = []
        for m in res.matches:
            t = cat.get_track(m.track_id)
            bpm, key = tempo_and_key(cat, t)
            rows.append({"track_id": t.id, "path": t.path, "title": t.title or Path(t.path).stem,
                         "artist": t.artist or "", "duration_s": t.duration_s, "bpm": bpm, "key": key,
                         "score": m.score, "matched": {k: [what, s] for k, (what, s) in m.matched.items()}})
    print(f"brief: {res.explain_query() or '(nothing understood)'}")
    if res.not_understood:
        print(f"not understood (matched only against your tags and descriptions): {', '.join(res.not_understood)}")
    for n in res.notes:
        print(f"note: {n}")
    if res.query.is_empty:
        print("The brief names nothing to search for: try moods, styles or instruments, e.g. \"calm piano, no vocals\".")
    elif not rows:
        print("No track passes the brief's rights and your filters.")
    for i, r in enumerate(rows, 1):
        why = "; ".join(f"{k}: {what} {s:.2f}" if what else f"{k}: {s:.2f}" for k, (what, s) in r["matched"].items())
        bpm = "-" if r["bpm"] is None else f"{r['bpm']:.0f}"
        print(f"{i:>2} {r['track_id']:>5}  {r['title'][:30]:<30} {r['artist'][:18]:<18} {_fmt_time(r['duration_s'] or 0):>5} "
              f"{bpm:>4} {(r['key'] or '-'):<9} {r['score']:.2f}  {why}")
    if args.json:
        atomic_write_text(args.json, json.dumps({
            "brief": args.brief, "understood": res.explain_query(), "not_understood": res.not_understood,
            "notes": res.notes, "score": "weighted mean of the brief's terms, 0..1 (0.5 ≈ a typical track)",
            "results": rows}, indent=1, ensure_ascii=False))
    return 0


def add_cli(sub) -> None:
    from supervisor_app.catalog.resolve import catalog_help
    from supervisor_app.cli.recommend import add_filter_arguments

    p = sub.add_parser("search", help="rank catalog tracks for a brief (moods, styles, instruments, tempo, rights)")
    p.add_argument("brief", help='e.g. "calm, hopeful piano, builds to a lift, no vocals, 90-110 bpm, one-stop, '
                                 'artist:Name"')
    p.add_argument("--catalog", metavar="PATH", help=catalog_help())
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--json", metavar="OUT")
    add_filter_arguments(p)
    p.set_defaults(func=_cmd_search)
