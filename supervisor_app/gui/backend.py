"""The GUI's only door to the core: every call the app makes into ``supervisor_app`` goes through here.

The window takes a backend object (dependency injection), so tests can hand it a fake with the same
methods. :class:`CoreBackend` is the real one. It adds no logic of its own: it calls the same entry
points the CLI calls (:mod:`supervisor_app.services`: ``recommend.recommend_for_brief``,
``similar.similar``, ``video_analysis.analyze_video``, ``mockup.preview_edit`` / ``export_mockup``,
``playlists.export_playlist``) and converts their results into the small records below, which the
widgets draw. It never imports :mod:`supervisor_app.cli`.

Threads: methods marked *(job)* are slow and run in a worker thread (:mod:`.workers`); they take
``progress(fraction, stage)`` and ``should_cancel()`` callbacks. A catalog connection belongs to the
thread that opened it, so job methods take the catalog *path* and open their own connection. The
GUI thread keeps its own connection for quick reads and playlist edits (:meth:`open_catalog`).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from supervisor_app.infra.errors import SupervisorError, UsageError
from supervisor_app.infra.jobs import ProgressFn, check_cancelled, never_cancel, no_progress
from supervisor_app.infra.jobs import ShouldCancel as CancelFn


# --- records the widgets draw ------------------------------------------------------------------
@dataclass
class VideoAnalysis:
    """A video's structure for the timeline (seconds; the cut curve at 25 Hz)."""

    path: str
    duration_s: float
    fps: float
    width: int
    height: int
    has_audio: bool
    cut_probs_25hz: np.ndarray
    cuts_s: np.ndarray
    shots_s: list  # [(start_s, end_s)]
    segments_s: list  # video segments used for matching [(start_s, end_s)]
    threshold: float = 0.5
    segmentation: str = "shots"  # how the segments were made: shots, or olda/foote/sf on the soundtrack
    provisional: bool = False  # cuts from a quick frame-difference pass, before TransNetV2 has run


@dataclass
class Candidate:
    """One track proposed for the video (from recommendations, similar tracks or the catalog)."""

    track_id: Optional[int]
    path: str
    title: str
    artist: str
    duration_s: Optional[float]
    bpm: Optional[float] = None
    score: Optional[float] = None  # content score (higher is better)
    sync_score: Optional[float] = None  # the calibrated cut/downbeat sync part of the fit (higher is better)
    rank: int = 0
    alignment: list = field(default_factory=list)  # [{music_start_s, music_end_s, video_start_s, video_end_s}]
    edit: Any = None  # supervisor_app.edit.edl.Edit, or None until computed
    reasons: list = field(default_factory=list)  # sentences
    source: str = "recommend"  # recommend | similar | catalog
    raw: Any = None  # the core's own result object
    tags: list = field(default_factory=list)  # catalog tags and genre (filled from the catalog)
    bpm_source: str = ""  # "tag" | "analysis" | "" (where ``bpm`` came from)
    music_key: Optional[str] = None  # musical key from the catalog's analysis, e.g. "A minor" ("?" appended: uncertain)
    fit_score: Optional[float] = None  # sync + form: what the fit ranking orders by (recommend's ``fit_score``)
    edit_mode: str = ""  # 'metric' | 'free-time' | 'button' (recommend's; '' when not from recommend)
    provisional: bool = False  # ranked on the picture's provisional cuts, before its shot detection had run

    @property
    def label(self) -> str:
        return f"{self.title or Path(self.path).stem} — {self.artist}" if self.artist else (self.title or Path(self.path).stem)

    def key(self):
        return self.track_id if self.track_id is not None else self.path


class RankedCandidates(list):
    """The ranked candidates of one recommendation (a list), with ``excluded``: the tracks that passed the
    filters but could not be ranked, as ``(title, reason)`` (``RecommendationResult.excluded``)."""

    def __init__(self, rows=(), excluded=()):
        super().__init__(rows)
        self.excluded = [(str(t), str(r)) for t, r in excluded]


class _Batched:
    """Streamed results handed on in batches: the first at once, then at most every ``every_s`` seconds
    (and the rest by :meth:`flush`), so the list fills as candidates are scored without the window
    re-sorting and redrawing it for each of 40 while the shot detection shares the same cores."""

    def __init__(self, hand_on: Callable[[list], None], prepare: Callable[[list], None] = lambda rows: None,
                 every_s: float = 0.3):
        self._hand_on, self._prepare, self._every_s = hand_on, prepare, every_s
        self._rows: list = []
        self._last = -float("inf")

    def add(self, row) -> None:
        import time

        self._rows.append(row)
        if time.monotonic() - self._last >= self._every_s:
            self.flush()

    def flush(self) -> None:
        import time

        if self._rows:
            rows, self._rows = self._rows, []
            self._prepare(rows)
            self._last = time.monotonic()
            self._hand_on(rows)


@dataclass
class RecommendSettings:
    """What the recommendations panel asks for (names as in ``supervisor-app recommend``)."""

    model: Optional[str] = None  # None: the default model
    segmentation: str = "shots"
    distance: str = "nw-dtw"
    rank_by: str = "fused"
    k: int = 10
    filters: dict = field(default_factory=dict)  # supervisor_app.catalog.filters.Filters.to_dict()
    brief: str = ""  # keywords: only tracks matching them are fitted (supervisor_app.briefs.search)
    provisional: bool = True  # a first list on quick cuts while a new picture's shots are detected


