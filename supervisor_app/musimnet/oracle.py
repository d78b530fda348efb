"""The oracle similarity S between tracks, computed from the user's tags (thesis §4.2.1, §4.3.1).

Tags come from a CSV file (``track,tag[,weight]``) or from the catalog's own tags; an optional
relations CSV (``tag,related_tag,weight``) expands them, e.g. ``Waltz,Classical,0.5``.

The similarity, documented here once:

1. **Weighted tag set.** A track's tags form a map tag → weight (default weight 1; weights must be
   positive). Tag names are compared case-insensitively and keep their first spelling.
2. **Expansion.** A relation ``a → b`` with weight ``r`` in (0, 1] gives a track that has ``a`` with
   weight ``w`` the tag ``b`` with weight ``w · r``, unless it already has ``b`` with a higher weight
   (``w_b = max(w_b, w · r)``). Relations chain (``Waltz → Classical → Orchestral``), each step
   multiplying by its weight, up to :data:`MAX_EXPANSION_DEPTH` steps; added tags therefore weigh
   less than the annotated ones, as in the thesis's oracle.
3. **Weighted Jaccard.** ``S(t1, t2) = Σ_tag min(w1, w2) / Σ_tag max(w1, w2)`` over the union of the
   two expanded sets: 1 for identical sets, 0 for disjoint ones, symmetric, in [0, 1]. A track with
   no tags has S = 0 with every track.

Errors in the files raise :class:`supervisor_app.infra.errors.UsageError` naming the file and the line.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from supervisor_app.infra.errors import UsageError

MAX_EXPANSION_DEPTH = 4
TagSet = dict  # {tag name: weight > 0}
_HEADER_WORDS = {"track", "track_id", "path", "id", "file"}


# --- reading the files --------------------------------------------------------------------------------
def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of the non-empty, non-comment lines of a CSV file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"The file {str(path)!r} does not exist.") from None
    except UnicodeDecodeError:
        raise UsageError(f"The file {Path(path).name!r} is not a UTF-8 text (CSV) file.") from None
    except OSError as e:
        raise UsageError(f"The file {Path(path).name!r} cannot be read ({e.strerror or e}).") from None
    out = []
    reader = csv.reader(io.StringIO(text))
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                continue
            out.append((line, [f.strip() for f in fields]))
    except csv.Error as e:
        raise UsageError(f"{Path(path).name}, line {reader.line_num}: this is not valid CSV ({e}).") from None
    return out


def _weight(text: str, where: str, upper: float | None = None) -> float:
    try:
        w = float(text)
    except ValueError:
        raise UsageError(f"{where}: the weight {text!r} is not a number.") from None
    if not math.isfinite(w) or w <= 0 or (upper is not None and w > upper):
        rng = f"in (0, {upper:g}]" if upper is not None else "a positive number"
        raise UsageError(f"{where}: the weight {text!r} must be {rng}.")
    return w


def _resolver(catalog, base_dir: Path):
    """A function mapping the CSV's track field (id or path) to a catalog track id, or None."""
    tracks = catalog.tracks(include_missing=True)
    by_id = {t.id: t.id for t in tracks}
    by_path = {str(Path(t.path)): t.id for t in tracks}
    by_suffix: dict[str, list[int]] = {}
    for t in tracks:
        parts = Path(t.path).parts
        for n in range(1, min(4, len(parts)) + 1):
            by_suffix.setdefault("/".join(parts[-n:]).casefold(), []).append(t.id)

    def resolve(text: str):
        if text.isdigit():
            return by_id.get(int(text))
        p = Path(text).expanduser()
        for cand in ([p] if p.is_absolute() else [base_dir / p]):
            tid = by_path.get(str(cand)) or by_path.get(str(cand.resolve()) if cand.exists() else "")
            if tid is not None:
                return tid
        hits = by_suffix.get("/".join(Path(text).parts).casefold(), [])
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            return -len(hits)  # ambiguous
        return None

    return resolve


