"""`grader new`: a new exercise folder laid out like the others, from templates.

``scaffold(root, "ex11_dropout", "Inverted dropout")`` writes

    exercises/ex11_dropout/exercise.yaml     metadata: one check per function
    exercises/ex11_dropout/README.md         the skeleton of the student's README
    exercises/ex11_dropout/dropout.py        the stub (# TODO + NotImplementedError)
    exercises/ex11_dropout/test_dropout.py   the grader: one example check per function
    exercises/ex11_dropout/mutants/sign_flipped.py   an example mutant (# expect-hint:)
    solutions/ex11_dropout/dropout.py        the reference

from ``grader/templates/new/``, and adds the exercise's row to the table of
exercises in the course's README.md. The placeholders are consistent with each
other (the reference and the oracle both return twice x, the mutant flips the
sign), so ``grader validate ex11 --min-mutants 1`` passes on the fresh
scaffold: the wiring works before any real content is written. Every place
to fill in is marked ``TODO(grader new)``, which ``grader validate`` reports.

``random=True`` scaffolds random operations (dropout): each function takes the
random draw as an argument (``f(x, keep, mask)``), and the grader draws it
from the grading seed and gives the same draw to the student and the oracle
(docs/instructors.md, "Random operations").
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from grader.exercises import METADATA, ExerciseError, all_exercises

TEMPLATES = Path(__file__).with_name("templates") / "new"
PLACEHOLDER = "TODO(grader new)"
NAME_RE = re.compile(r"^ex(\d{2,})_([a-z][a-z0-9_]*)$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Scaffold:
    exercise: Path
    reference: Path
    files: list[Path]
    readme: Path | None = None  # the README whose table got the exercise's row


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text())


def _fill(template: str, **values) -> str:
    return _template(template).substitute(**values)


def scaffold(root: Path, name: str, title: str, file: str | None = None,
             functions: list[str] | None = None, random: bool = False) -> Scaffold:
    """Write a new exercise and its reference; refuse to overwrite anything."""
    match = NAME_RE.match(name)
    if not match:
        raise ExerciseError(f"an exercise name looks like ex11_dropout (exNN_ then lower-case letters, "
                            f"digits, underscores), got {name!r}")
    number, short = int(match.group(1)), match.group(2)
    title = " ".join(title.split())
    if not title:
        raise ExerciseError("the title must not be empty")
    file = file or f"{short}.py"
    if not file.endswith(".py") or "/" in file or "\\" in file or not IDENT_RE.match(file[:-3]) \
            or keyword.iskeyword(file[:-3]):
        raise ExerciseError(f"--file must be a module file name such as {short}.py, got {file!r}")
    functions = functions or [Path(file).stem]
    for func in functions:
        if not IDENT_RE.match(func) or keyword.iskeyword(func) or func.startswith("_"):
            raise ExerciseError(f"not a public Python function name: {func!r}")
    if len(set(functions)) != len(functions):
        raise ExerciseError("--functions lists a name twice")

    exercises_dir = root / "exercises"
    folder = exercises_dir / name
    reference = root / "solutions" / name / file
    if folder.exists():
        raise ExerciseError(f"{folder} already exists: not overwriting it")
    if reference.exists():
        raise ExerciseError(f"{reference} already exists: not overwriting it")
    if exercises_dir.is_dir():
        for ex in all_exercises(root):
            if ex.number == number:
                raise ExerciseError(f"exercise number {number:02d} is taken by {ex.name}")
    grader_file = f"test_{short}.py"
    if Path(file).stem == Path(grader_file).stem or file.startswith("test_"):
        raise ExerciseError(f"the student's file must not be named like a grader (test_*.py): {file}")

    short_cmd = f"ex{number:02d}"
    checks = "\n".join(
        f"  test_{func}:\n    points: 1\n    description: \"{PLACEHOLDER}: what test_{func} checks\""
        for func in functions)
    table = "\n".join(f"| `{func}`: {PLACEHOLDER} | 1 |" for func in functions)
    signature = "(x, keep, mask)" if random else "(x)"
    returns = "\n".join(f"- `{func}{signature}` → {PLACEHOLDER}: what it returns, with shapes." for func in functions)
    names = ", ".join(f"`{f}`" for f in functions)
    common = dict(name=name, title=title, file=file, short=short_cmd, number=number)

    kind = "_random" if random else ""
    yaml_title = title if _yaml_safe(title) else json.dumps(title)
    contents = {
        folder / METADATA: _fill("exercise.yaml.tmpl", functions=", ".join(functions), checks=checks,
                                 **{**common, "title": yaml_title}),
        folder / "README.md": _fill("README.md.tmpl", short_number=short_cmd, function_list=names,
                                    returns=returns, table=table, **common),
        folder / file: _fill("stub_header.py.tmpl", **common)
        + "".join(_fill(f"stub_function{kind}.py.tmpl", func=f) for f in functions),
        folder / grader_file: _fill("test_header.py.tmpl", **common)
        + "".join(_fill(f"test_function{kind}.py.tmpl", func=f) for f in functions),
        folder / "mutants" / "sign_flipped.py": _fill("mutant_header.py.tmpl", func=functions[0])
        + "".join(_fill(f"mutant_wrong_function{kind}.py.tmpl" if i == 0 else f"mutant_function{kind}.py.tmpl", func=f)
                  for i, f in enumerate(functions)),
        reference: _fill("reference_header.py.tmpl", **common)
        + "".join(_fill(f"reference_function{kind}.py.tmpl", func=f) for f in functions),
    }
    for path, text in contents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x") as f:  # never overwrite
            f.write(text)
    readme = add_readme_row(root / "README.md", number, name, file, title)
    return Scaffold(folder, reference, list(contents), readme)


_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`ex\d+_\w+`\s*\|")


def add_readme_row(readme: Path, number: int, name: str, file: str, title: str) -> Path | None:
    """Add ``| number | `name` | `file` | title |`` to the README's table of exercises
    (the table whose rows start ``| N | `exNN_...` |``), in number order. Returns the
    README, or None when it has no such table (nothing is written then)."""
    try:
        lines = readme.read_text().splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return None
    rows = [i for i, line in enumerate(lines) if _ROW.match(line)]
    if not rows:
        return None
    cell = title.replace("|", "\\|")
    row = f"| {number} | `{name}` | `{file}` | {cell} |\n"
    before = [i for i in rows if int(_ROW.match(lines[i]).group(1)) < number]
    at = (before[-1] if before else rows[0] - 1) + 1
    if not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, row)
    readme.write_text("".join(lines))
    return readme


def _yaml_safe(text: str) -> bool:
    """Whether ``text`` reads back as itself when written as a bare YAML value."""
    try:
        return yaml.safe_load(f"t: {text}") == {"t": text}
    except yaml.YAMLError:
        return False
