"""The words of briefs: moods, styles, instruments and vocals, mapped to what the catalog can hear.

Each :class:`Concept` names AudioSet classes (YAMNet) that evidence it, with weights, and/or a target
on the two mood axes computed from audio features (arousal: calm ↔ energetic; valence: dark/sad ↔
happy/bright; see :mod:`supervisor_app.briefs.track_profile`), and/or the track's build (getting louder).
``WORDS`` maps every word or phrase a supervisor may write (synonyms included) to its concept.
The table is hand-written from AudioSet's ontology and music-supervision vocabulary; it is data,
not a model: extend it freely.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Concept:
    name: str
    classes: dict = field(default_factory=dict)  # AudioSet class name -> weight (0..1]
    arousal: int = 0  # +1 energetic, -1 calm, 0 no say
    valence: int = 0  # +1 happy/bright, -1 sad/dark, 0 no say
    build: bool = False  # the track gets louder (builds, rises, lifts)
    tempo_bpm: tuple | None = None  # (lo, hi) soft tempo range implied by the word ("slow", "fast")
    kind: str = "mood"  # mood | genre | instrument | vocals | structure | tempo


def _c(name, kind="mood", **kw):
    return Concept(name=name, kind=kind, **kw)


CONCEPTS: dict[str, Concept] = {c.name: c for c in [
    # moods (AudioSet's seven mood classes + the two audio axes)
    _c("calm", classes={"Ambient music": 1.0, "New-age music": 0.9, "Tender music": 0.8, "Lullaby": 0.7,
                        "Background music": 0.3}, arousal=-1),
    _c("energetic", classes={"Exciting music": 1.0, "Dance music": 0.6, "Electronic dance music": 0.5,
                             "Drum kit": 0.4, "Rock music": 0.4}, arousal=+1),
    _c("happy", classes={"Happy music": 1.0, "Music for children": 0.4}, valence=+1),
    _c("sad", classes={"Sad music": 1.0, "Tender music": 0.5}, valence=-1, arousal=-1),
    _c("tense", classes={"Scary music": 1.0, "Angry music": 0.5, "Drum roll": 0.3}, valence=-1),
    _c("dark", classes={"Scary music": 0.9, "Angry music": 0.6, "Ambient music": 0.3}, valence=-1),
    _c("epic", classes={"Orchestra": 0.8, "Exciting music": 0.8, "Soundtrack music": 0.7, "Timpani": 0.6,
                        "Brass instrument": 0.6, "Choir": 0.5, "Drum roll": 0.5, "French horn": 0.5}, arousal=+1),
    _c("romantic", classes={"Tender music": 1.0, "Piano": 0.4, "String section": 0.4, "Wedding music": 0.5},
       arousal=-1, valence=+1),
    _c("playful", classes={"Happy music": 0.8, "Music for children": 0.7, "Pizzicato": 0.6,
                           "Video game music": 0.3, "Marimba, xylophone": 0.5, "Glockenspiel": 0.5}, valence=+1),
    _c("aggressive", classes={"Angry music": 1.0, "Heavy metal": 0.8, "Punk rock": 0.6, "Grunge": 0.5},
       arousal=+1, valence=-1),
    _c("hopeful", classes={"Happy music": 0.7, "Tender music": 0.5, "New-age music": 0.4}, valence=+1),
    _c("dramatic", classes={"Orchestra": 0.7, "Soundtrack music": 0.7, "Timpani": 0.5, "Exciting music": 0.5,
                            "Scary music": 0.3}),
    _c("mysterious", classes={"Ambient music": 0.6, "Scary music": 0.6, "Synthesizer": 0.3}, valence=-1, arousal=-1),
    _c("build", kind="structure", classes={"Drum roll": 0.4, "Exciting music": 0.3}, build=True),
    # tempo words (soft ranges; the measured tempo decides, arousal helps when it is unknown)
    _c("slow", kind="tempo", tempo_bpm=(None, 90.0), arousal=-1),
    _c("mid-tempo", kind="tempo", tempo_bpm=(90.0, 120.0)),
    _c("fast", kind="tempo", tempo_bpm=(120.0, None), arousal=+1),
    # vocals
    _c("vocals", kind="vocals", classes={"Singing": 1.0, "Choir": 0.8, "Vocal music": 0.9, "Rapping": 0.9,
                                         "A capella": 0.9, "Song": 0.6, "Child singing": 0.8, "Humming": 0.4}),
    _c("choir", kind="vocals", classes={"Choir": 1.0, "Chant": 0.6, "Vocal music": 0.4}),
    _c("rap", kind="vocals", classes={"Rapping": 1.0, "Hip hop music": 0.6}),
    # genres
    _c("jazz", kind="genre", classes={"Jazz": 1.0, "Swing music": 0.7, "Saxophone": 0.3}),
    _c("swing", kind="genre", classes={"Swing music": 1.0, "Jazz": 0.6}),
    _c("rock", kind="genre", classes={"Rock music": 1.0, "Electric guitar": 0.5, "Rock and roll": 0.7,
                                      "Progressive rock": 0.7, "Grunge": 0.6, "Punk rock": 0.6}),
    _c("metal", kind="genre", classes={"Heavy metal": 1.0, "Angry music": 0.4, "Electric guitar": 0.5}),
    _c("punk", kind="genre", classes={"Punk rock": 1.0}),
    _c("pop", kind="genre", classes={"Pop music": 1.0, "Song": 0.3}),
    _c("hip hop", kind="genre", classes={"Hip hop music": 1.0, "Rapping": 0.6, "Drum machine": 0.3}),
    _c("electronic", kind="genre", classes={"Electronic music": 1.0, "Electronica": 0.9, "Synthesizer": 0.7,
                                            "Techno": 0.6, "House music": 0.6, "Electronic dance music": 0.7,
                                            "Drum machine": 0.4}),
    _c("techno", kind="genre", classes={"Techno": 1.0, "Electronic dance music": 0.6}),
    _c("house", kind="genre", classes={"House music": 1.0, "Electronic dance music": 0.6}),
    _c("dubstep", kind="genre", classes={"Dubstep": 1.0}),
    _c("drum and bass", kind="genre", classes={"Drum and bass": 1.0}),
    _c("trance", kind="genre", classes={"Trance music": 1.0}),
    _c("edm", kind="genre", classes={"Electronic dance music": 1.0, "Dance music": 0.7, "House music": 0.6}),
    _c("dance", kind="genre", classes={"Dance music": 1.0, "Disco": 0.6, "Electronic dance music": 0.7}, arousal=+1),
    _c("disco", kind="genre", classes={"Disco": 1.0}),
    _c("funk", kind="genre", classes={"Funk": 1.0, "Bass guitar": 0.3}),
    _c("soul", kind="genre", classes={"Soul music": 1.0, "Rhythm and blues": 0.7}),
    _c("r&b", kind="genre", classes={"Rhythm and blues": 1.0, "Soul music": 0.6}),
    _c("blues", kind="genre", classes={"Blues": 1.0}),
    _c("country", kind="genre", classes={"Country": 1.0, "Bluegrass": 0.7, "Steel guitar, slide guitar": 0.5}),
    _c("folk", kind="genre", classes={"Folk music": 1.0, "Acoustic guitar": 0.4, "Traditional music": 0.5}),
    _c("reggae", kind="genre", classes={"Reggae": 1.0, "Ska": 0.6}),
    _c("latin", kind="genre", classes={"Music of Latin America": 1.0, "Salsa music": 0.8, "Flamenco": 0.6}),
    _c("classical", kind="genre", classes={"Classical music": 1.0, "Orchestra": 0.6, "Opera": 0.4,
                                           "String section": 0.4}),
    _c("orchestral", kind="genre", classes={"Orchestra": 1.0, "Classical music": 0.6, "String section": 0.7,
                                            "Bowed string instrument": 0.6, "Brass instrument": 0.5,
                                            "Soundtrack music": 0.4}),
    _c("cinematic", kind="genre", classes={"Soundtrack music": 1.0, "Orchestra": 0.7, "Theme music": 0.5}),
    _c("ambient", kind="genre", classes={"Ambient music": 1.0, "New-age music": 0.7}, arousal=-1),
    _c("opera", kind="genre", classes={"Opera": 1.0}),
    _c("gospel", kind="genre", classes={"Gospel music": 1.0, "Christian music": 0.6, "Choir": 0.4}),
    _c("world", kind="genre", classes={"Traditional music": 0.9, "Music of Asia": 0.8, "Music of Africa": 0.8,
                                       "Middle Eastern music": 0.8, "Music of Latin America": 0.6}),
    _c("oriental", kind="genre", classes={"Music of Asia": 1.0, "Middle Eastern music": 0.8, "Gong": 0.4,
                                          "Zither": 0.5, "Sitar": 0.5}),
    _c("middle eastern", kind="genre", classes={"Middle Eastern music": 1.0}),
    _c("african", kind="genre", classes={"Music of Africa": 1.0, "Afrobeat": 0.7}),
    _c("indian", kind="genre", classes={"Carnatic music": 0.9, "Music of Bollywood": 0.9, "Tabla": 0.6, "Sitar": 0.7}),
    _c("chiptune", kind="genre", classes={"Video game music": 1.0, "Synthesizer": 0.4}),
    _c("children", kind="genre", classes={"Music for children": 1.0, "Lullaby": 0.5}),
    _c("christmas", kind="genre", classes={"Christmas music": 1.0, "Jingle bell": 0.6}),
    _c("lullaby", kind="genre", classes={"Lullaby": 1.0}, arousal=-1),
    # instruments
    _c("piano", kind="instrument", classes={"Piano": 1.0, "Electric piano": 0.6, "Keyboard (musical)": 0.5}),
    _c("guitar", kind="instrument", classes={"Guitar": 1.0, "Acoustic guitar": 0.9, "Electric guitar": 0.9,
                                             "Plucked string instrument": 0.6, "Strum": 0.6}),
    _c("acoustic guitar", kind="instrument", classes={"Acoustic guitar": 1.0, "Strum": 0.6, "Guitar": 0.5}),
    _c("electric guitar", kind="instrument", classes={"Electric guitar": 1.0, "Rock music": 0.3, "Guitar": 0.5}),
    _c("bass", kind="instrument", classes={"Bass guitar": 1.0, "Double bass": 0.8}),
    _c("strings", kind="instrument", classes={"String section": 1.0, "Bowed string instrument": 0.9,
                                              "Violin, fiddle": 0.8, "Cello": 0.8, "Orchestra": 0.4}),
    _c("violin", kind="instrument", classes={"Violin, fiddle": 1.0, "Bowed string instrument": 0.6}),
    _c("cello", kind="instrument", classes={"Cello": 1.0, "Bowed string instrument": 0.6}),
    _c("pizzicato", kind="instrument", classes={"Pizzicato": 1.0}),
    _c("harp", kind="instrument", classes={"Harp": 1.0}),
    _c("brass", kind="instrument", classes={"Brass instrument": 1.0, "Trumpet": 0.8, "Trombone": 0.8,
                                            "French horn": 0.8}),
    _c("trumpet", kind="instrument", classes={"Trumpet": 1.0, "Brass instrument": 0.6}),
    _c("horn", kind="instrument", classes={"French horn": 1.0, "Brass instrument": 0.6}),
    _c("saxophone", kind="instrument", classes={"Saxophone": 1.0}),
    _c("woodwind", kind="instrument", classes={"Wind instrument, woodwind instrument": 1.0, "Flute": 0.8,
                                               "Clarinet": 0.8}),
    _c("flute", kind="instrument", classes={"Flute": 1.0, "Wind instrument, woodwind instrument": 0.6}),
    _c("clarinet", kind="instrument", classes={"Clarinet": 1.0}),
    _c("drums", kind="instrument", classes={"Drum kit": 1.0, "Drum": 0.9, "Snare drum": 0.7, "Bass drum": 0.6,
                                            "Drum machine": 0.6, "Hi-hat": 0.5}),
    _c("percussion", kind="instrument", classes={"Percussion": 1.0, "Drum": 0.8, "Tabla": 0.5, "Tambourine": 0.6,
                                                 "Maraca": 0.5, "Wood block": 0.5, "Mallet percussion": 0.6}),
    _c("timpani", kind="instrument", classes={"Timpani": 1.0, "Drum roll": 0.4}),
    _c("synth", kind="instrument", classes={"Synthesizer": 1.0, "Electronic music": 0.5, "Sampler": 0.4}),
    _c("organ", kind="instrument", classes={"Organ": 1.0, "Hammond organ": 0.9, "Electronic organ": 0.9}),
    _c("accordion", kind="instrument", classes={"Accordion": 1.0}),
    _c("harmonica", kind="instrument", classes={"Harmonica": 1.0}),
    _c("banjo", kind="instrument", classes={"Banjo": 1.0}),
    _c("ukulele", kind="instrument", classes={"Ukulele": 1.0}),
    _c("mandolin", kind="instrument", classes={"Mandolin": 1.0}),
    _c("bells", kind="instrument", classes={"Bell": 1.0, "Glockenspiel": 0.8, "Tubular bells": 0.8, "Chime": 0.7,
                                            "Church bell": 0.6, "Jingle bell": 0.6}),
    _c("marimba", kind="instrument", classes={"Marimba, xylophone": 1.0, "Vibraphone": 0.6, "Mallet percussion": 0.6}),
    _c("glockenspiel", kind="instrument", classes={"Glockenspiel": 1.0, "Mallet percussion": 0.5}),
    _c("whistling", kind="instrument", classes={"Whistling": 1.0}),
]}

# every word or phrase -> concept name (the concept's own name included)
WORDS: dict[str, str] = {name: name for name in CONCEPTS}
for _concept, _words in {
    "calm": ("mellow", "quiet", "peaceful", "relaxed", "relaxing", "soft", "gentle", "serene", "chill", "chilled",
             "laid back", "laid-back", "soothing", "tranquil", "meditative", "still", "dreamy", "subtle",
             "low-key", "low key", "restrained", "understated", "minimal", "contemplative", "reflective", "intimate"),
    "energetic": ("upbeat", "driving", "powerful", "lively", "high energy", "high-energy", "pumping", "intense",
                  "exciting", "action", "energy", "punchy", "bouncy", "groovy", "rousing", "vibrant"),
    "happy": ("joyful", "cheerful", "uplifting", "bright", "positive", "sunny", "optimistic", "feel good",
              "feel-good", "fun", "carefree", "celebratory", "euphoric", "triumphant", "inspiring", "inspirational"),
    "sad": ("melancholic", "melancholy", "somber", "sombre", "mournful", "emotional", "nostalgic", "bittersweet",
            "sorrowful", "wistful", "longing", "lonely", "poignant", "moving", "heartfelt", "heartbreaking",
            "sentimental", "grief", "tragic"),
    "tense": ("suspense", "suspenseful", "ominous", "menacing", "scary", "creepy", "eerie", "horror", "anxious",
              "nervous", "thriller", "unsettling", "sinister", "spooky", "haunting", "threatening", "danger"),
    "dark": ("gloomy", "brooding", "moody", "grim", "bleak", "noir"),
    "epic": ("heroic", "grand", "majestic", "trailer", "anthemic", "big", "huge", "battle", "war", "adventure",
             "adventurous", "powerful orchestral", "massive", "bold"),
    "romantic": ("tender", "love", "loving", "sensual", "warm", "affectionate", "sweet", "lovely"),
    "playful": ("quirky", "whimsical", "funny", "comedic", "comedy", "cartoon", "cartoonish", "silly", "cute",
                "mischievous", "light-hearted", "lighthearted", "bouncy fun", "goofy", "kids"),
    "aggressive": ("angry", "heavy", "fierce", "furious", "hard", "brutal", "rage", "raw", "gritty", "edgy"),
    "hopeful": ("hope", "yearning", "uplift", "aspirational", "optimism"),
    "dramatic": ("drama", "emotive", "cinematic drama", "tension and release"),
    "mysterious": ("mystery", "mystical", "enigmatic", "magical", "ethereal", "otherworldly", "space", "spacey",
                   "atmospheric", "floating"),
    "build": ("builds", "building", "builds up", "build up", "buildup", "crescendo", "rising", "rises", "swell",
              "swelling", "lift", "lifts", "builds to a lift", "grows", "growing", "climax", "climactic"),
    "slow": ("slow tempo", "slowly", "downtempo", "down-tempo", "ballad", "largo", "adagio"),
    "mid-tempo": ("midtempo", "mid tempo", "moderate", "medium tempo", "walking pace"),
    "fast": ("quick", "fast-paced", "fast paced", "uptempo", "up-tempo", "frantic", "racing", "rapid", "speedy",
             "allegro", "presto", "hectic"),
    "vocals": ("vocal", "voice", "voices", "singing", "singer", "sung", "lyrics", "lyric", "song", "songs",
               "female vocals", "male vocals", "female vocal", "male vocal", "vocalist"),
    "choir": ("choral", "chorus", "chant", "chants"),
    "rap": ("rapping", "mc"),
    "jazz": ("jazzy", "bebop", "big band", "lounge"),
    "rock": ("rock music", "indie rock", "rock n roll", "rock and roll", "alternative", "indie"),
    "metal": ("heavy metal", "metal music", "thrash", "hard rock"),
    "punk": ("punk rock",),
    "pop": ("pop music", "mainstream"),
    "hip hop": ("hip-hop", "hiphop", "trap", "beats"),
    "electronic": ("electronica", "electro", "synthetic", "digital", "synthwave", "idm", "futuristic", "sci-fi",
                   "scifi"),
    "edm": ("electronic dance", "club"),
    "dance": ("danceable", "dancefloor"),
    "soul": ("soulful", "motown"),
    "r&b": ("rnb", "r and b", "rhythm and blues"),
    "country": ("americana", "bluegrass", "western"),
    "folk": ("folky", "acoustic folk", "singer-songwriter", "traditional", "celtic", "medieval"),
    "latin": ("salsa", "flamenco", "bossa nova", "samba", "tango"),
    "classical": ("baroque", "symphonic", "symphony", "chamber", "neoclassical", "neo-classical"),
    "orchestral": ("orchestra", "orchestrated", "score", "filmic"),
    "cinematic": ("soundtrack", "film score", "movie", "film", "underscore"),
    "ambient": ("drone", "soundscape", "textural", "pads", "new age", "new-age"),
    "world": ("world music", "ethnic", "tribal", "global"),
    "oriental": ("asian", "eastern", "chinese", "japanese", "far east"),
    "middle eastern": ("arabic", "arabian", "persian"),
    "african": ("afro", "afrobeat"),
    "indian": ("bollywood", "sitar"),
    "chiptune": ("8-bit", "8bit", "retro game", "video game", "game music", "arcade", "retro"),
    "children": ("childrens", "children's", "nursery"),
    "christmas": ("xmas", "festive", "holiday"),
    "piano": ("keys", "keyboard", "pianos", "solo piano"),
    "guitar": ("guitars",),
    "acoustic guitar": ("acoustic", "fingerpicking", "strummed"),
    "electric guitar": ("distorted guitar", "guitar riffs", "riffs", "shredding"),
    "bass": ("bassline", "bass line", "double bass", "upright bass"),
    "strings": ("string", "string section", "string quartet", "bowed strings"),
    "violin": ("violins", "fiddle"),
    "cello": ("cellos",),
    "brass": ("horns", "brass section", "trombone"),
    "trumpet": ("trumpets",),
    "saxophone": ("sax",),
    "woodwind": ("woodwinds", "winds", "oboe", "bassoon"),
    "flute": ("flutes", "pan flute", "whistle"),
    "drums": ("drum", "drum kit", "beat", "groove"),
    "percussion": ("percussive", "hand drums", "shaker", "taiko"),
    "synth": ("synths", "synthesizer", "synthesiser", "arpeggiator", "analog synth"),
    "organ": ("hammond",),
    "bells": ("bell", "chimes", "celesta", "music box"),
    "marimba": ("xylophone", "vibraphone", "mallets"),
}.items():
    for _w in _words:
        WORDS.setdefault(_w, _concept)

#: words that carry no meaning in a brief
STOP_WORDS = frozenset("""a an and the with of to for in on at by from into that this it its is are be as or but
very really quite some something kind sort like feel feeling vibe vibes mood style sound sounding track tracks music
piece pieces cue cues needed need want we our please ideally maybe more less lots lot bit little slightly
towards toward then end ending start starting opening throughout mostly mainly only just all any""".split())

#: words that negate what follows ("no vocals", "without drums", "not sad", "non-vocal")
NEGATIONS = frozenset({"no", "not", "without", "non", "never", "avoid", "minus", "except", "exclude", "nothing"})