def read_tags_csv(path: str | Path, catalog) -> dict[int, TagSet]:
    """{catalog track id: {tag: weight}} from a CSV of ``track,tag[,weight]`` lines.

    ``track`` is a catalog id, a path (absolute, relative to the CSV's folder, or the last folders
    of the track's path, e.g. ``album/song.ogg``, when that is unique). A first line whose first field
    is ``track``/``path``/``id`` is a header. Lines starting with ``#`` are comments. A tag given twice
    for a track keeps its largest weight. Raises :class:`UsageError` naming the line for an unknown or
    ambiguous track, a malformed line or a bad weight, and for a file with no tags at all.
    """
    path = Path(path)
    rows = _rows(path)
    resolve = _resolver(catalog, path.parent.resolve())
    out: dict[int, TagSet] = {}
    spelling: dict[str, str] = {}
    for i, (line, f) in enumerate(rows):
        where = f"{path.name}, line {line}"
        if i == 0 and f[0].casefold() in _HEADER_WORDS and len(f) >= 2 and f[1].casefold() in ("tag", "tags", "label"):
            continue
        if len(f) not in (2, 3) or not f[0] or not f[1]:
            raise UsageError(f"{where}: expected 'track,tag' or 'track,tag,weight' but found {len(f)} field(s) "
                             f"({','.join(f)!r}).")
        tid = resolve(f[0])
        if tid is None:
            raise UsageError(f"{where}: the track {f[0]!r} is not in the catalog (give its catalog id or its path).")
        if tid < 0:
            raise UsageError(f"{where}: the track {f[0]!r} matches {-tid} catalog tracks; give its full path or its id.")
        w = _weight(f[2], where) if len(f) == 3 and f[2] != "" else 1.0
        tag = spelling.setdefault(f[1].casefold(), f[1])
        tags = out.setdefault(tid, {})
        tags[tag] = max(tags.get(tag, 0.0), w)
    if not out:
        raise UsageError(f"The tags file {path.name!r} is empty: it needs lines of 'track,tag[,weight]'.")
    return out


def read_relations_csv(path: str | Path) -> dict[str, list[tuple[str, float]]]:
    """{tag: [(related tag, weight in (0, 1])]} from a CSV of ``tag,related_tag,weight`` lines.

    The weight may be left out (1). Raises :class:`UsageError` naming the line for a malformed line,
    a bad weight or a tag related to itself; an empty file is allowed only with a comment.
    """
    path = Path(path)
    rows = _rows(path)
    out: dict[str, list[tuple[str, float]]] = {}
    for i, (line, f) in enumerate(rows):
        where = f"{path.name}, line {line}"
        if i == 0 and f[0].casefold() in ("tag", "from", "source") and len(f) >= 2:
            continue
        if len(f) not in (2, 3) or not f[0] or not f[1]:
            raise UsageError(f"{where}: expected 'tag,related_tag,weight' but found {len(f)} field(s) ({','.join(f)!r}).")
        if f[0].casefold() == f[1].casefold():
            raise UsageError(f"{where}: the tag {f[0]!r} cannot be related to itself.")
        w = _weight(f[2], where, upper=1.0) if len(f) == 3 and f[2] != "" else 1.0
        out.setdefault(f[0].casefold(), []).append((f[1], w))
    if not rows:
        raise UsageError(f"The relations file {path.name!r} is empty: it needs lines of 'tag,related_tag,weight'.")
    return out


def tags_from_catalog(catalog, track_ids: Iterable[int] | None = None) -> dict[int, TagSet]:
    """{track id: {tag: 1.0}} from the tags edited in the catalog (tracks without tags are left out)."""
    wanted = None if track_ids is None else set(int(t) for t in track_ids)
    out = {}
    for t in catalog.tracks():
        if wanted is not None and t.id not in wanted:
            continue
        tags = {}
        for tag in t.tags or []:
            name = tag if isinstance(tag, str) else str(tag[0])
            w = 1.0 if isinstance(tag, str) or len(tag) < 2 else float(tag[1])
            if name.strip() and w > 0:
                tags[name.strip()] = max(tags.get(name.strip(), 0.0), w)
        if tags:
            out[t.id] = tags
    return out


def write_tags_csv(path: str | Path, tags: Mapping[int | str, Mapping[str, float]]) -> None:
    """Write ``{track (id or path): {tag: weight}}`` as a tags CSV (with a header)."""
    from supervisor_app.infra.fileio import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["track", "tag", "weight"])
    for track, ts in tags.items():
        for tag, weight in ts.items():
            w.writerow([track, tag, f"{float(weight):.4g}"])
    atomic_write_text(path, buf.getvalue())


