"""Feedback that names real mistakes (issue 25): crash hints from the call's arguments, hint
lines that count one mistake once, the contract's int/pair checks kept apart, and code in
other courses' styles (tests/variants/) judged right and named right."""

import re
from pathlib import Path

import numpy as np
import pytest

from grader import compare, crash_hints
from grader.batch.gradebook import zero_cause
from grader.exercises import all_exercises
from grader.grading import grade

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = {ex.name: ex for ex in all_exercises(ROOT)}
VARIANTS = ROOT / "tests" / "variants"
MISTAKE = re.compile(r"^# mistake: (.+)$", re.MULTILINE)


def _summary(result) -> str:
    return "\n".join(f"{t.name}: {t.status} {t.score}/{t.max_score} [{t.kind}]\n{t.output}" for t in result.tests)


# -- crash hints: the rule fits the message AND the arguments, or says nothing ----------

def _hints(cause, **named):
    return [hint for _, hint in crash_hints.hints(named, cause)]


def test_a_pair_used_as_an_int_is_named_with_its_argument():
    found = crash_hints.hints({"x": np.zeros(2), "stride": (2, 1), "padding": 0},
                              "`conv2d_forward` raised TypeError: unsupported operand type(s) for +: 'int' and 'tuple'")
    assert len(found) == 1
    said, hint = found[0]
    assert said == "stride=(2, 1) is a (height, width) pair; your code treats it as one int."
    assert hint.startswith("a (height, width) pair was used as one int")
    # The hint's words do not depend on the arguments: one mistake, one row in a summary.
    other = crash_hints.hints({"stride": 1, "padding": (1, 2)}, "TypeError: 'tuple' object cannot be interpreted")
    assert other[0][1] == hint and other[0][0] != said


@pytest.mark.parametrize("cause,named,needle", [
    ("TypeError: cannot unpack non-iterable int object", {"stride": 2}, "an int was used as a (height, width) pair"),
    ("TypeError: unsupported operand type(s) for //: 'int' and 'NoneType'", {"kernel_size": 2, "stride": None},
     "stride=None means stride = kernel_size"),
    ("TypeError: 'float' object cannot be interpreted as an integer", {"stride": 2}, "/ always gives a float"),
    ("AttributeError: module 'numpy' has no attribute 'int'", {}, "an alias removed from NumPy"),
    ("UnboundLocalError: cannot access local variable 'ph' where it is not associated with a value",
     {"padding": 1}, "was never set for this padding"),
    ("IndexError: invalid index to scalar variable.", {}, "a 0-d array (or a NumPy scalar) is one number"),
    ("NameError: name 'xrange' is not defined", {"padding": 1}, "Python 2 code"),
    ("TypeError: only 0-dimensional arrays can be converted to Python scalars", {}, "NumPy 2 converts only 0-d"),
])
def test_typical_crashes_get_their_hint(cause, named, needle):
    assert any(needle in h for h in _hints(cause, **named)), _hints(cause, **named)


@pytest.mark.parametrize("cause,named", [
    # The message fits, the arguments do not (no pair was passed; no int; no padding argument).
    ("TypeError: can only concatenate tuple (not \"int\") to tuple", {"stride": 2, "padding": 1}),
    ("TypeError: cannot unpack non-iterable int object", {"stride": (2, 2), "padding": (1, 1)}),
    ("UnboundLocalError: cannot access local variable 'total'", {"z": np.zeros(3)}),
    ("NameError: name 'pad_h' is not defined", {"padding": 1}),  # a typo, not an unset padding
    ("AttributeError: module 'numpy' has no attribute 'frobnicate'", {}),
    ("ValueError: operands could not be broadcast together", {"stride": 1}),
])
def test_no_crash_hint_names_a_mistake_the_arguments_rule_out(cause, named):
    assert _hints(cause, **named) == []


def test_the_call_line_shows_shapes_and_values():
    named = crash_hints.bind(("x", "w", "b", "stride", "padding"), (np.zeros((2, 3)), np.zeros(4), None, (2, 1)),
                             {"padding": 0})
    assert crash_hints.call_line("f", named) == "f(x of shape (2, 3), w of shape (4,), b=None, stride=(2, 1), padding=0)"


def test_signatures_come_from_the_stub():
    sigs = crash_hints.signatures(EXERCISES["ex06_conv"].student_file)
    assert sigs["conv2d_forward"] == ("x", "w", "b", "stride", "padding")


# -- hint lines: the first line names the mistake, what varies goes below ---------------

def _hint_line(actual, expected, **kwargs):
    with pytest.raises(compare.Mismatch) as info:
        compare.check_close(actual, expected, "f(x)", **kwargs)
    return [line for line in str(info.value).splitlines() if line.startswith("Hint:")], str(info.value)


def test_a_factor_hint_is_the_same_line_whatever_the_factor():
    e = np.array([1.0, -2.0, 0.5])
    first, text4 = _hint_line(4 * e, e, factors={4.0: "the mean's N is missing"})
    second, text6 = _hint_line(6 * e, e, factors={6.0: "the mean's N is missing"})
    assert first == second == ["Hint: the mean's N is missing"]
    assert "4 times the expected one" in text4 and "6 times the expected one" in text6
    generic4, _ = _hint_line(4 * e, e)
    generic7, _ = _hint_line(7 * e, e)
    assert generic4 == generic7


def test_a_mistake_with_details_keeps_them_below_its_hint():
    e = np.array([1.0, 2.0])
    lines, text = _hint_line(e + 1, e, mistakes={"softmax along another axis (here along axis 0)": e + 1})
    assert lines == ["Hint: softmax along another axis"] and "(here along axis 0)" in text


