"""Plain-language wording for supervisors: the core's reasons and notes, translated for the GUI.

The core writes its reasons for engineers ("S_bar 0.07", "+0.54 above random offsets", "head
pickup", CLI flags). :func:`plain_reason` rewrites the known sentence shapes and softens the rest;
text it does not recognise passes through with its jargon removed, so a new wording in the core
still reads well. :func:`fit_text` states the 0–100 fit scale everywhere it is shown.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from supervisor_app.gui.session_model import fit_0_100

FIT_SCALE_TIP = ("Fit, 0–100: how well this music fits the picture, the number the list is ordered by. It is how "
                 "well the picture's cuts land on the music's downbeats and section changes (compared with the same "
                 "music started at random points), minus what the edit costs the music: repeats, an ending that "
                 "is not the music's own, picture left without music. 50 = no better than a random start with "
                 "nothing to pay, 84 = clearly better, 95+ = cuts and music move together; a track that must loop "
                 "under the picture falls towards 0. It describes the edit shown; moving the start or adding sync "
                 "points changes it.")
MATCH_SCALE_TIP = ("Match: how close the music's character is to the picture's according to the trained model "
                   "(higher is better; compare rows, the number has no fixed scale).")


def fit_text(sync_score: Optional[float]) -> str:
    v = fit_0_100(sync_score)
    return "" if v is None else f"{v}"


def _mmss(t_s: float) -> str:
    m, s = divmod(max(0.0, float(t_s)), 60.0)
    return f"{int(m)}:{int(s):02d}"


def _fit_sentence(m: re.Match) -> str:
    n = int(m.group("n"))
    fit = fit_0_100(float(m.group("z")))
    cuts = "1 picture cut lands" if n == 1 else f"{n} picture cuts land"
    if n == 0:
        cuts = "no picture cut lands exactly"
    return f"Fit {fit}/100: {cuts} on a downbeat (50 would be a random start)."


def _fit_parts_sentence(m: re.Match) -> str:
    fit, sync = fit_0_100(float(m.group("fit"))), fit_0_100(float(m.group("sync")))
    form = float(m.group("form"))
    if form > -0.005 or fit == sync:
        return f"Fit {fit}/100: from how the cuts land; the music's form costs nothing here."
    return (f"Fit {fit}/100: the cuts alone would give {sync}/100; the edit's form (repeats, the ending, picture "
            f"left without music) takes off {sync - fit}.")


def _onset_sentence(m: re.Match) -> str:
    n = int(m.group("n"))
    cuts = "1 picture cut lands" if n == 1 else (f"{n} picture cuts land" if n else "no picture cut lands exactly")
    return f"{cuts[0].upper()}{cuts[1:]} on a strong note (the music has no steady bar grid to cut on)."


def _start_sentence(m: re.Match) -> str:
    return f"The music starts {_mmss(float(m.group('t')))} into the track, where it fits the cuts best."


def _content_sentence(m: re.Match) -> str:
    return "The model hears it as a good match for this picture (match score " + f"{float(m.group('s')):.2f})."


def _tempo_sentence(m: re.Match) -> str:
    bpm, bar, n, dur = float(m.group("bpm")), float(m.group("bar")), int(m.group("n")), float(m.group("d"))
    return (f"{bpm:.0f} BPM, a bar every {bar:.1f} s; the picture has {n} cut{'s' if n != 1 else ''} "
            f"in {_mmss(dur)}.")


def _brief_sentence(m: re.Match) -> str:
    words = re.findall(r"'([^']+)' ~ ([^,(]+)", m.group("rest"))
    if not words:
        return "Matches the brief."
    return "Matches the brief: " + ", ".join(f"“{w}” → {tag.strip()}" for w, tag in words) + "."


_RULES: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"^fit: (?P<n>\d+) cut\(s\) on a downbeat,.*?(?P<z>[+-]?\d+(?:\.\d+)?) above random offsets", re.I),
     _fit_sentence),
    (re.compile(r"^fit (?P<fit>[+-]?\d+(?:\.\d+)?): form (?P<form>[+-]?\d+(?:\.\d+)?), sync "
                r"(?P<sync>[+-]?\d+(?:\.\d+)?)", re.I), _fit_parts_sentence),
    (re.compile(r"^fit: (?P<n>\d+) cut\(s\) on a strong onset", re.I), _onset_sentence),
    (re.compile(r"^fit: best start at (?P<t>\d+(?:\.\d+)?) s of the track", re.I), _start_sentence),
    (re.compile(r"^content: \S+ score (?P<s>[+-]?\d+(?:\.\d+)?)", re.I), _content_sentence),
    (re.compile(r"^tempo (?P<bpm>\d+(?:\.\d+)?) BPM \(bar (?P<bar>\d+(?:\.\d+)?) s\) vs (?P<n>\d+) cut\(s\) in "
                r"(?P<d>\d+(?:\.\d+)?) s", re.I), _tempo_sentence),
    (re.compile(r"^brief \((?P<u>.*)\): (?P<how>.*)$", re.I), lambda m: _brief_line(m.group("u"), m.group("how"))),
    (re.compile(r"^brief: nothing understood", re.I),
     lambda m: "Nothing in the brief was understood, so every track was fitted to the picture."),
    (re.compile(r"^brief: (?P<rest>.*)$", re.I), _brief_sentence),
]


def _plain_terms(understood: str) -> str:
    """explain_query()'s 'quiet→calm, not vocals, artist:X' as 'quiet (as calm), no vocals, artist X'."""
    out = []
    for part in [p.strip() for p in understood.split(",") if p.strip()]:
        part = re.sub(r"^not ", "no ", part)
        part = re.sub(r"^(.+?)→(.+)$", r"\1 (as \2)", part)
        part = re.sub(r"^(\w+):(.+)$", lambda m: f"{m.group(1).replace('_', ' ')} “{m.group(2)}”", part)
        out.append(part)
    return ", ".join(out)