# --- the similarity -----------------------------------------------------------------------------------
def expand(tags: Mapping[str, float], relations: Mapping[str, Sequence[tuple[str, float]]] | None,
           max_depth: int = MAX_EXPANSION_DEPTH) -> TagSet:
    """The tag set with related tags added (weight × relation weight, chained; see the module docstring)."""
    out: dict[str, float] = {}
    spelling: dict[str, str] = {}
    for t, w in tags.items():
        k = t.casefold()
        spelling.setdefault(k, t)
        out[k] = max(out.get(k, 0.0), float(w))
    if relations:
        frontier = dict(out)
        for _ in range(max_depth):
            nxt: dict[str, float] = {}
            for k, w in frontier.items():
                for related, r in relations.get(k, ()):
                    rk = related.casefold()
                    spelling.setdefault(rk, related)
                    nw = w * float(r)
                    if nw > out.get(rk, 0.0) + 1e-12:
                        out[rk] = nw
                        nxt[rk] = max(nxt.get(rk, 0.0), nw)
            if not nxt:
                break
            frontier = nxt
    return {spelling[k]: w for k, w in out.items()}


def weighted_jaccard(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Σ min(wa, wb) / Σ max(wa, wb) over the union of two (already expanded) tag sets."""
    ka = {k.casefold(): v for k, v in a.items()}
    kb = {k.casefold(): v for k, v in b.items()}
    keys = set(ka) | set(kb)
    den = sum(max(ka.get(k, 0.0), kb.get(k, 0.0)) for k in keys)
    if den <= 0:
        return 0.0
    return sum(min(ka.get(k, 0.0), kb.get(k, 0.0)) for k in keys) / den


@dataclass
class Oracle:
    """S over a fixed tag vocabulary: ``relations`` expand tag sets, then weighted Jaccard compares them."""

    relations: dict = field(default_factory=dict)  # {tag (casefolded): [(related, weight)]}
    max_depth: int = MAX_EXPANSION_DEPTH

    description = ("weighted Jaccard Σmin/Σmax between tag sets expanded through the relations "
                   "(related tag weight = tag weight × relation weight, chained, max-combined)")

    def expand(self, tags: Mapping[str, float]) -> TagSet:
        return expand(tags, self.relations, self.max_depth)

    def similarity(self, a: Mapping[str, float], b: Mapping[str, float]) -> float:
        """S(a, b) for two raw (unexpanded) tag sets."""
        return weighted_jaccard(self.expand(a), self.expand(b))

    def weight_matrix(self, tag_sets: Sequence[Mapping[str, float]], vocabulary: Sequence[str] | None = None
                      ) -> tuple[np.ndarray, list[str]]:
        """(N, V) expanded weights of ``tag_sets`` over ``vocabulary`` (default: every tag seen)."""
        expanded = [{k.casefold(): v for k, v in self.expand(ts).items()} for ts in tag_sets]
        if vocabulary is None:
            vocab = sorted({k for e in expanded for k in e})
        else:
            vocab = [v.casefold() for v in vocabulary]
        index = {k: i for i, k in enumerate(vocab)}
        w = np.zeros((len(expanded), len(vocab)), dtype=np.float64)
        for i, e in enumerate(expanded):
            for k, v in e.items():
                j = index.get(k)
                if j is not None:
                    w[i, j] = v
        return w, vocab

    def matrix(self, tag_sets: Sequence[Mapping[str, float]]) -> np.ndarray:
        """(N, N) S between every pair of tag sets (diagonal 1 for tagged tracks)."""
        w, _ = self.weight_matrix(tag_sets)
        return jaccard_matrix(w)


def jaccard_matrix(w: np.ndarray, w2: np.ndarray | None = None, chunk: int = 256) -> np.ndarray:
    """(N, M) weighted Jaccard between the rows of ``w`` (N, V) and ``w2`` (M, V) (default ``w``)."""
    a = np.asarray(w, dtype=np.float64)
    b = a if w2 is None else np.asarray(w2, dtype=np.float64)
    out = np.zeros((len(a), len(b)), dtype=np.float64)
    for s in range(0, len(a), chunk):
        blk = a[s:s + chunk, None, :]
        num = np.minimum(blk, b[None]).sum(-1)
        den = np.maximum(blk, b[None]).sum(-1)
        out[s:s + chunk] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return out
