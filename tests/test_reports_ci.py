"""CI report formats: JUnit XML, GitHub job summary and annotations, and their escaping."""

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run_cli
from grader.ci_report import (escape_data, escape_property, function_for, function_lines, github_annotations,
                              github_summary, locate, md_pre, md_text, stop_commands, to_junit, xml_clean)
from grader.exercises import resolve
from grader.results import CheckResult, ExerciseResult

SIGN_FLIPPED = ROOT / "exercises" / "ex01_sigmoid" / "mutants" / "sign_flipped.py"
HOSTILE_TEXT = ("boom\x1b[31m\x00\x07 ::error file=x.py,line=1::fake\r\n::add-mask::x %0A%25 "
                "@octocat [click](https://evil.example) ![img](https://t.example/p.png) </pre><script>alert(1)"
                "</script> | --- | `code` **bold** \ud800")


def _result(output: str = HOSTILE_TEXT, file: str = "", line=None, kind: str = "exception",
            hints=()) -> ExerciseResult:
    return ExerciseResult(
        exercise="ex01_sigmoid", title="Sigmoid", score=2.0, max_score=5.0, seed=1234, devices=["cpu"],
        versions={"python": "3", "numpy": "2", "torch": "2", "grader": "0"},
        tests=[CheckResult("test_sigmoid_arrays", 0.0, 3.0, "failed", output=output, kind=kind, file=file, line=line,
                           hints=list(hints)),
               CheckResult("test_derivative_arrays", 2.0, 2.0, "passed")])


# -- escaping ----------------------------------------------------------------------------


def test_workflow_command_escaping_follows_githubs_rules():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    # Escaping % first: an escaped sequence in the input cannot turn back into a newline.
    assert escape_data("%0A") == "%250A"


def test_stop_commands_uses_a_fresh_unguessable_token():
    a, b = stop_commands("x"), stop_commands("x")
    token = re.match(r"::stop-commands::([0-9a-f]{32})\n", a).group(1)
    assert a.endswith(f"::{token}::") and token not in b


def test_xml_clean_removes_what_xml_cannot_hold():
    assert xml_clean("a\x00b\x1bc\x7fd\ud800e\tf\ng") == "abcde\tf\ng"


def test_markdown_text_is_inert():
    text = md_text(HOSTILE_TEXT)
    for raw in ("<script", "</pre>", "@octocat", "https://", "**", "\n", "\x1b", "\x00"):
        assert raw not in text, raw
    # Link, image, table and code syntax is escaped with a backslash (inert, and readable as a file).
    assert not re.search(r"(?<!\\)[`|\[\]*]", text), text
    assert "<br>" in text  # newlines kept as line breaks
    block = md_pre("line 1\n</pre>\n<b>x</b>")
    assert block.startswith("<pre>") and block.endswith("</pre>") and block.count("</pre>") == 1


def test_markdown_escapes_only_what_markdown_and_html_need():
    # Punctuation that formats nothing stays as it is: the summary reads well as a file.
    plain = "ex01_sigmoid: sigmoid(z) values differ (max |a - e| = 3.2e-01, at index 0); expected 0.5!"
    assert md_text(plain) == plain.replace("|", "\\|")
    assert md_text("_emphasis_ and *bold*") == "\\_emphasis\\_ and \\*bold\\*"
    assert md_text("a < b & c") == "a &lt; b &amp; c"
    assert md_pre("x = (1, 2) # done.") == "<pre>x = (1, 2) # done.</pre>"
    summary = github_summary([_result(output="sigmoid(z): values differ\nHint: use np.exp(-z)")], title="Report")
    assert "| ❌ ex01_sigmoid | 2 / 5 |" in summary and "&#" not in summary


# -- JUnit --------------------------------------------------------------------------------


def test_junit_is_valid_xml_with_one_suite_per_exercise_and_the_feedback():
    other = _result(output="plain failure\nHint: do it right", kind="mismatch")
    other.exercise = "ex02_propagate"
    xml = to_junit([_result(), other])
    root = ET.fromstring(xml.encode())
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "2"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ex01_sigmoid", "ex02_propagate"]
    case = suites[0].find("testcase")
    failure = case.find("failure")
    assert case.get("name") == "test_sigmoid_arrays" and failure.get("type") == "exception"
    assert failure.get("message").startswith("boom") and "::add-mask::" in failure.text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", xml)
    assert suites[1].find("testcase/failure").text.endswith("Hint: do it right")
    assert suites[0].find("properties/property[@name='score']").get("value") == "2"


# -- GitHub -----------------------------------------------------------------------------------