def _brief_line(understood: str, how: str) -> str:
    how, _, rest = how.partition("; not understood: ")
    how = how.replace("fit it well, the best", "fit it well; the best").replace(" kept", " are fitted")
    text = f"Brief ({_plain_terms(understood)}): {how}."
    return text + (f" Not understood: {rest}." if rest else "")


def brief_explanation(understood: str, not_understood, notes=()) -> str:
    """Under the brief field: what the brief search understood and what it did not, in plain words."""
    nu = [w for w in (not_understood or []) if w]
    if not understood and not nu:
        return ""
    if understood:
        text = f"Understood: {_plain_terms(understood)}."
    else:
        text = ("Nothing understood yet: every track will be fitted. Try moods, styles, instruments, tempo or rights, "
                "e.g. “calm piano, no vocals, one-stop”.")
    if nu:
        quoted = ", ".join(f"“{w}”" for w in nu)
        text += (f" Not understood: {quoted} (no mood, style or instrument the search knows, and none of "
                 "your tags or descriptions)." if len(nu) > 1 else
                 f" Not understood: {quoted} (not a mood, style or instrument the search knows, nor in your tags "
                 "or descriptions).")
    for n in notes or ():
        if "no audio profile" in n:
            text += " Some tracks are not analysed yet: they match on their tags only."
    return text

