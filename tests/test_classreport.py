"""The class report: report.html after `grader batch`, `grader report`, and the page in a real browser."""

import csv
import json
import os
import random
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from classgen import disguised_copy
from conftest import ROOT, run_cli

EX01 = ROOT / "exercises" / "ex01_sigmoid"
REFERENCE = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
INDEPENDENT = '''import numpy as np


def sigmoid(x):
    x = np.array(x, dtype=float)
    result = np.empty_like(x)
    positive = x >= 0
    result[positive] = 1 / (1 + np.exp(-x[positive]))
    ex = np.exp(x[~positive])
    result[~positive] = ex / (1 + ex)
    if result.ndim == 0:
        return float(result)
    return result


def sigmoid_derivative(x):
    sx = sigmoid(x)
    return sx - sx * sx
'''
TANH = '''import numpy as np


def sigmoid(z):
    half = 0.5 * np.asarray(z, dtype=np.float64)
    value = 0.5 + 0.5 * np.tanh(half)
    return float(value) if np.ndim(value) == 0 else value


def sigmoid_derivative(z):
    t = np.tanh(0.5 * np.asarray(z, dtype=np.float64))
    d = 0.25 * (1.0 - t * t)
    return float(d) if np.ndim(d) == 0 else d
'''
HANG = "def sigmoid(z):\n    while True:\n        pass\n\n\ndef sigmoid_derivative(z):\n    while True:\n        pass\n"
HOSTILE_NAME = "zed <b>&amp;"
SEED = 987654321
CLASS = {
    "ada": REFERENCE,
    "bob": disguised_copy(REFERENCE, random.Random(1), keep=("sigmoid", "sigmoid_derivative")),  # ada's, renamed and reordered
    "cal": INDEPENDENT,
    "cyd": (EX01 / "mutants" / "sign_flipped.py").read_text(),
    "dee": (EX01 / "sigmoid.py").read_text(),  # the stub
    "eve": "def sigmoid(z:\n",  # a syntax error
    "fay": None,  # hands in nothing for ex01
    "gus": HANG,
    HOSTILE_NAME: TANH,
}
def _browser() -> Path | None:
    """Headless Chromium or Chrome: Debian's chromium, or the Google Chrome GitHub's runners have."""
    for name in (os.environ.get("GRADER_TEST_BROWSER"), "chromium", "chromium-browser", "google-chrome",
                 "google-chrome-stable"):
        found = shutil.which(name) if name else None
        if found:
            return Path(found)
    return None


CHROMIUM = _browser()
NO_BROWSER = ("headless Chromium is not installed (apt-get install chromium, or set GRADER_TEST_BROWSER): "
              "the page is not rendered in a browser")
# Where a test keeps what a person looks at (the screenshot of the students' table): CI uploads it.
ARTIFACTS = Path(os.environ.get("GRADER_TEST_ARTIFACTS") or ROOT / "test-artifacts")


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ""

    def find_all(self, tag=None, **attrs):
        out = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()):
                out.append(child)
            out += child.find_all(tag, **attrs)
        return out

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class Tree(HTMLParser):
    """The page as a tree of Nodes (html.parser: the standard library's own, strict enough to catch broken nesting)."""

    VOID = {"meta", "br", "input", "img", "link", "hr", "wbr", "source", "col"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})
        self.mismatched = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self.current.tag != tag:
            self.mismatched.append((self.current.tag, tag))
            while self.current.parent is not None and self.current.tag != tag:
                self.current = self.current.parent
        if self.current.parent is not None:
            self.current = self.current.parent

    def handle_data(self, data):
        holder = Node("#text", {}, self.current)
        holder.text = data
        self.current.children.append(holder)