@dataclass
class Preview:
    """A candidate's edit ready to play: the edit, what the timeline overlays, and the rendered music."""

    candidate: Candidate
    edit: Any  # Edit
    excerpts: list  # dicts: video_start_s, video_end_s, music_in_s, music_out_s, snap_offset_s
    downbeats_video_s: np.ndarray  # the music's downbeats where they play on the video (s)
    pairs: list  # alignment pairs for the overlay
    music_wav: Optional[str]  # rendered mockup music (starts at video time 0)
    bar_s: float  # one bar of this music (s)
    start_offset_s: Optional[float] = None  # music time the edit starts from
    sync_points_s: tuple = ()
    sync_score: Optional[float] = None  # calibrated sync of this edit (S above random offsets of the same edit)
    fit_score: Optional[float] = None  # this edit's fit: sync + form (ranking.form_score), as recommend ranks
    envelope: Optional[np.ndarray] = None  # the edited music's waveform on the video's time axis (peaks 0..1)
    envelope_rate_hz: float = 100.0
    music_boundaries_s: tuple = ()  # the track's section boundaries (music time, s), for the timeline's labels


_progress_noop = no_progress  # the jobs contract's defaults (infra.jobs)
_never = never_cancel


class CoreBackend:
    """The real backend: thin calls into the core (see the module docstring)."""

    name = "core"
    from supervisor_app.services.mockup import MOCKUP_FORMATS  # noqa: E402  (class attributes, shared with the CLI)
    from supervisor_app.services.playlists import PLAYLIST_FORMATS  # noqa: E402

    def __init__(self, work_dir: Optional[str | Path] = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="supervisor-gui-") if work_dir is None else None
        self.work_dir = Path(work_dir) if work_dir is not None else Path(self._tmp.name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._n_renders = 0

    # -- settings the panels offer ------------------------------------------------------------------
    def settings_options(self) -> dict:
        """Choices for the recommendation settings: {field: [(value, label), ...]}."""
        from supervisor_app.infra.paths import MODELS_DIR

        models = [(None, "None — rank by fit to the picture")]
        model_info = {None: "No trained model: candidates are ranked by how well their beats and sections fit the "
                            "picture's cuts (calibrated sync score), not by content."}
        try:
            from supervisor_app.nets.model_store import read_card

            from supervisor_app.nets.model_store import user_models_dir

            dirs = [r for r in (MODELS_DIR, user_models_dir()) if r.is_dir()]
            for d in sorted((p for r in dirs for p in r.iterdir() if p.is_dir()), key=lambda p: p.name):
                try:
                    card = read_card(d)
                except SupervisorError:
                    continue
                if card.kind != "segvmnet":  # MuSimNet/VM-Net models are not video→music rankers
                    continue
                models.append((d.name, f"{card.name} ({card.kind}, {card.segmentation} segments)"))
                model_info[d.name] = _card_summary(card)
        except ImportError:
            pass
        try:  # the measured numbers, where the models list them (issue 19: honest selector)
            from supervisor_app.gui.wording import model_choice_label

            for m in self.model_summaries(None):
                name = Path(m.path).name
                if name in model_info:
                    models = [(v, model_choice_label(m) if v == name else lab) for v, lab in models]
                    model_info[name] = m.text() + "\n\n" + model_info[name]
        except (ImportError, SupervisorError):
            pass
        from supervisor_app.ranking.names import DISTANCES as distances
        from supervisor_app.services.recommend import RANK_BY as rank_by
        labels = {"content": "Content (model score)", "sync": "Fit to the picture (sync)", "fused": "Content + fit"}
        return {
            "model": models,
            "segmentation": [("shots", "Shots (TransNetV2)"), ("olda", "Soundtrack sections (OLDA)"),
                             ("foote", "Soundtrack sections (Foote)"), ("sf", "Soundtrack sections (SF)")],
            "distance": [(d, d) for d in distances],
            "rank_by": [(None, "Automatic")] + [(r, labels.get(r, r)) for r in rank_by],
            "model_info": model_info,
        }

    def device_name(self) -> str:
        """"GPU (name)" when CUDA is there, else "CPU"."""
        try:
            from supervisor_app.nets.device import select_device

            dev = select_device("auto")
            kind = getattr(dev, "type", str(dev))
            if kind == "cuda":
                import torch

                return f"GPU ({torch.cuda.get_device_name(0)})"
            if kind == "mps":
                return "GPU (Apple MPS)"
        except Exception:  # torch missing or broken: the models cannot run anyway
            pass
        return "CPU"

    # -- media (quick) --------------------------------------------------------------------------------
    def probe(self, path):
        from supervisor_app.media import probe

        return probe(path)

    # -- catalog (GUI-thread connection) ------------------------------------------------------------
    def open_catalog(self, path, create: bool = False):
        from supervisor_app.catalog import Catalog

        return Catalog.create(path) if create else Catalog.open(path)

    def catalog_stats_text(self, catalog) -> str:
        """One line: tracks, hours, how many are analysed for recommendation, problems, playlists."""
        s = catalog.stats()
        hours = s.get("total_duration_s", 0.0) / 3600.0
        by = s.get("by_status", {})
        analysed = ""
        try:
            from supervisor_app.indexing.keys import beats_key

            name, version = beats_key()
            analysed = f"{s.get('analyses', {}).get(name, {}).get(version, 0)} analysed for recommendation · "
        except ImportError:
            pass
        return (f"{s.get('tracks', 0)} tracks ({hours:.1f} h) · {analysed}{by.get('missing', 0)} missing · "
                f"{by.get('error', 0)} unreadable · {s.get('playlists', 0)} playlist(s)")

    # -- video analysis (job) -----------------------------------------------------------------------
    def analyze_video(self, path, progress: ProgressFn = _progress_noop, should_cancel: CancelFn = _never,
                      segmentation: str = "shots", partial: Optional[Callable[[VideoAnalysis], None]] = None,
                      partial_every_s: float = 0.5,
                      provisional: Optional[Callable[[VideoAnalysis], None]] = None) -> VideoAnalysis:
        """Probe the video, detect its shots and its matching segments (cached by content hash).

        ``partial(VideoAnalysis so far)`` follows the shot detection (at most every ``partial_every_s``):
        the cut curve, cuts and shots of the part analysed, for a timeline that fills in.
        ``provisional(VideoAnalysis)``: for a picture whose shots are not cached, it is decoded first and
        its provisional analysis (quick cuts, ``provisional=True``) handed over within seconds, before the
        shot detection runs on the same frames (``recommend(picture=...)`` ranks on it), on a thread of
        lower priority than the ranking."""
        import time

        from supervisor_app.infra.jobs import sub_progress
        from supervisor_app.services.video_analysis import analyze_video, decode_for_provisional, provisional_analysis

        info = self.probe(path)
        decoded = None
        if provisional is not None and segmentation == "shots":
            decoded = decode_for_provisional(path, progress=sub_progress(progress, 0.0, 0.3), should_cancel=should_cancel)
            if decoded is not None:
                q = provisional_analysis(decoded)
                _check_cancel(should_cancel)
                provisional(self._video_record(q, info, provisional=True))
                progress = sub_progress(progress, 0.3, 1.0)
        last = [0.0]

        def on_partial(r):
            now = time.monotonic()
            if now - last[0] >= partial_every_s:
                last[0] = now
                partial(VideoAnalysis(path=str(path), duration_s=float(info.duration_s or r.duration_s),
                                      fps=float(r.fps or info.fps or 25.0), width=int(info.width or 0),
                                      height=int(info.height or 0), has_audio=bool(info.has_audio),
                                      cut_probs_25hz=np.asarray(r.cut_probs_25hz, dtype=np.float32),
                                      cuts_s=np.asarray(r.cuts_s, dtype=float),
                                      shots_s=[(float(a), float(e)) for a, e in r.shots], segments_s=[],
                                      segmentation="partial"))

        extra = {"partial": on_partial} if partial else {}
        if decoded is None:
            va = analyze_video(path, segmentation=segmentation, progress=progress, should_cancel=should_cancel, **extra)
        else:  # behind the provisional ranking the window now runs: on the cores it leaves free
            from supervisor_app.infra.jobs import Background

            va = Background(lambda cancel, report: analyze_video(path, segmentation=segmentation, progress=report,
                                                                 should_cancel=cancel, decoded=decoded, **extra),
                            should_cancel, progress, name="shots-behind-provisional").result()
        _check_cancel(should_cancel)
        return self._video_record(va, info)

    @staticmethod
    def _video_record(va, info, provisional: bool = False) -> VideoAnalysis:
        """The timeline's record of the core's analysis ``va`` (QueryVideoAnalysis) of a probed video."""
        b = np.asarray(va.boundaries_s, dtype=float)
        return VideoAnalysis(path=str(va.path), duration_s=float(va.duration_s), fps=float(va.fps or info.fps or 25.0),
                             width=int(info.width or 0), height=int(info.height or 0), has_audio=bool(info.has_audio),
                             cut_probs_25hz=np.asarray(va.cut_probs_25hz, dtype=np.float32),
                             cuts_s=np.asarray(va.cuts_s, dtype=float), shots_s=[(float(a), float(e)) for a, e in va.shots],
                             segments_s=[(float(x), float(y)) for x, y in zip(b[:-1], b[1:])],
                             segmentation=str(va.segmentation), provisional=provisional)

    @staticmethod
    def _query_analysis(video: VideoAnalysis):
        """The core's analysis (QueryVideoAnalysis) back from a timeline record: what ``recommend`` reads of it."""
        from supervisor_app.services.video_analysis import PROVISIONAL_NOTE, QueryVideoAnalysis

        seg = list(video.segments_s) or list(video.shots_s) or [(0.0, float(video.duration_s))]
        bounds = np.asarray([float(a) for a, _e in seg] + [float(seg[-1][1])], dtype=float)
        return QueryVideoAnalysis(path=str(video.path), content_hash="", duration_s=float(video.duration_s),
                                  fps=float(video.fps), cuts_s=[float(c) for c in video.cuts_s],
                                  shots=[(float(a), float(e)) for a, e in video.shots_s],
                                  cut_probs_25hz=np.asarray(video.cut_probs_25hz, dtype=np.float32), boundaries_s=bounds,
                                  segmentation="shots", notes=[PROVISIONAL_NOTE] if video.provisional else [],
                                  provisional=bool(video.provisional))

    # -- recommendations (job) ----------------------------------------------------------------------
    def recommend(self, video_path, catalog_path, settings: RecommendSettings, progress: ProgressFn = _progress_noop,
                  should_cancel: CancelFn = _never, partial: Optional[Callable[[list], None]] = None,
                  sync_points_s: Sequence[float] = (), picture: Optional[VideoAnalysis] = None) -> list[Candidate]:
        """Rank the catalog for the video (``supervisor-app recommend``); each scored track goes to ``partial``.
        ``picture``: rank on this analysis of the video (fit only), e.g. a provisional one (``analyze_video``'s
        ``provisional``): the candidates are then ``provisional`` too."""
        from supervisor_app.catalog import Catalog
        from supervisor_app.catalog.filters import Filters
        from supervisor_app.services.recommend import recommend_for_brief

        filters = Filters.from_dict(settings.filters)
        with Catalog.open(catalog_path) as cat:
            brief = settings.brief if settings.brief.strip() else None  # the candidates of `recommend --brief`
            if brief:
                progress(None, "searching the brief")
            known: dict = {}

            def cand(r):
                c = self._candidate(r, "recommend")
                enrich_candidates([c], cat, known)
                return c

            batch = _Batched(lambda rows: partial(rows), lambda rows: enrich_candidates(rows, cat, known)) \
                if partial is not None else None
            on_result = (lambda r: batch.add(self._candidate(r, "recommend"))) if batch is not None else None
            # the distance combo applies with a model only (recommend notes a distance given without one)
            res, brief_note = recommend_for_brief(
                video_path, cat, brief, model=settings.model, distance=settings.distance if settings.model else None,
                k=int(settings.k), rank_by=settings.rank_by, filters=filters, segmentation=settings.segmentation or None,
                sync_points_s=tuple(sync_points_s), progress=progress, should_cancel=should_cancel, on_result=on_result,
                **({"picture": self._query_analysis(picture)} if picture is not None else {}))
            if batch is not None:
                batch.flush()
            out = RankedCandidates([cand(r) for r in res.results], [(e.title, e.reason) for e in res.excluded])
        notes = ([brief_note] if brief_note else []) + list(res.notes)
        for c in out:
            c.reasons = c.reasons + [n for n in notes if n not in c.reasons][:2]
        return out

    def explain_brief(self, catalog_path, brief: str, filters: Optional[dict] = None,
                      should_cancel: CancelFn = _never) -> dict:
        """What the brief search understands of ``brief`` (job; ``search``'s first lines): {"understood":
        ``rank_brief(...).explain_query()``, "not_understood": words, "notes": [...]}."""
        from supervisor_app.briefs.search import rank_brief
        from supervisor_app.catalog import Catalog
        from supervisor_app.catalog.filters import Filters

        if not brief.strip():
            return {"understood": "", "not_understood": [], "notes": []}
        with Catalog.open(catalog_path) as cat:
            res = rank_brief(cat, brief, filters=Filters.from_dict(filters or {}), limit=0)
        _check_cancel(should_cancel)
        return {"understood": res.explain_query(), "not_understood": list(res.not_understood),
                "notes": list(res.notes)}

    def _candidate(self, r, source: str) -> Candidate:
        g = (lambda k, d=None: r.get(k, d)) if isinstance(r, dict) else (lambda k, d=None: getattr(r, k, d))
        path = str(g("path", ""))
        return Candidate(track_id=g("track_id"), path=path, title=g("title") or Path(path).stem, artist=g("artist") or "",
                         duration_s=_opt_float(g("duration_s")), bpm=_opt_float(g("bpm")), score=_opt_float(g("score")),
                         sync_score=_opt_float(g("sync_score")), rank=int(g("rank", 0) or 0),
                         alignment=list(g("alignment") or []), edit=g("edit"), reasons=list(g("reasons") or []),
                         source=source, raw=r, fit_score=_opt_float(g("fit_score")), edit_mode=str(g("edit_mode") or ""),
                         provisional=bool(g("provisional", False)))

    # -- similar tracks (job) -----------------------------------------------------------------------
    def similarity_models(self) -> list[tuple[Optional[str], str]]:
        """The similarity spaces the "More like this" panel offers: (value, label); None = the catalog's own
        choice, "none" = the general-purpose sound model, then every installed trained MuSimNet."""
        out: list[tuple[Optional[str], str]] = [(None, "Catalog default"), ("none", "General sound similarity (YAMNet)")]
        try:
            from supervisor_app.nets.model_store import read_card, user_models_dir
            from supervisor_app.infra.paths import MODELS_DIR

            dirs = [r for r in (MODELS_DIR, user_models_dir()) if r.is_dir()]
            for d in sorted((p for r in dirs for p in r.iterdir() if p.is_dir()), key=lambda p: p.name):
                try:
                    card = read_card(d)
                except SupervisorError:
                    continue
                if card.kind == "musimnet":
                    out.append((d.name, f"{card.name} (trained on tags)"))
        except ImportError:
            pass
        return out

    def track_details(self, catalog, track_id: int) -> dict:
        """What the details pane shows about a catalog track (GUI-thread catalog connection): the track's
        columns, its tags and rights, and what the indexer measured (tempo, meter, downbeats, sections)."""
        t = catalog.get_track(int(track_id))
        if t is None:
            return {}
        d = {"title": t.title or Path(t.path).stem, "artist": t.artist or "", "album": t.album or "",
             "genre": t.genre or "", "duration_s": t.duration_s, "bpm_tag": t.bpm_tag, "tags": list(t.tags or []),
             "rights": dict(t.rights or {}), "notes": t.notes or "", "path": t.path, "size_bytes": t.size_bytes,
             "status": t.status, "error": t.error or ""}
        try:
            from supervisor_app.indexing.keys import beats_key

            rec = catalog.get_analysis(t.id, *beats_key())
        except (ImportError, SupervisorError):
            rec = None
        if rec is not None and rec.result:
            r = rec.result
            d["analysis"] = {"tempo_bpm": r.get("tempo_bpm"), "meter": r.get("meter"),
                             "downbeats": len(r.get("downbeats_s") or []), "beats": len(r.get("beats_s") or [])}
        elif rec is not None:
            d["analysis_error"] = rec.error or "failed"
        from supervisor_app.catalog.tracks_view import track_facts

        d["facts"] = track_facts(catalog, t)  # every field, tempo, key and auto-tags (as ``catalog show``)
        return d

    def set_track_metadata(self, catalog, track_id: int, texts: dict) -> dict:
        """Save fields the user typed ({field: text}; '' clears) as ``catalog edit --set`` does (the core's
        ``parse_value`` and ``Catalog.set_metadata``, all or nothing); returns :meth:`track_details` after.
        ``UsageError`` names the value that cannot be read."""
        from supervisor_app.catalog.fields import canonical_field, parse_value

        values = {}
        for key, text in texts.items():
            name = canonical_field(key)
            values[name] = parse_value(name, text)
        catalog.set_metadata(int(track_id), values)
        return self.track_details(catalog, track_id)

    def refresh_candidates(self, catalog, cands) -> None:
        """Re-read the tags and tempo of catalog candidates after their tracks changed (GUI thread)."""
        for c in cands:
            if c.track_id is not None:
                c.tags = []
                if c.bpm_source in ("tag", "analysis") and c.source != "recommend":
                    c.bpm, c.bpm_source = None, ""
        enrich_candidates(cands, catalog)

    def similar(self, seed: Candidate, catalog_path, k: int = 10, filters: Optional[dict] = None,
                progress: ProgressFn = _progress_noop, should_cancel: CancelFn = _never,
                model: Optional[str] = None) -> list[Candidate]:
        """Tracks like ``seed`` (``supervisor-app similar``): by catalog id, else by file, in the similarity
        space ``model`` (see :meth:`similarity_models`). Each result's last reason says what "similar"
        means here (the similarity space used)."""
        from supervisor_app.catalog import Catalog
        from supervisor_app.catalog.filters import Filters
        from supervisor_app.services.similar import similar

        progress(None, "Searching similar tracks")
        with Catalog.open(catalog_path) as cat:
            query = seed.track_id if seed.track_id is not None else seed.path
            res = similar(query, cat, k=int(k), filters=Filters.from_dict(filters or {}), model=model,
                          progress=progress, should_cancel=should_cancel)
            _check_cancel(should_cancel)
            out = []
            for r in res.results:
                c = self._candidate(r, "similar")
                c.reasons = list(c.reasons) + list(res.notes) + [f"similarity: {res.space_note}"]
                out.append(c)
            enrich_candidates(out, cat)
        return out

    # -- catalog jobs -------------------------------------------------------------------------------
    def add_folder(self, catalog_path, folder, progress: ProgressFn = _progress_noop, should_cancel: CancelFn = _never):
        """Scan a folder into the catalog (``catalog add``); returns the ScanReport (per-file errors inside)."""
        from supervisor_app.catalog import Catalog

        with Catalog.create(catalog_path) as cat:
            return cat.add_folder(folder, progress=progress, should_cancel=should_cancel)

    def index_catalog(self, catalog_path, progress: ProgressFn = _progress_noop, should_cancel: CancelFn = _never,
                      model: Optional[str] = None) -> str:
        """Analyse every track for recommendation (``catalog index``; resumable); returns a one-line summary."""
        from supervisor_app.catalog import Catalog
        from supervisor_app.indexing.pipeline import index_catalog
        from supervisor_app.services.recommend import load_active_model

        loaded = load_active_model(model)

        with Catalog.open(catalog_path) as cat:
            report = index_catalog(cat, model=loaded, progress=progress, should_cancel=should_cancel)
        return report.summary()

    # -- waveforms (job) ----------------------------------------------------------------------------
    def sound_envelope(self, video_path, should_cancel: CancelFn = _never) -> Optional[np.ndarray]:
        """The video's production sound as a waveform envelope (peaks 0..1 at ENVELOPE_RATE_HZ), or None
        when it has no sound."""
        from supervisor_app.infra.errors import NoAudioStreamError
        from supervisor_app.media import load_audio

        try:
            y = load_audio(video_path, sr=ENVELOPE_SR)
        except NoAudioStreamError:
            return None
        _check_cancel(should_cancel)
        return peak_envelope(y, ENVELOPE_SR, ENVELOPE_RATE_HZ)

    # -- previews (job) -----------------------------------------------------------------------------
    def track_events(self, candidate: Candidate, catalog_path):
        """The :class:`~supervisor_app.edit.planner.TrackEvents` of a candidate: from its recommendation, else
        from the catalog's analyses (as ``recommend`` reads them), else analysed now (cached)."""
        from supervisor_app.edit.planner import TrackEvents

        raw = candidate.raw
        db, mb = getattr(raw, "downbeats_s", None), getattr(raw, "music_boundaries_s", None)
        if db is not None and mb is not None and len(db) >= 2 and len(mb) >= 2:
            return TrackEvents.from_downbeats(candidate.path, float(candidate.duration_s or mb[-1]), db,
                                              np.asarray(mb, float))
        if candidate.track_id is not None and catalog_path:
            from supervisor_app.catalog import Catalog
            from supervisor_app.indexing.keys import DEFAULT_SEGMENTATION, beats_key
            from supervisor_app.indexing.reads import track_boundaries_s

            with Catalog.open(catalog_path) as cat:
                t = cat.get_track(int(candidate.track_id))
                rec = cat.get_analysis(t.id, *beats_key()) if t is not None else None
                if t is not None and rec is not None and t.duration_s:
                    # a track without a steady beat (result None) is cut in free time by the planner
                    bounds = track_boundaries_s(cat, t, DEFAULT_SEGMENTATION)
                    if bounds is None or len(bounds) < 2:
                        bounds = np.array([0.0, float(t.duration_s)])
                    return TrackEvents.from_analyses(t.path, float(t.duration_s), rec.result,
                                                     np.asarray(bounds, float), beats_error=rec.error,
                                                     content_hash=t.content_hash)
        from supervisor_app.services.mockup import track_events

        return track_events(candidate.path)

    def prepare_preview(self, candidate: Candidate, video: VideoAnalysis, catalog_path, sync_points_s: Sequence[float] = (),
                        start_offset_s: Optional[float] = None, render: bool = True,
                        progress: ProgressFn = _progress_noop, should_cancel: CancelFn = _never) -> Preview:
        """The candidate's edit (as recommended, or rebuilt with sync points / a start offset, as
        ``supervisor-app mockup`` does) and its music rendered to a WAV for the player."""
        sync = tuple(float(s) for s in sync_points_s)
        pairs = list(candidate.alignment)
        progress(0.05, "Reading the track's beats and sections")
        ev = self.track_events(candidate, catalog_path)
        _check_cancel(should_cancel)
        progress(0.2, "Cutting the music to the picture")
        path = None
        if pairs and all("music_segment" in p and "video_segment" in p for p in pairs):
            path = [(int(p["music_segment"]), int(p["video_segment"])) for p in pairs]
        if (not sync and start_offset_s is None and candidate.fit_score is not None
                and getattr(candidate.edit, "excerpts", None)):
            # the edit the recommendation ranked, with the fit it was ranked by (nothing to rebuild)
            edit, offset = candidate.edit, float(candidate.edit.excerpts[0].music_in_s)
            sync_score, fit_score = candidate.sync_score, candidate.fit_score
        else:  # rebuilt for the user's start or sync points (as `mockup` does): its fit judged as recommend judges one
            from supervisor_app.services.mockup import preview_edit

            edit, offset, sc = preview_edit(video, ev, path, start_offset_s, sync,
                                            mode=getattr(candidate.raw, "edit_mode", None) or None)
            sync_score = float(sc.score)
            fit_score = _edit_fit(edit, sync_score, ev)
        downbeats = ev.downbeats_s
        if path is None:
            pairs = _edit_pairs(edit)
        _check_cancel(should_cancel)
        downbeats = np.asarray(downbeats, dtype=float)
        bar_s = float(np.median(np.diff(downbeats))) if downbeats.size > 1 else 2.0
        wav = None
        if render:
            progress(0.6, "Rendering the mockup music")
            from supervisor_app.edit.render_cache import render_wav_cached as render_wav  # served from the render cache

            self._n_renders += 1
            wav = str(render_wav(edit, candidate.path, self.work_dir / f"preview-{_slug(candidate)}-{self._n_renders}.wav"))
            self._forget_old_previews(keep=wav)
            progress(0.9, "Drawing the music's waveform")
            envelope = wav_envelope(wav, ENVELOPE_RATE_HZ)
        else:
            envelope = None
        _check_cancel(should_cancel)
        progress(1.0, "Mockup ready")
        if offset is None and edit.excerpts:
            offset = float(edit.excerpts[0].music_in_s)
        return Preview(candidate=candidate, edit=edit, excerpts=[_excerpt_dict(e) for e in edit.excerpts],
                       downbeats_video_s=np.asarray(edit.music_to_video(downbeats)), pairs=pairs, music_wav=wav,
                       bar_s=bar_s, start_offset_s=offset, sync_points_s=sync, sync_score=sync_score, fit_score=fit_score,
                       envelope=envelope, envelope_rate_hz=ENVELOPE_RATE_HZ,
                       music_boundaries_s=tuple(float(x) for x in np.asarray(ev.boundaries_s, float).ravel()))

    def _forget_old_previews(self, keep: str, n_keep: int = 4) -> None:
        """Delete all but the newest preview WAVs (each is ~9 MB per 30 s; the player uses the newest)."""
        wavs = sorted(self.work_dir.glob("preview-*.wav"), key=lambda p: p.stat().st_mtime)
        for p in wavs[:-n_keep]:
            if str(p) != keep:
                p.unlink(missing_ok=True)

    # -- exports ------------------------------------------------------------------------------------
    def export_mockup(self, preview: Preview, video_path, fmt: str, out_path, progress: ProgressFn = _progress_noop,
                      should_cancel: CancelFn = _never) -> Path:
        """Write the mockup as MP4 / WAV / OTIO / FCP XML / EDL at ``out_path`` (as ``supervisor-app mockup``)."""
        from supervisor_app.services.mockup import export_mockup

        fmt = fmt.lower()
        edit, track = preview.edit, preview.candidate.path
        if fmt == "mp4":
            return export_mockup(edit, video_path, track, fmt, out_path, progress=progress, should_cancel=should_cancel)
        if fmt == "wav":
            progress(None, "Rendering the WAV")
        elif fmt in self.MOCKUP_FORMATS:
            progress(None, f"Writing the {fmt.upper()} timeline")
        return export_mockup(edit, video_path, track, fmt, out_path)

    def record_mockup_decision(self, catalog_path, video_path, preview: Preview, approved: bool):
        """Keep the user's choice on a mockup in the catalog's archive (job; ``mockup --approve``): the core's
        ``archive.record_mockup_decision``. Returns its ``MockupDecision``."""
        from supervisor_app.archive import record_mockup_decision

        c = preview.candidate
        if c.track_id is None:
            raise UsageError("Only catalog tracks can be approved or rejected: add the file's folder to the catalog first.")
        return record_mockup_decision(str(catalog_path), video_path, int(c.track_id), preview.edit, bool(approved))

    def read_timeline(self, path, fps: Optional[float] = None):
        """Re-open an exported timeline with OpenTimelineIO (EDLs need the video's frame rate)."""
        from supervisor_app.edit.export_timeline import read_timeline, timecode_rate

        return read_timeline(path, rate=timecode_rate(fps) if fps else None)

    def train_segvmnet(self, clips_dir, name: str, segmentation: str = "olda", progress=None,
                       should_cancel=None, log=None) -> str:
        """Train Seg-VM-Net on a folder of the user's clips (the CLI's ``train segvmnet --preset small-data``)
        into the app's models folder; ``progress(fraction, stage)`` carries an estimated time left."""
        from supervisor_app.nets.model_store import user_models_dir
        from supervisor_app.segvmnet.train import train_from_folder

        cfg, on_files, on_epoch = _training_progress(progress, "features")
        out = user_models_dir() / name
        result, folder = train_from_folder(clips_dir, out, cfg, segmentation=segmentation, progress=on_files,
                                           on_epoch=on_epoch, log=log, should_stop=should_cancel)
        v = result.val_metrics["V2M"]
        return (f"Model {name!r} trained on {result.n_val_clips} validation clips: V2M mean rank "
                f"{v['mean_rank']:.1f} (chance {(result.n_val_clips + 1) / 2:.1f}), R@1 {v['recall']['R@1']:.1f} %.")

    def import_metadata(self, catalog_path, file, dry_run: bool = True):
        """A library's CSV/XLSX into the catalog (job; ``catalog import-metadata [--dry-run]``): the core's
        ``import_metadata``; returns its ``ImportReport``."""
        from supervisor_app.catalog import Catalog
        from supervisor_app.catalog.import_metadata import import_metadata

        with Catalog.open(catalog_path) as cat:
            return import_metadata(cat, file, dry_run=dry_run)

    # -- models and the archive ----------------------------------------------------------------------
    def model_summaries(self, catalog=None) -> list:
        """Every installed Seg-VM-Net model's measured numbers (``archive.training.model_summaries``: held-out
        mean rank and R@10 beside chance and the fit-only ranking, training pairs; the active one marked)."""
        try:
            from supervisor_app.archive.training import model_summaries
        except ImportError:
            return []
        return model_summaries(catalog)

    def archive_pair_count(self, catalog) -> int:
        """How many pairs the catalog's archive can train on (timeline pairs and approved mockups)."""
        from supervisor_app.archive import store

        return len(store.training_pairs(catalog))

    def train_from_archive(self, catalog_path, segmentation: str = "olda", progress=None, should_cancel=None,
                           log=None) -> str:
        """Train Seg-VM-Net on the catalog's archive (``train segvmnet --archive``): split by commercial, measured
        on held-out pairs, activated only when it beats the active model. Returns the sentences to show."""
        from supervisor_app.archive.training import train_from_archive

        cfg, on_files, on_epoch = _training_progress(progress, "pairs analysed")
        out = train_from_archive(str(catalog_path), config=cfg, segmentation=segmentation, progress=on_files,
                                 on_epoch=on_epoch, log=log, should_stop=should_cancel)
        verdict = "It is now the active model" if out.activated else "It was kept beside the active model"
        return f"{out.summary.text()}. {verdict}: {out.reason}."

    def export_playlist(self, catalog_path, playlist_id: int, fmt: str, out_path) -> Path:
        """Write a catalog playlist as M3U8 / CSV / JSON (the core's ``playlist export``)."""
        from supervisor_app.catalog import Catalog
        from supervisor_app.services.playlists import export_playlist

        with Catalog.open(catalog_path) as cat:
            return export_playlist(cat, playlist_id, fmt, out_path)

    def candidate_payload(self, preview_or_candidate, video_path: Optional[str]) -> dict:
        """What a playlist entry stores about a candidate (scores, reasons, alignment, edit)."""
        is_preview = isinstance(preview_or_candidate, Preview)
        cand = preview_or_candidate.candidate if is_preview else preview_or_candidate
        edit = preview_or_candidate.edit if is_preview else cand.edit
        return {"video": str(video_path) if video_path else None, "score": cand.score,
                "sync_score": preview_or_candidate.sync_score if is_preview else cand.sync_score,
                "fit_score": preview_or_candidate.fit_score if is_preview else cand.fit_score,
                "rank": cand.rank, "reasons": list(cand.reasons), "alignment": list(cand.alignment),
                "edit": edit.to_dict() if edit is not None and hasattr(edit, "to_dict") else None}

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


# --- helpers -------------------------------------------------------------------------------------
ENVELOPE_RATE_HZ = 100.0  # waveform envelopes: one peak per 10 ms
ENVELOPE_SR = 8000  # production sound decoded at this rate for its envelope


def peak_envelope(y: np.ndarray, sr: float, rate_hz: float = ENVELOPE_RATE_HZ) -> np.ndarray:
    """Peak |amplitude| per 1/rate_hz s of mono samples ``y``, scaled so the loudest peak is 1."""
    y = np.abs(np.asarray(y, dtype=np.float32).ravel())
    hop = max(1, int(round(sr / rate_hz)))
    n = int(np.ceil(y.size / hop))
    if n == 0:
        return np.zeros(0, np.float32)
    y = np.pad(y, (0, n * hop - y.size))
    env = y.reshape(n, hop).max(axis=1)
    top = float(env.max())
    return (env / top).astype(np.float32) if top > 1e-6 else env


def wav_envelope(path, rate_hz: float = ENVELOPE_RATE_HZ) -> Optional[np.ndarray]:
    """The waveform envelope of a rendered WAV (read in blocks; None when it cannot be read)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        hop = max(1, int(round(info.samplerate / rate_hz)))
        peaks = []
        for block in sf.blocks(str(path), blocksize=hop * 1000, dtype="float32", always_2d=True):
            peaks.append(_block_peaks(np.abs(block).max(axis=1), hop))
        if not peaks:
            return np.zeros(0, np.float32)
        env = np.concatenate(peaks)
    except (RuntimeError, OSError):
        return None
    top = float(env.max()) if env.size else 0.0
    return (env / top).astype(np.float32) if top > 1e-6 else env.astype(np.float32)


def _block_peaks(y: np.ndarray, hop: int) -> np.ndarray:
    n = int(np.ceil(y.size / hop))
    y = np.pad(y, (0, n * hop - y.size))
    return y.reshape(n, hop).max(axis=1)



def enrich_candidates(cands, catalog, cache: Optional[dict] = None) -> None:
    """Fill each catalog candidate's tags (user tags and genre), key and, when it has none, its tempo, as
    the CLI's listings show them (``catalog.tracks_view.tempo_and_key``: the file's or the user's tempo,
    else the beat analysis, else the descriptors' estimate), so BPM and key are shown whenever known."""
    from supervisor_app.catalog.tracks_view import tempo_and_key

    cache = {} if cache is None else cache
    for c in cands:
        if c.track_id is None:
            continue
        tid = int(c.track_id)
        if tid not in cache:
            t = catalog.get_track(tid)
            if t is None:
                cache[tid] = None
                continue
            tags = list(dict.fromkeys([*(t.tags or []), *([t.genre] if t.genre else [])]))
            try:
                bpm, key = tempo_and_key(catalog, t)
            except (ImportError, SupervisorError):
                bpm, key = (float(t.bpm_tag) if t.bpm_tag else None), None
            src = "tag" if t.bpm_tag else ("analysis" if bpm is not None else "")
            cache[tid] = (tags, bpm, src, key)
        info = cache[tid]
        if info is None:
            continue
        tags, bpm, src, key = info
        c.tags = tags
        c.music_key = key
        if c.bpm is None or c.bpm <= 0:
            c.bpm, c.bpm_source = bpm, src
        elif not c.bpm_source:
            c.bpm_source = "analysis" if c.source == "recommend" else "tag"


def _check_cancel(should_cancel: CancelFn) -> None:
    check_cancelled(should_cancel)


def _opt_float(x) -> Optional[float]:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def _excerpt_dict(e) -> dict:
    keys = ("video_start_s", "video_end_s", "music_in_s", "music_out_s", "snap_offset_s")
    return {k: float(e[k] if isinstance(e, dict) else getattr(e, k, 0.0)) for k in keys}


def _edit_fit(edit, sync_score: float, ev) -> float:
    """``sync + form`` of an edit rebuilt in the app, as ``recommend`` scores one: the bar-line form score
    (:func:`supervisor_app.ranking.form_score.form_score`, without the splice audibility that needs the
    audio) for an edit on bar lines, the excerpt form score for free time and buttons. ``ev``: the track's
    :class:`~supervisor_app.edit.planner.TrackEvents`."""
    import math

    from supervisor_app.ranking.form_score import excerpt_form_score, form_score

    dur, bounds = float(ev.duration_s), np.asarray(ev.boundaries_s, float)
    form = None
    if getattr(edit, "mode", "metric") == "metric" and len(ev.downbeats_s) >= 4:
        from supervisor_app.edit.form import TrackForm

        try:
            form = form_score(edit, TrackForm.build(dur, np.asarray(ev.downbeats_s, float), bounds)).score
        except (ValueError, IndexError):  # a grid the form cannot be read from: judged on the excerpts
            form = None
    if form is None:
        form = excerpt_form_score(edit, dur, bounds).score
    fit = float(sync_score) + form if math.isfinite(float(sync_score)) else form
    return float(fit)


def _card_summary(card) -> str:
    """What a model card says about training data and validation, in a few lines for a tooltip."""
    lines = [f"{card.name}: {card.kind}, {card.segmentation} segments, created {card.created_utc or 'unknown'}"]
    if card.data:
        lines.append("Trained on: " + ", ".join(f"{k} {v}" for k, v in list(card.data.items())[:4]))
    if card.metrics:
        lines.append("Validated: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                               for k, v in list(card.metrics.items())[:6]))
    return "\n".join(lines)


def _edit_pairs(edit) -> list:
    """Alignment pairs of an edit made without a path: one per excerpt (music in/out under video span)."""
    return [{"music_start_s": float(e.music_in_s), "music_end_s": float(e.music_out_s),
             "video_start_s": float(e.video_start_s), "video_end_s": float(e.video_end_s)} for e in edit.excerpts]


def _slug(c: Candidate) -> str:
    return str(c.track_id) if c.track_id is not None else "".join(ch for ch in Path(c.path).stem if ch.isalnum())[:24]


def _training_progress(progress, files_word: str):
    """(TrainConfig of the small-data preset, on_files, on_epoch) for a training job: features or pairs
    take the first half of the bar, epochs the second, each with an estimated time left."""
    from supervisor_app.infra.eta import Eta, training_eta_text
    from supervisor_app.segvmnet.train import PRESETS, TrainConfig

    preset = PRESETS["small-data"]
    cfg = TrainConfig(kind="segvmnet", lr=preset["lr"], batch_size=preset["batch_size"])
    eta = Eta()
    history: list = []

    def on_files(fraction, stage):  # the data preparation's progress (infra.jobs), with its time left
        if progress:
            progress(None if fraction is None else 0.5 * fraction, f"{files_word}: {stage}: {eta.text_at(fraction)}")

    def on_epoch(rec):
        history.append(rec)
        best = min(range(len(history)), key=lambda i: history[i]["val_v2m_mean_rank"])
        text = training_eta_text(rec["epoch"], cfg.epochs, rec["seconds"] / max(1, rec["epoch"]), cfg.patience,
                                 len(history) - 1 - best)
        if progress:
            progress(0.5 + 0.5 * min(1.0, rec["epoch"] / cfg.epochs),
                     f"epoch {rec['epoch']}: validation mean rank {rec['val_v2m_mean_rank']:.1f}; {text}")

    return cfg, on_files, on_epoch