def test_a_wrong_shape_is_its_own_kind_and_the_gradebook_says_so():
    with pytest.raises(compare.ShapeMismatch) as info:
        compare.check_close(np.zeros((5, 1)), np.zeros(5), "f(x)")
    assert info.value.kind == "shape"
    tests = [{"status": "failed", "kind": "shape"}] * 5 + [{"status": "failed", "kind": "mismatch"}]
    assert zero_cause({"tests": tests}) == "wrong shapes in 5 of 6 checks"


def test_a_conv_output_size_gets_no_reduction_hint():
    _, text = _hint_line(np.zeros((2, 4, 3, 1)), np.zeros((2, 4, 3, 4)))
    assert "axis 3 has 1 entry where 4 are expected" in text


# -- grading: int/pair checks apart, a crash said once, a property check names its requirement --

def _graded(tmp_path, ex_name, source):
    ex = EXERCISES[ex_name]
    path = tmp_path / ex.file
    path.write_text(source)
    (result,) = grade([ex], {ex.name: path})
    return result


def _variant(ex_name, kind, name):
    return (VARIANTS / ex_name / kind / name).read_text()


@pytest.mark.parametrize("ex_name,pair_checks", [
    ("ex06_conv", {"test_forward_pairs", "test_backward_pairs"}),
    ("ex07_pool", {"test_pairs"}),
])
def test_code_for_ints_only_loses_the_pair_checks_and_nothing_else(tmp_path, ex_name, pair_checks):
    result = _graded(tmp_path, ex_name, _variant(ex_name, "wrong", "cs231n_int_only.py"))
    lost = {t.name for t in result.tests if t.status != "passed"}
    assert lost == pair_checks, _summary(result)
    for t in result.tests:
        if t.name in pair_checks:
            assert "Call: " in t.output and "(height, width) pair" in t.output, t.output
            assert any(h.startswith("Hint: a (height, width) pair was used as one int") for h in t.hints)


def test_a_property_check_that_crashes_like_its_requirements_names_them(tmp_path):
    result = _graded(tmp_path, "ex06_conv", _variant("ex06_conv", "wrong", "holberton_pairs_only.py"))
    (check,) = [t for t in result.tests if t.name == "test_inputs_unchanged"]
    assert check.kind == "requires" and check.score == 0
    assert "awarded once test_forward_basic and test_backward_simple pass, and they fail too" in check.output, \
        check.output
    assert check.output.startswith("`conv2d_forward` raised TypeError")
    assert {t.name for t in result.tests if t.status == "passed"} == {"test_forward_pairs", "test_backward_pairs"}


def test_a_syntax_error_is_told_once(tmp_path):
    result = _graded(tmp_path, "ex07_pool", "import numpy as np\n\ndef max_pool2d_forward(x, kernel_size, stride=None)\n")
    first, *rest = result.tests
    assert "SyntaxError" in first.output and "line 3" in first.output
    assert rest and all(t.output.startswith("not run: pool.py could not be imported") for t in rest), _summary(result)
    assert all("SyntaxError" not in t.output for t in rest)


def test_the_stride_is_not_blamed_when_other_arguments_explain_the_shape(tmp_path):
    # Output sizes as 'same' padding gives them: for padding 1 and a 3-row kernel that is also the
    # size that ignoring the stride gives; the grader's extra calls tell the two apart.
    ref = (ROOT / "solutions" / "ex06_conv" / "conv.py").read_text()
    same = ref.replace("    H_out = (H + 2 * ph - KH) // sh + 1\n    W_out = (W + 2 * pw - KW) // sw + 1\n",
                       "    H_out = -(-H // sh)\n    W_out = -(-W // sw)\n    ph, pw = ph + KH, pw + KW\n"
                       "    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))\n")
    assert same != ref
    result = _graded(tmp_path, "ex06_conv", same)
    feedback = "\n".join(t.output for t in result.tests if t.status != "passed")
    assert "worked out as for padding='same'" in feedback, _summary(result)
    assert "the stride is ignored" not in feedback


# -- code in other courses' styles ------------------------------------------------------

def _variant_files(kind):
    for folder in sorted(VARIANTS.glob(f"*/{kind}")):
        for path in sorted(folder.glob("*.py")):
            yield pytest.param(folder.parent.name, path, id=f"{folder.parent.name}-{path.stem}")


@pytest.mark.parametrize("ex_name,path", list(_variant_files("good")))
def test_correct_code_in_any_style_scores_full_marks_without_a_hint(ex_name, path):
    (result,) = grade([EXERCISES[ex_name]], {ex_name: path}, use_cache=True)
    assert result.score == pytest.approx(result.max_score), _summary(result)
    assert not [h for t in result.tests for h in t.hints], _summary(result)


@pytest.mark.parametrize("ex_name,path", list(_variant_files("wrong")))
def test_real_mistakes_lose_points_and_are_each_named(ex_name, path):
    mistakes = MISTAKE.findall(path.read_text())
    assert mistakes, f"{path} names no mistake (# mistake: ...)"
    (result,) = grade([EXERCISES[ex_name]], {ex_name: path}, use_cache=True)
    assert result.score < result.max_score and not result.grader_faults, _summary(result)
    feedback = "\n".join(t.output for t in result.tests if t.status != "passed").lower()
    assert [m for m in mistakes if m.strip().lower() not in feedback] == [], _summary(result)