def parse(path: Path) -> Node:
    tree = Tree(path.read_text())
    assert tree.mismatched == [], tree.mismatched[:5]
    return tree.root


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with ex01 only, with tight limits so a hanging submission costs seconds."""
    root = tmp_path_factory.mktemp("course")
    folder = root / "exercises" / "ex01_sigmoid"
    shutil.copytree(EX01, folder, ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["limits"].update(call_seconds=1, total_seconds=3)
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    return root


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """One `grader batch --similarity` over the class (shared by the tests that read its report)."""
    work = tmp_path_factory.mktemp("classreport")
    subs = work / "subs"
    subs.mkdir()
    for i, (name, source) in enumerate(CLASS.items()):
        folder = subs / name
        folder.mkdir()
        if source is None:
            (folder / "notes.txt").write_text("I did not finish\n")
        else:
            (folder / "sigmoid.py").write_text(source)
    out = work / "grades"
    proc = run_cli("--root", str(course), "batch", str(subs), "-e", "ex01", "--jobs", "2", "--out", str(out),
                   "--seed", str(SEED), "--similarity", "--no-progress", cwd=work)
    assert proc.returncode == 0, proc.stderr
    return proc, out


def gradebook(out: Path) -> dict:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def student_rows(page: Node) -> dict:
    """The students' table: student name -> {column header: (text, data-value)}; "_notes": the notes cell."""
    table = page.find("table", id="students-table")
    heads = [th.attrs.get("data-key") or th.all_text().strip() for th in table.find("thead").find_all("th")]
    rows = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = [c for c in tr.children if c.tag == "td"]
        assert len(cells) == len(heads)
        values = {h: (c.all_text().strip(), c.attrs.get("data-value")) for h, c in zip(heads, cells)}
        notes = cells[heads.index("notes")]
        summary = notes.find("summary")
        rows[values["student"][0]] = values | {"_tags": tr.attrs.get("data-tags", "").split(),
                                               "_full": notes.attrs.get("data-full"),
                                               "_short": summary.all_text().strip() if summary else ""}
    return rows


def test_batch_writes_a_self_contained_report(graded):
    proc, out = graded
    assert f"class report: {out / 'report.html'}" in proc.stdout
    page = parse(out / "report.html")
    # Nothing is fetched when the page is viewed: no external script, style, image or font.
    for node in page.find_all():
        for attr in ("src", "href"):
            value = node.attrs.get(attr) or ""
            assert not value.startswith(("http:", "https:", "//")), (node.tag, value)
    assert page.find("link") is None and all("src" not in s.attrs for s in page.find_all("script"))
    assert "default-src 'none'" in page.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    # The plots are inline SVG: overall, one per exercise, the checks, the time.
    figures = page.find_all("figure")
    assert len(figures) == 4 and all(f.find("svg") is not None for f in figures)
    assert all(len(f.find("svg").find_all("path")) > 5 for f in figures)  # drawn, not empty frames
    # The seed as every other report of the run shows it (here a public one: its number).
    shown = {json.loads(p.read_text())["exercises"]["ex01_sigmoid"]["result"]["seed"]
             for p in (out / "reports").glob("*.json") if json.loads(p.read_text())["exercises"]["ex01_sigmoid"]["result"]}
    assert shown == {SEED}
    assert page.find("table", id="run-facts").find("td").all_text().startswith(f"{SEED} ")


def test_every_figure_of_the_table_is_the_gradebook(graded):
    _, out = graded
    book = gradebook(out)
    rows = student_rows(parse(out / "report.html"))
    assert set(rows) == set(book) and len(rows) == len(CLASS)
    for name, row in book.items():
        mine = rows[name]
        shown = mine["ex01_sigmoid"][0]  # the score, or the mark of the gradebook's 0 for nothing graded
        assert shown == row["ex01_sigmoid"] or (shown in ("—", "0!") and row["ex01_sigmoid"] == "0"), name
        assert float(mine["ex01_sigmoid"][1]) == float(row["ex01_sigmoid"])
        assert mine["total"][0] == row["total"] and mine["percent"][0] == row["percent"]
        assert mine["_full"] == row["notes"]  # the gradebook's notes, whole, on demand ...
        assert len(mine["_short"]) <= len(row["notes"])  # ... and in short in the row
    assert rows["ada"]["ex01_sigmoid"][0] == "10" and rows["dee"]["ex01_sigmoid"][0] == "0"
    # A missing file is the gradebook's 0, marked as such, with its cause.
    assert rows["fay"]["ex01_sigmoid"][0] == "—" and "missing" in rows["fay"]["_tags"]
    assert rows["eve"]["_short"] == "ex01: syntax error, line 1" and "zero" in rows["eve"]["_tags"]
    assert "cause: ex01_sigmoid: import" in rows["eve"]["notes"][0]  # the first line the grader gave, on demand
    assert rows["fay"]["_short"] == "missing: ex01"
    assert "similar" in rows["ada"]["_tags"] and "similar" in rows["bob"]["_tags"]
    assert "similar" not in rows["cal"]["_tags"]


