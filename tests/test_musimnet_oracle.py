"""The tag oracle S: tags/relations CSV parsing (errors name the line), expansion, weighted Jaccard."""
import numpy as np
import pytest

from supervisor_app.catalog import Catalog
from supervisor_app.infra.errors import UsageError
from supervisor_app.musimnet.oracle import (
    Oracle,
    expand,
    read_relations_csv,
    read_tags_csv,
    tags_from_catalog,
    weighted_jaccard,
    write_tags_csv,
)


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog.create(tmp_path / "cat.sqlite")
    ids = {}
    for name in ("jazz/a.ogg", "jazz/b.ogg", "rock/b.ogg", "rock/c.ogg"):
        p = tmp_path / "music" / name
        ids[name] = cat.add_track(p, f"hash-{name}", 10, 0.0, 60.0, title=name, artist=name.split("/")[0])
    yield cat, ids, tmp_path
    cat.close()


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_ids_paths_suffixes_weights_header_and_comments(catalog):
    cat, ids, tmp = catalog
    f = write(tmp / "tags.csv", "track,tag,weight\n"
                                f"{ids['jazz/a.ogg']},Waltz,0.8\n"
                                "# a comment\n\n"
                                f"{tmp / 'music' / 'jazz' / 'b.ogg'},Piano\n"
                                "music/rock/c.ogg,Guitar,2\n"
                                "rock/c.ogg,guitar,0.5\n"
                                "jazz/a.ogg,Calm\n")
    tags = read_tags_csv(f, cat)
    assert tags[ids["jazz/a.ogg"]] == {"Waltz": 0.8, "Calm": 1.0}
    assert tags[ids["jazz/b.ogg"]] == {"Piano": 1.0}
    assert tags[ids["rock/c.ogg"]] == {"Guitar": 2.0}  # same tag twice: the larger weight, first spelling
    assert ids["rock/b.ogg"] not in tags


@pytest.mark.parametrize("body, line, words", [
    ("track,tag\n1,Jazz\n999,Rock\n", 3, "not in the catalog"),
    ("1,Jazz\n2\n", 2, "found 1 field"),
    ("1,Jazz\n2,Rock,1,extra\n", 2, "found 4 field"),
    ("1,Jazz,abc\n", 1, "is not a number"),
    ("1,Jazz\n\n2,Rock,-1\n", 3, "must be a positive number"),
    ("1,Jazz\nb.ogg,Rock\n", 2, "matches 2 catalog tracks"),
])
def test_bad_lines_name_the_line(catalog, body, line, words):
    cat, ids, tmp = catalog
    f = write(tmp / "bad.csv", body)
    with pytest.raises(UsageError) as e:
        read_tags_csv(f, cat)
    msg = str(e.value)
    assert f"bad.csv, line {line}:" in msg
    assert words in msg


@pytest.mark.parametrize("body", ["", "\n\n", "track,tag,weight\n", "# nothing yet\n"])
def test_empty_tags_file_is_refused(catalog, body):
    cat, _, tmp = catalog
    with pytest.raises(UsageError, match="is empty"):
        read_tags_csv(write(tmp / "empty.csv", body), cat)


def test_missing_tags_file(catalog):
    cat, _, tmp = catalog
    with pytest.raises(UsageError, match="does not exist"):
        read_tags_csv(tmp / "nope.csv", cat)


def test_relations_file_and_its_errors(tmp_path):
    rel = read_relations_csv(write(tmp_path / "rel.csv", "tag,related,weight\nWaltz,Classical,0.5\nWaltz,Dancing,0.8\n"
                                                          "Classical,Orchestral\n"))
    assert rel == {"waltz": [("Classical", 0.5), ("Dancing", 0.8)], "classical": [("Orchestral", 1.0)]}
    with pytest.raises(UsageError, match=r"rel2.csv, line 2: the weight '1.5' must be in \(0, 1\]"):
        read_relations_csv(write(tmp_path / "rel2.csv", "Waltz,Classical,0.5\nWaltz,Dancing,1.5\n"))
    with pytest.raises(UsageError, match="rel3.csv, line 1: the tag 'Waltz' cannot be related to itself"):
        read_relations_csv(write(tmp_path / "rel3.csv", "Waltz,waltz,0.5\n"))
    with pytest.raises(UsageError, match="rel4.csv, line 1: expected"):
        read_relations_csv(write(tmp_path / "rel4.csv", "Waltz\n"))
    with pytest.raises(UsageError, match="is empty"):
        read_relations_csv(write(tmp_path / "rel5.csv", ""))


def test_expansion_chains_multiplies_and_keeps_the_larger_weight():
    rel = {"waltz": [("Classical", 0.5), ("Dancing", 0.8)], "classical": [("Orchestral", 0.5)],
           "dancing": [("Classical", 0.9)]}
    e = expand({"Waltz": 1.0}, rel)
    # Classical: max(1·0.5, 1·0.8·0.9) = 0.72; Orchestral: 0.72·0.5
    assert e == pytest.approx({"Waltz": 1.0, "Classical": 0.72, "Dancing": 0.8, "Orchestral": 0.36})
    e2 = expand({"Waltz": 1.0, "Classical": 0.9}, rel)  # an annotated tag keeps its own, larger weight
    assert e2["Classical"] == pytest.approx(0.9)
    cyc = {"a": [("b", 0.5)], "b": [("a", 0.5)]}
    assert expand({"a": 1.0}, cyc) == pytest.approx({"a": 1.0, "b": 0.5})


def test_weighted_jaccard_by_hand():
    a = {"Jazz": 1.0, "Piano": 0.5}
    b = {"jazz": 0.5, "Calm": 1.0}
    assert weighted_jaccard(a, b) == pytest.approx(0.5 / (1.0 + 0.5 + 1.0))
    assert weighted_jaccard(a, a) == 1.0
    assert weighted_jaccard(a, {"Rock": 1}) == 0.0
    assert weighted_jaccard({}, {}) == 0.0


def test_oracle_matrix_matches_pairwise_and_uses_relations():
    o = Oracle({"waltz": [("Classical", 0.5)]})
    sets = [{"Waltz": 1.0}, {"Classical": 1.0}, {"Rock": 1.0}, {"Waltz": 1.0, "Rock": 0.2}]
    s = o.matrix(sets)
    assert s.shape == (4, 4) and np.allclose(s, s.T) and np.allclose(np.diag(s), 1.0)
    for i in range(4):
        for j in range(4):
            assert s[i, j] == pytest.approx(o.similarity(sets[i], sets[j]))
    assert s[0, 1] == pytest.approx(0.5 / 2.0)  # {Waltz 1, Classical 0.5} vs {Classical 1}
    assert Oracle().matrix(sets)[0, 1] == 0.0


def test_catalog_tags_and_round_trip(catalog):
    cat, ids, tmp = catalog
    cat.set_user_fields(ids["jazz/a.ogg"], tags=["Jazz", "Calm"])
    assert tags_from_catalog(cat) == {ids["jazz/a.ogg"]: {"Jazz": 1.0, "Calm": 1.0}}
    write_tags_csv(tmp / "out.csv", {ids["jazz/b.ogg"]: {"Piano": 0.25}})
    assert read_tags_csv(tmp / "out.csv", cat) == {ids["jazz/b.ogg"]: {"Piano": 0.25}}