def test_annotations_are_single_commands_at_the_function():
    text = github_annotations([_result(file="exercises/ex01_sigmoid/sigmoid.py", line=7)])
    lines = text.splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("::error file=exercises/ex01_sigmoid/sigmoid.py,line=7,title=ex01_sigmoid%3A "
                           "test_sigmoid_arrays (-3 points)::")
    message = line.split("::", 2)[2]
    assert message.startswith("boom[31m ::error file=x.py")  # mid-line: not a command
    assert not re.search("[\x00-\x1f\x7f]", message)
    # A second line (the grader's hint) is joined with an escaped newline; a %0A typed by the student stays text.
    text = github_annotations([_result(output="50% %0A done\r\n::add-mask::x\nHint: try again",
                                       hints=["Hint: try again"])])
    assert text.count("\n") == 0
    assert text.endswith("::50%25 %250A done%0AHint: try again")
    # A "Hint:" line in the output that the grader did not give (the student's text) is not a hint.
    text = github_annotations([_result(output="x\n| Hint: ask the staff for full marks\nHint: fake")])
    assert "staff" not in text and "fake" not in text


def test_summary_table_and_feedback_escape_student_text():
    summary = github_summary([_result()], title="Report")
    assert "| exercise | score | what failed (and the hint) |" in summary
    assert "ex01_sigmoid | 2 / 5 |" in summary
    for raw in ("<script", "https://", "@octocat", "\x1b", "\x00"):
        assert raw not in summary, raw
    # A workflow command only counts at the start of a line (and the summary goes to a file).
    assert not any(line.lstrip().startswith("::") for line in summary.splitlines())
    # Outside <pre> (where Markdown is not read), link syntax is escaped.
    assert "](" not in re.sub(r"<pre>.*?</pre>", "", summary, flags=re.S).replace("\\](", "")
    assert "<details>" in summary and "<pre>" in summary


def test_hidden_checks_show_no_feedback():
    r = _result(output="secret expected value 0.123")
    r.tests[0].hidden = True
    assert "0.123" not in github_summary([r]) and "0.123" not in github_annotations([r])


def test_function_for_a_check(tmp_path):
    ex = resolve("ex01", ROOT)
    # The function the check called (recorded as it ran), whatever its feedback mentions.
    t = CheckResult("test_x", 0, 1, "failed", output="`sigmoid` and sigmoid(z) are named here",
                    kind="mismatch", function="sigmoid_derivative")
    assert function_for(t, ex) == "sigmoid_derivative"
    t.function = ""
    assert function_for(t, ex) is None  # nothing recorded: never guessed from the text
    t.kind, t.function = "import", "sigmoid"
    assert function_for(t, ex) is None  # the whole file failed
    ex.checks["test_derivative_arrays"].function = "sigmoid"  # an explicit `function:` key wins
    t.kind, t.name, t.function = "mismatch", "test_derivative_arrays", "sigmoid_derivative"
    assert function_for(t, ex) == "sigmoid"


def test_function_lines_and_locate(tmp_path):
    source = tmp_path / "sigmoid.py"
    source.write_text("import numpy as np\n\n\ndef sigmoid(z):\n    return z\n\n\ndef sigmoid_derivative(z):\n"
                      "    return z\n")
    assert function_lines(source) == {"sigmoid": 4, "sigmoid_derivative": 8}
    (tmp_path / "broken.py").write_text("def (:\n")
    assert function_lines(tmp_path / "broken.py") == {}
    ex = resolve("ex01", ROOT)
    r = _result(output="sigmoid(z): values differ")
    r.tests[0].function = "sigmoid"
    r.submission = str(source)
    locate([r], [ex], base=tmp_path)
    assert (r.tests[0].file, r.tests[0].line) == ("sigmoid.py", 4)
    assert r.tests[1].file == ""  # passed checks are not located
    r.tests[0].function = ""  # no function known: the top of the file, never an annotation without a line
    locate([r], [ex], base=tmp_path)
    assert r.tests[0].line == 1


# -- through the command line -------------------------------------------------------------------------

HOSTILE_SUBMISSION = '''\
import numpy as np
print("::error file=README.md,line=1::fake annotation from import")


def sigmoid(z):
    print("::warning::printed by sigmoid\\n::add-mask::nothing")
    raise ValueError("bad\\n::error file=x,line=2::injected\\r\\n@octocat [x](https://evil.example) <script>")


def sigmoid_derivative(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)
'''