def test_distributions_keep_the_ungraded_apart(graded):
    _, out = graded
    book = gradebook(out)
    page = parse(out / "report.html")
    stats = page.find("p", id="overall-stats").attrs
    handed_in = [n for n in book if n != "fay"]
    assert int(stats["data-graded"]) == len(handed_in) and int(stats["data-missing"]) == 1
    mean = sum(float(book[n]["percent"]) for n in handed_in) / len(handed_in)
    assert f"mean {mean:.1f}%" in page.find("p", id="overall-stats").all_text().replace("\n", " ")
    cells = [td.all_text().strip() for td in page.find("table", id="exercise-stats").find("tbody").find_all("td")]
    scores = [float(book[n]["ex01_sigmoid"]) for n in handed_in]
    assert cells[2] == str(len(handed_in)) and float(cells[3]) == pytest.approx(sum(scores) / len(scores), abs=1e-3)
    assert cells[6:8] == ["1", "0"]  # missing, not graded


def test_checks_times_and_limits(graded):
    _, out = graded
    page = parse(out / "report.html")
    reports = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
    failed = sum(any(t["name"] == "test_sigmoid_scalar" and t["status"] != "passed" for t in r["exercises"]
                     ["ex01_sigmoid"]["result"]["tests"]) for r in reports.values() if r["exercises"]["ex01_sigmoid"]["result"])
    graded_n = sum(bool(r["exercises"]["ex01_sigmoid"]["result"]) for r in reports.values())
    rows = {tr.find_all("td")[1].all_text().strip(): tr for tr in page.find("table", id="check-stats").find_all("tr")[1:]}
    scalar = rows["test_sigmoid_scalar"]
    assert scalar.find_all("td")[3].all_text().strip() == f"{failed} / {graded_n}"
    # The grader's own hint for the sign-flipped sigmoid is among the most frequent.
    assert "sign inside exp is flipped" in scalar.find("ul").all_text()
    hits = page.find("table", id="limit-hits")
    assert hits is not None and "gus" in hits.all_text() and "time" in hits.all_text()
    assert "ada" not in hits.all_text()


def test_drill_down_to_each_student(graded):
    _, out = graded
    page = parse(out / "report.html")
    details = {d.attrs["id"]: d for d in page.find_all("details") if "student-detail" in d.attrs.get("class", "")}
    for tr in page.find("table", id="students-table").find("tbody").find_all("tr"):
        slug = tr.attrs["data-slug"]
        assert tr.find("a").attrs["href"] == f"#s-{slug}" and f"s-{slug}" in details
        link = details[f"s-{slug}"].find("a").attrs["href"]
        assert link == f"reports/{slug}.json" and (out / link).is_file()
    assert "sign inside exp is flipped" in details["s-cyd"].all_text()


def test_student_text_is_escaped(graded):
    _, out = graded
    page = parse(out / "report.html")
    rows = student_rows(page)
    assert HOSTILE_NAME in rows  # shown as text ...
    table = page.find("table", id="students-table")
    assert table.find("b") is None  # ... never as markup


def test_similar_pairs_in_the_report_and_in_similarity_json(graded):
    proc, out = graded
    assert "Similar submissions" in proc.stdout
    data = json.loads((out / "similarity.json").read_text())
    pairs = data["exercises"]["ex01_sigmoid"]["pairs"]
    assert [(p["a"]["slug"], p["b"]["slug"]) for p in pairs] == [("ada", "bob")]
    page = parse(out / "report.html")
    (pair,) = page.find("section", id="similarity").find_all("details")
    assert (pair.attrs["data-a"], pair.attrs["data-b"]) == ("ada", "bob")
    sides = pair.find_all("div", class_="side")
    assert len(sides) == 2
    shared = [[s.all_text() for s in side.find_all("span") if "shared" in s.attrs.get("class", "")] for side in sides]
    assert any("np.where" in line for line in shared[0]) and any("np.where" in line for line in shared[1])
    # It never changes a grade: ada and bob keep what the grader gave them.
    book = gradebook(out)
    assert book["ada"]["ex01_sigmoid"] == "10" and book["bob"]["ex01_sigmoid"] == "10"