_SOFTEN: list[tuple[re.Pattern, str]] = [
    (re.compile(r"select a trained MuSimNet with --model NAME", re.I),
     "choose a trained similarity model in “Similar by” above"),
    (re.compile(r"\s*\(--plan-all cuts every one\)"), ""),  # a CLI option the app does not offer
    (re.compile(r"\s*--[a-z][a-z-]*(?: [A-Z_]+)?"), ""),  # any other CLI flag
    (re.compile(r"\bhead pickup\b", re.I), "a pickup (the music enters just before a downbeat)"),
    (re.compile(r",?\s*\bS_(?:bar|seg)\s*[=:]?\s*[+-]?\d+(?:\.\d+)?", re.I), ""),
    (re.compile(r",?\s*[+-]\d+(?:\.\d+)? above random offsets(?: of the same edit)?", re.I), ""),
    (re.compile(r"\bnw-dtw\b|\bsw-dtw\b", re.I), "sequence matching"),
    (re.compile(r"No Seg-VM-Net model is active", re.I), "No trained matching model is selected"),
    (re.compile(r"\s*\(calibrated sync score\)", re.I), ""),
    (re.compile(r"\bSeg-VM-Net\b"), "matching model"),
    (re.compile(r"\bMuSimNet\b"), "similarity model"),
    (re.compile(r"\bYAMNet \(AudioSet\) embedding\b"), "general-purpose sound model"),
    (re.compile(r"\s{2,}"), " "),
]


def plain_reason(text: str) -> str:
    """One reason in plain language (unknown sentences keep their meaning, minus the jargon)."""
    t = " ".join(str(text).split())
    for pattern, fn in _RULES:
        m = pattern.search(t)
        if m:
            return fn(m)
    for pattern, repl in _SOFTEN:
        t = pattern.sub(repl, t)
    t = t.strip(" ,;")
    if t and t[0].islower():
        t = t[0].upper() + t[1:]
    return t


def plain_reasons(reasons, limit: int = 6) -> list[str]:
    out = []
    for r in reasons or []:
        p = plain_reason(r)
        if p and p not in out:
            out.append(p)
    return out[:limit]


_MESSAGE_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"create one with '?supervisor-app catalog create[^'.]*'?", re.I), "create one in File › Catalog…"),
    (re.compile(r"run '?(?:supervisor-app )?catalog index(?: --model [^' ]+)?'?(?: first)?", re.I),
     "analyse the catalog first (File › Catalog… › Analyse for recommendation)"),
    (re.compile(r"\(--model\)"), "(choose one in Settings › Model)"),
    (re.compile(r"with --model NAME", re.I), "in the Model menu"),
]


def plain_message(sentence: str) -> str:
    """A status-bar sentence from the core without command-line instructions in it."""
    t = str(sentence)
    for pattern, repl in _MESSAGE_RULES:
        t = pattern.sub(repl, t)
    return t


def model_choice_label(summary) -> str:
    """A Seg-VM-Net model in a menu, with its measured numbers (``archive.training.ModelSummary``): R@10 on
    held-out pairs beside chance and the fit-only ranking, and how many pairs it learned from."""
    s = summary
    if s.held_out_r10 is None:
        return f"{s.name} — not measured"
    where = "held-out" if s.held_out_is_test else "validation"
    base = f"chance {s.chance_r10:.0f} %" if s.chance_r10 is not None else ""
    if s.fit_only_r10 is not None:
        base += f", fit only {s.fit_only_r10:.0f} %"
    return (f"{s.name} — finds the music in the top 10 {s.held_out_r10:.0f} % ({base}) on {s.n_held_out_pairs} "
            f"{where} pairs; learned from {s.n_training_pairs}" + (" · active" if s.active else ""))


def excluded_text(excluded, limit: int = 3) -> tuple[str, str]:
    """(the line under the list, its tooltip) for the tracks a recommendation could not rank:
    ``excluded`` = [(title, reason)]; ('', '') when there are none."""
    items = [(str(t), plain_message(str(r)).rstrip(".")) for t, r in excluded or ()]
    if not items:
        return "", ""
    items = [(t, re.sub(r"\s*\('?catalog index'?\)", "", r)) for t, r in items]
    shown = "; ".join(f"{t}: {r}" for t, r in items[:limit])
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    n = len(items)
    line = f"Not ranked ({n} track{'s' if n != 1 else ''}): {shown}{more}."
    tip = "These tracks pass the filters but could not be fitted to this picture:\n" + "\n".join(
        f"• {t}: {r}." for t, r in items)
    return line, tip