def test_check_format_github_and_junit_end_to_end(tmp_path):
    student = tmp_path / "sigmoid.py"
    student.write_text(HOSTILE_SUBMISSION)
    summary_file = tmp_path / "summary.md"
    proc = run_cli("check", "ex01", "--submission", str(student), "--format", "github",
                   env={"GITHUB_STEP_SUMMARY": str(summary_file)})
    assert proc.returncode == 0, proc.stderr
    commands = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("::")]
    assert commands and all(re.match(r"::(error|warning) file=[^:]*sigmoid\.py,line=\d+,title=", c)
                            for c in commands), proc.stdout
    lines = {int(re.search(r"line=(\d+)", c).group(1)) for c in commands}
    assert 5 in lines  # `def sigmoid` of the student's file
    summary = summary_file.read_text()
    assert "ex01_sigmoid" in summary and "| exercise | score |" in summary
    for raw in ("<script", "@octocat", "https://"):
        assert raw not in summary, raw
    assert not any(line.lstrip().startswith("::") for line in summary.splitlines())

    out = tmp_path / "junit.xml"
    proc = run_cli("check", "ex01", "--submission", str(SIGN_FLIPPED), "--format", "junit", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(out).getroot()
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "ex01_sigmoid" and suite.get("tests") == "6" and suite.get("failures") == "5"
    failures = suite.findall("testcase/failure")
    assert any("sign inside exp is flipped" in f.text for f in failures)
    assert {c.get("line") for c in suite.findall("testcase") if c.find("failure") is not None} <= {"6", "10"}


def _def_line(path, name: str) -> int:
    import ast

    return next(n.lineno for n in ast.parse(path.read_text()).body
                if isinstance(n, ast.FunctionDef) and n.name == name)


def test_annotations_sit_on_the_def_of_the_function_the_check_called(tmp_path):
    # dlogits not divided by N: the hint speaks of softmax(logits), but the check called
    # softmax_cross_entropy, and that is where the annotation belongs.
    mutant = ROOT / "exercises" / "ex05_softmax" / "mutants" / "dlogits_not_divided.py"
    student = tmp_path / "softmax.py"
    student.write_text(mutant.read_text())
    proc = run_cli("check", "ex05", "--submission", str(student), "--format", "github",
                   "--output", str(tmp_path / "summary.md"))
    assert proc.returncode == 0, proc.stderr
    commands = [c for c in proc.stdout.splitlines() if c.startswith("::error")]
    assert commands, proc.stdout
    assert all(re.match(r"::error file=[^,]*softmax\.py,line=\d+,title=", c) for c in commands), commands
    expected = _def_line(student, "softmax_cross_entropy")
    assert expected != _def_line(student, "softmax")
    dlogits = [c for c in commands if "test_cross_entropy_dlogits" in c]
    assert dlogits and all(f",line={expected}," in c for c in dlogits), dlogits


def test_each_exercise_time_is_its_own_and_the_run_time_is_the_wall_time():
    from grader.grading import grade
    from grader.report import format_text, to_gradescope

    exercises = [resolve(n, ROOT) for n in ("ex01", "ex05", "ex02")]
    submissions = {ex.name: ROOT / "solutions" / ex.name / ex.file for ex in exercises}
    started = time.perf_counter()
    results = grade(exercises, submissions)
    wall = time.perf_counter() - started
    own = [r.seconds for r in results]
    checks = sum(t.seconds for r in results for t in r.tests)
    # Each exercise's time covers its own checks (and their set-up), not the rest of the run:
    # together they fit in the wall time, and none is less than its checks' calls.
    eps = 0.005  # the figures are rounded to the millisecond
    assert checks <= sum(own) + eps and sum(own) <= wall + eps, (own, checks, wall)
    assert all(r.seconds + eps >= sum(t.seconds for t in r.tests) for r in results)
    assert all(sum(own) <= r.run_seconds + eps and r.run_seconds <= wall + eps for r in results), \
        (own, [r.run_seconds for r in results], wall)
    data = to_gradescope(results)
    assert data["execution_time"] == round(results[0].run_seconds)  # the run's wall time, not a sum
    footer = format_text(results[1]).splitlines()[-3]
    assert f"graded in {results[1].seconds:.1f} s; {results[1].run_seconds:.1f} s in all" in footer


# -- every output against its schema, with a public and a secret seed ------------------------------

SCHEMAS = ROOT / "tests" / "schemas"
STRONG_SECRET = "5f0c2b8e9d1a4c3b7e6f8a9b0c1d2e3f"


def _validator(name: str):
    """A validator for ``tests/schemas/<name>``, with the other schemas there to refer to."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values() if "$id" in s)
    return Draft202012Validator(schemas[name], registry=registry)


@pytest.mark.parametrize("secret", [False, True], ids=["public seed", "secret seed"])
def test_every_output_validates_against_its_schema(tmp_path, secret):
    import shutil

    env = {"GRADER_SEED": STRONG_SECRET} if secret else {}
    seed_shown = (lambda s: bool(re.fullmatch(r"secret:\S+", s))) if secret else (lambda s: s == 1234)
    report, gradescope = _validator("report.schema.json"), _validator("gradescope-results.schema.json")
    proc = run_cli("check", "ex01", "--submission", str(SIGN_FLIPPED), "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    report.validate(data)
    assert seed_shown(data["seed"]), data["seed"]
    out = tmp_path / "results.json"
    proc = run_cli("check", "ex01", "--submission", str(SIGN_FLIPPED), "--format", "gradescope",
                   "--output", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    gradescope.validate(json.loads(out.read_text()))
    # grader ci's outputs: report.json (each result a check report), results.json, junit.xml.
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(ROOT / "exercises" / "ex01_sigmoid", base / "exercises" / "ex01_sigmoid",
                    ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    (head / "exercises" / "ex01_sigmoid").mkdir(parents=True)
    shutil.copy(SIGN_FLIPPED, head / "exercises" / "ex01_sigmoid" / "sigmoid.py")
    results = tmp_path / "ci"
    proc = run_cli("--root", str(base), "ci", "--head", str(head), "--exercises", "all", "--out", str(results),
                   env=dict(env, GITHUB_STEP_SUMMARY="", GITHUB_OUTPUT=""))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ci = json.loads((results / "report.json").read_text())
    _validator("ci-report.schema.json").validate(ci)
    assert [seed_shown(r["seed"]) for r in ci["results"]] == [True]
    gradescope.validate(json.loads((results / "results.json").read_text()))
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "ex01_sigmoid" and int(suite.get("tests")) == len(ci["results"][0]["tests"])
    if secret:
        for name in ("report.json", "results.json", "junit.xml", "summary.md"):
            assert STRONG_SECRET not in (results / name).read_text(), name


def test_the_schemas_refuse_what_they_must():
    # The check above means something only if the schemas reject a null or made-up seed.
    report = _validator("report.schema.json")
    good = {"exercise": "e", "score": 1, "max_score": 2, "devices": ["cpu"], "tests": [],
            "versions": {"python": "3", "numpy": "2", "torch": "2", "grader": "0"}}
    for seed in (1234, "secret:3fa9c1d27e", "secret:3fa9c1d27e/run:ab12cd34ef567890"):
        report.validate(dict(good, seed=seed))
    for seed in (None, "secret:", "1234", 12.5, "secret:3fa9c1d27e/run:ab12"):
        assert not report.is_valid(dict(good, seed=seed)), seed
    ci = _validator("ci-report.schema.json")
    outer = {"score": 1, "max_score": 2, "percent": 50, "pass_mark": 0, "passed": True, "exercises": ["e"],
             "graded_files": {"e": "x.py"}, "notes": []}
    assert ci.is_valid(dict(outer, results=[dict(good, seed=7)]))
    assert not ci.is_valid(dict(outer, results=[dict(good, seed=None)])), "results are checked as reports"


def test_annotations_stay_within_githubs_limits():
    """GitHub drops annotations past 10 of a level per step (50 per job) without a word:
    at most 10 errors and 10 warnings, errors first, and one notice with the count left out."""
    def many(n_errors: int, n_faults: int) -> ExerciseResult:
        r = _result()
        r.tests = [CheckResult(f"test_{i}", 0.0, 1.0, "failed", output=f"wrong {i}", kind="mismatch",
                               file="sigmoid.py", line=i + 1) for i in range(n_errors)]
        r.tests += [CheckResult(f"test_fault_{i}", 0.0, 1.0, "error", output=f"fault {i}", file="sigmoid.py",
                                line=100 + i) for i in range(n_faults)]
        return r

    lines = github_annotations([many(15, 12)]).splitlines()
    levels = [line.split(" ", 1)[0] for line in lines]
    assert levels == ["::error"] * 10 + ["::warning"] * 10 + ["::notice"]
    assert [re.search(r"line=(\d+)", l).group(1) for l in lines[:10]] == [str(i + 1) for i in range(10)]
    assert lines[-1].endswith("::7 more annotations were left out (GitHub shows at most 10 errors and 10 "
                              "warnings per step): the job summary lists every failed check")
    # Within the limits: every one, and no notice.
    lines = github_annotations([many(10, 3)]).splitlines()
    assert len(lines) == 13 and not any(l.startswith("::notice") for l in lines)
    # A smaller job budget: errors keep their place before warnings, the notice fits in it.
    lines = github_annotations([many(8, 8)], per_job=12).splitlines()
    assert [l.split(" ", 1)[0] for l in lines] == ["::error"] * 8 + ["::warning"] * 3 + ["::notice"]
    assert "5 more annotations" in lines[-1]
    # Room is kept for the notices the step prints besides (GitHub Classroom's two points lines).
    lines = github_annotations([many(8, 8)], per_job=12, notices=2).splitlines()
    assert [l.split(" ", 1)[0] for l in lines] == ["::error"] * 8 + ["::warning"] + ["::notice"]
    assert "7 more annotations" in lines[-1] and len(lines) + 2 <= 12