def test_grader_report_rebuilds_the_page_without_grading(graded, tmp_path):
    _, out = graded
    copy = tmp_path / "grades"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    # A grading that failed: that student's grade is unknown, shown apart and never as a 0 in the figures.
    report = json.loads((copy / "reports" / "cal.json").read_text())
    report["exercises"]["ex01_sigmoid"].update(result=None, error="grading took more than 5 s and was stopped")
    (copy / "reports" / "cal.json").write_text(json.dumps(report))
    proc = run_cli("report", str(copy))
    assert proc.returncode == 0, proc.stderr
    page = parse(copy / "report.html")
    assert int(page.find("p", id="overall-stats").attrs["data-not-graded"]) == 1
    rows = student_rows(page)
    assert rows["cal"]["ex01_sigmoid"][0] == "0!" and "not-graded" in rows["cal"]["_tags"]
    assert "cal" in page.find("table", id="limit-hits").all_text()
    assert not list(copy.glob("reports/.*"))  # nothing was graded: no report rewritten


def test_grader_report_errors_are_clear(tmp_path):
    proc = run_cli("report", str(tmp_path))
    assert proc.returncode == 2 and "not the output of grader batch" in proc.stderr
    assert "Traceback" not in proc.stderr
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "x.json").write_text("{broken")
    proc = run_cli("report", str(tmp_path))
    assert proc.returncode == 2 and "no student report" in proc.stderr


def test_grader_report_runs_outside_a_course_folder(graded, tmp_path, monkeypatch):
    _, out = graded
    import grader.cli
    from grader.exercises import ExerciseError

    def nowhere(*args, **kwargs):
        raise ExerciseError("no exercises found")

    monkeypatch.setattr(grader.cli, "find_root", nowhere)
    assert grader.cli.main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 10_000
    assert grader.cli.main(["list"]) == 2  # a command that needs the course still says so


def test_without_matplotlib_the_message_says_what_to_install(graded, tmp_path, monkeypatch, capsys):
    _, out = graded
    from grader.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 2
    assert "pip install 'grader[report]'" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def _chromium(page: Path, fragment: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{abs(hash((fragment, args)))}"
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", *args, page.as_uri() + fragment],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _chromium_dom(page: Path, fragment: str, tmp_path: Path) -> Node:
    proc = _chromium(page, fragment, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    tree = Tree(proc.stdout)
    return tree.root


@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
def test_the_page_works_in_a_real_browser(graded, tmp_path):
    _, out = graded
    book = gradebook(out)
    page = out / "report.html"
    # Sorted by percent, highest first, by the page's own script.
    dom = _chromium_dom(page, "#sort=percent&dir=desc", tmp_path)
    body = dom.find("body")
    assert body.attrs.get("data-ready") == "1"  # the script ran to its end
    assert len(dom.find_all("svg")) >= 4
    rows = dom.find("table", id="students-table").find("tbody").find_all("tr")
    assert len(rows) == len(book)
    percents = [float(r.find("td", class_="n percent").attrs["data-value"]) for r in rows]
    assert percents == sorted(percents, reverse=True)
    heads = {th.all_text().strip(): th.attrs.get("aria-sort") for th in dom.find("table", id="students-table").find_all("th")}
    assert heads["percent"] == "descending"
    # Filtered: only the students not graded / handing in nothing stay visible.
    dom = _chromium_dom(page, "#show=missing", tmp_path)
    visible = [r.attrs["data-slug"] for r in dom.find("table", id="students-table").find("tbody").find_all("tr")
               if "hidden" not in r.attrs]
    assert visible == ["fay"]
    assert dom.find("span", id="shown").all_text() == f"1 of {len(book)} students shown"


def test_obfuscated_files_are_listed_for_review_and_tagged(graded, tmp_path):
    import base64
    import zlib

    from grader.similarity import format_pairs, obfuscation

    _, out = graded
    copy = tmp_path / "grades"
    shutil.copytree(out, copy)
    packed = f"import zlib, base64\nexec(zlib.decompress(base64.b64decode({base64.b64encode(zlib.compress(b'x = 1')).decode()!r})))\n"
    data = json.loads((copy / "similarity.json").read_text())
    data["exercises"]["ex01_sigmoid"]["review"] = {"cal": obfuscation(packed)}
    (copy / "similarity.json").write_text(json.dumps(data))
    assert "review cal: obfuscated" in format_pairs(data)
    proc = run_cli("report", str(copy))
    assert proc.returncode == 0, proc.stderr
    page = parse(copy / "report.html")
    review = page.find("section", id="similarity").find("div", class_="review").all_text()
    assert "cal: obfuscated: runs code it builds at run time (exec)" in review and "never a change of grade" in review
    rows = student_rows(page)
    assert "similar" in rows["cal"]["_tags"]
    assert gradebook(copy)["cal"] == gradebook(out)["cal"]  # the grade is untouched


# -- a class of 60 over the whole course, written as grader batch writes it (nothing graded) ---------------


def _check_entries(ex, rng, fraction: float, kind: str = "mismatch", first: str = "") -> list[dict]:
    tests = []
    for name, check in ex.checks.items():
        passed = rng.random() < fraction
        tests.append({"name": name, "score": float(check.points) if passed else 0.0, "max_score": float(check.points),
                      "status": "passed" if passed else "failed", "kind": "" if passed else kind,
                      "output": "" if passed else (first or f"{name.removeprefix('test_')}: values differ from the "
                                                   "expected ones\nHint: check the axis you reduce over"),
                      "hints": [] if passed else ["Hint: check the axis you reduce over"],
                      "description": check.description, "seconds": 0.01})
    return tests


def synthetic_class(folder: Path, students: int = 60, pending: int = 0, nobody: tuple = ("ex06_conv",)) -> Path:
    """reports/<student>.json and summary.json as `grader batch` writes them, for ``students`` students over
    every exercise of the course: some hand in nothing for several exercises (the long notes), some 0s with a
    long first line, ``pending`` students not reached by an interrupted run, and nobody hands in ``nobody``."""
    from grader.batch.common import not_reached
    from grader.batch.gradebook import write_gradebook
    from grader.batch.summary import summarize
    from grader.exercises import all_exercises

    exercises = all_exercises(ROOT)
    rng = random.Random(7)
    (folder / "reports").mkdir(parents=True)
    reports = {}
    for i in range(students):
        slug = f"student-{i:02d}"
        entries = {}
        for ex in exercises:
            entry = {"key": f"k{i}{ex.name}", "file": ex.file, "result": None, "error": None}
            roll = rng.random()
            if i >= students - pending:
                pass  # not reached: a file, no result, no error
            elif ex.name in nobody or roll < 0.3 or i in (5, 33):  # 5 and 33 hand in nothing
                entry.update(file=None, missing=f"no {ex.file} (nor {ex.name}.ipynb) in the submission")
            elif roll < 0.35:
                entry["error"] = "grading took more than 95 s and was stopped"
            else:
                zero = roll < 0.45
                tests = _check_entries(ex, rng, 0.0 if zero else rng.random(), "exception" if zero else "mismatch",
                                       "ValueError: operands could not be broadcast together with shapes (64,10) "
                                       "(10,64) in `softmax_cross_entropy`, called with logits of shape (64, 10)"
                                       if zero else "")
                score = sum(t["score"] for t in tests)
                entry.update(result={"exercise": ex.name, "title": ex.title, "score": score,
                                     "max_score": ex.max_score, "seed": "secret:1244caefb7", "devices": ["cpu"],
                                     "tests": tests, "versions": {"grader": "0.1.0", "python": "3.11.7"},
                                     "seconds": round(rng.uniform(0.2, 9), 3), "sandbox": ["rlimits"]},
                             job="vm:1", graded_at=1796686634.0 + i)
            entries[ex.name] = entry
        total = sum(e["result"]["score"] for e in entries.values() if e["result"])
        best = sum(ex.max_score for ex in exercises)
        reports[slug] = {"student": f"Student {i:02d} " + "Longname" * (i % 3), "slug": slug, "source": slug,
                         "info": {}, "layout": "plain", "seed": "secret:1244caefb7", "grader": "0.1.0",
                         "exercises": entries, "score": total, "max_score": best,
                         "percent": round(100 * total / best, 2)}
        (folder / "reports" / f"{slug}.json").write_text(json.dumps(reports[slug]))
    (folder / "summary.json").write_text(json.dumps(summarize(reports, exercises)))
    write_gradebook(folder, reports, exercises)
    assert sum(any(not_reached(e) for e in r["exercises"].values()) for r in reports.values()) == pending
    return folder


@pytest.fixture(scope="module")
def big_class(tmp_path_factory):
    folder = synthetic_class(tmp_path_factory.mktemp("big") / "grades")
    assert run_cli("report", str(folder)).returncode == 0
    return folder / "report.html"


def test_the_students_table_is_one_line_per_student(big_class):
    page = parse(big_class)
    rows = student_rows(page)
    assert len(rows) == 60
    for row in rows.values():
        if row["_full"]:
            assert row["_short"] and len(row["_short"]) < len(row["_full"]) or row["_full"] == row["_short"]
        # Missing exercises together, once: "missing: ex03, ex06", never one "no conv.py ..." per exercise.
        assert "(nor " not in row["_short"] and row["_short"].count("missing:") <= 1
        assert row["_short"].startswith("missing: ") == ("no " in (row["_full"] or "") and "in the submission" in row["_full"])
    some = next(r for r in rows.values() if r["_short"].startswith("missing: ex01, "))
    assert "ex06" in some["_short"].split(" · ")[0]
    # The seed as the students' reports show it (a secret one: its fingerprint, as grader check and ci show it).
    assert page.find("table", id="run-facts").find("td").all_text().startswith("secret:1244caefb7 ")
    # The column heads are the exercises' short names, their full names and titles on hover.
    heads = page.find("table", id="students-table").find("thead").find_all("th")
    assert [h.all_text() for h in heads[1:4]] == ["ex01", "ex02", "ex03"]
    assert heads[1].attrs["title"].startswith("ex01_sigmoid: ")


def test_an_exercise_nobody_handed_in_says_no_submissions(big_class):
    page = parse(big_class)
    empty = page.find("figure", **{"data-exercise": "ex06_conv"})
    assert empty is not None and empty.find("svg") is None
    assert "no submissions" in empty.all_text() and "60 missing files" in empty.all_text()
    # Its title, from summary.json (no result carries it), in the words and in the exercises' table.
    assert "A convolution layer, forward and backward" in empty.all_text()
    rows = {tr.find("td").all_text(): tr for tr in page.find("table", id="exercise-stats").find("tbody").find_all("tr")}
    assert rows["ex06_conv"].find_all("td")[1].all_text() == "A convolution layer, forward and backward"
    others = [f for f in page.find_all("figure") if f.attrs.get("data-exercise") not in (None, "ex06_conv")]
    assert not others  # every other exercise is drawn (a figure without the marker)


def test_integer_scores_sit_on_the_integers():
    from grader.classreport.plots import score_bins

    edges, ticks = score_bins([0.0, 3.0, 10.0], 10.0)
    assert edges[0] == -0.5 and edges[-1] == 10.5 and len(edges) == 12 and ticks == list(range(11))
    centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    assert centres == list(range(11))  # one bar per point, centred on it
    edges, ticks = score_bins([0.5, 2.25], 10.0)  # fractional scores: ten bands
    assert edges == [i for i in range(11)] and ticks is None


def test_a_partial_run_says_so_at_the_top(tmp_path):
    folder = synthetic_class(tmp_path / "grades", students=60, pending=47)
    proc = run_cli("report", str(folder))
    assert proc.returncode == 0, proc.stderr
    page = parse(folder / "report.html")
    title = page.find("title").all_text()
    assert title.startswith("Class report (partial: 47 of 60 not graded yet): 60 students")
    banner = page.find("main").find("p")
    assert banner.attrs.get("id") == "partial" and "partial: 47 of 60 not graded yet" in banner.all_text()
    stats = page.find("p", id="overall-stats").attrs
    assert stats["data-pending"] == "47"
    assert int(stats["data-graded"]) + int(stats["data-not-graded"]) + int(stats["data-missing"]) == 60
    rows = student_rows(page)
    waiting = [r for r in rows.values() if "not-graded-yet" in r["_tags"]]
    assert len(waiting) == 47 and all(r["total"][0] == "" and r["_short"].startswith("not graded yet")
                                      for r in waiting)
    # A run killed before it wrote the reports of those it had not reached: the gradebook still counts them.
    for path in sorted((folder / "reports").glob("*.json"))[-20:]:
        path.unlink()
    assert run_cli("report", str(folder)).returncode == 0
    page = parse(folder / "report.html")
    assert "partial: 47 of 60 not graded yet" in page.find("p", id="partial").all_text()
    assert len(student_rows(page)) == 60


def test_plurals_and_code_in_notes():
    from grader.text import counted, html_with_code

    assert counted(1, "student") == "1 student" and counted(2, "student") == "2 students"
    assert counted(0, "pair") == "0 pairs"
    assert html_with_code("`softmax` <b> `a<b>`") == "<code>softmax</code> &lt;b&gt; <code>a&lt;b&gt;</code>"


def test_one_student_is_one_student(tmp_path):
    folder = synthetic_class(tmp_path / "grades", students=1, nobody=())
    assert run_cli("report", str(folder)).returncode == 0
    text = (folder / "report.html").read_text()
    assert "1 students" not in text and "Class report: 1 student, " in text


# A script added to a copy of the page (its policy allows inline scripts): it acts as a person would and
# writes what it measured into <body data-measured="...">, which --dump-dom prints.
MEASURE = """<script>
(function () {
  var table = document.getElementById("students-table");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var heights = rows.map(function (r) { return r.getBoundingClientRect().height; });
  var line = parseFloat(getComputedStyle(rows[0].cells[0]).lineHeight) || 20;
  var out = {viewport: document.documentElement.clientWidth, table: table.getBoundingClientRect().width,
             right: table.getBoundingClientRect().right, scroll: document.documentElement.scrollWidth,
             tallest: Math.max.apply(null, heights), line: line, rows: rows.length};
  // The view goes into the address: sort by percent (twice: descending), show the graded 0s.
  var percent = Array.prototype.filter.call(table.tHead.rows[0].cells,
                                            function (h) { return h.getAttribute("data-key") === "percent"; })[0];
  percent.click(); percent.click();
  var show = document.getElementById("show");
  show.value = "zero"; show.dispatchEvent(new Event("change"));
  out.hashAfterClicks = location.hash;
  // A changed address is applied in the open page.
  window.addEventListener("hashchange", function () {
    setTimeout(function () {
      out.shownAfterHashchange = document.getElementById("shown").textContent;
      out.showAfterHashchange = show.value;
      out.visibleAfterHashchange = rows.filter(function (r) { return !r.hidden; }).map(function (r) {
        return r.getAttribute("data-slug"); });
      document.body.setAttribute("data-measured", JSON.stringify(out));
    }, 0);
  });
  location.hash = "#show=missing&sort=student";
})();
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
def test_the_students_table_fits_1400_px_in_a_browser(big_class, tmp_path):
    """60 students over the whole course, at 1400 px: one line per student, no wider than the window."""
    probe = tmp_path / "probe.html"
    probe.write_text(big_class.read_text().replace("</body>", MEASURE + "</body>"))
    dom = Tree(_chromium(probe, "", tmp_path, "--window-size=1400,900", "--virtual-time-budget=3000",
                         "--dump-dom").stdout).root
    measured = json.loads(dom.find("body").attrs["data-measured"])
    assert measured["rows"] == 60
    assert measured["table"] <= measured["viewport"] and measured["right"] <= measured["viewport"], measured
    assert measured["scroll"] <= measured["viewport"], measured  # nothing sticks out of the page
    assert measured["tallest"] < 2 * measured["line"] + 8, measured  # one line of text per student
    assert measured["hashAfterClicks"] == "#show=zero&sort=percent&dir=desc", measured
    assert measured["showAfterHashchange"] == "missing", measured
    book = {p.stem: json.loads(p.read_text()) for p in (big_class.parent / "reports").glob("*.json")}
    nothing = sorted(slug for slug, r in book.items() if all(e.get("missing") for e in r["exercises"].values()))
    assert measured["visibleAfterHashchange"] == nothing == ["student-05", "student-33"]
    assert measured["shownAfterHashchange"].startswith(f"{len(nothing)} of 60 ")
    # A screenshot of the table as an instructor sees it, kept for a person to look at.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "class-report-students-1400px.png"
    only = tmp_path / "students.html"
    only.write_text(big_class.read_text().replace(
        "</head>", "<style>main > :not(#students) { display: none }</style></head>"))
    _chromium(only, "", tmp_path, "--window-size=1400,1000", f"--screenshot={shot}")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
