"""A generated class for ex03_logreg: independently written submissions, and disguised copies.

Each independent submission is assembled from choices a student really makes:
the algorithm (a sigmoid by exp, tanh or logaddexp; the cost by logs or
logaddexp; a helper for the gradients or everything inside the loop; a for
or a while loop; predicting by thresholding the sigmoid or the logit), the
NumPy spelling (``@``, ``np.dot``, ``np.matmul``, ``einsum``; ``np.sum(x)``
or ``x.sum()``; ``/ m`` or ``np.mean``), the structure (intermediate
variables or one expression, the dict built at once or key by key), the
order of the functions, the names and the comments. A disguised copy takes
one of them, renames every variable and helper, reorders the functions and
rewrites the comments.
"""

from __future__ import annotations

import ast
import io
import random
import re
import tokenize

from grader.similarity import _KEPT_NAMES

# Names the course fixes: the graded functions and their parameters.
PROTECTED = {"np", "numpy", "optimize", "predict", "model", "w", "b", "X", "Y", "num_iterations",
             "learning_rate", "print_cost", "X_train", "Y_train", "X_test", "Y_test"}

HEADER = '"""Exercise 3: vectorized logistic regression."""\n\nimport numpy as np\n'

_WORDS = ["val", "tmp", "res", "out", "acc", "cur", "loss", "grad", "act", "lin", "prob", "pred", "delta",
          "step", "hist", "count", "it", "idx", "n", "size", "err", "diff", "z", "a", "s", "total", "data",
          "vec", "mat", "score", "logit", "weights", "bias", "cache", "store", "hold", "record", "trace"]


def _names(rng: random.Random, *roles: str) -> dict:
    """A fresh name for each role: the student's own naming habits."""
    style = rng.choice(["plain", "suffix", "prefix", "upper"])
    pool = rng.sample(_WORDS, len(roles))
    out = {}
    for role, word in zip(roles, pool):
        name = {"plain": word, "suffix": f"{word}_{rng.randint(1, 9)}", "prefix": f"my_{word}",
                "upper": word.capitalize() + rng.choice(["", "V", "Arr"])}[style]
        out[role] = name if name not in PROTECTED else name + "_"
    return out


def _matmul(rng, a: str, b: str) -> str:
    return rng.choice([f"{a} @ {b}", f"np.dot({a}, {b})", f"np.matmul({a}, {b})", f"{a}.dot({b})"])


def _sum(rng, x: str) -> str:
    return rng.choice([f"np.sum({x})", f"{x}.sum()", f"float(np.sum({x}))", f"sum({x}.ravel())"])


def _sigmoid_expr(rng, z: str) -> str:
    return rng.choice([f"1.0 / (1.0 + np.exp(-({z})))", f"0.5 * (1.0 + np.tanh(0.5 * ({z})))",
                       f"np.exp(-np.logaddexp(0.0, -({z})))", f"1 / (1 + np.exp(-1.0 * ({z})))"])


def _sigmoid_helper(rng, n) -> str:
    body = rng.choice([
        f"    return {_sigmoid_expr(rng, n['z'])}\n",
        f"    {n['e']} = np.exp(-np.abs({n['z']}))\n"
        f"    return np.where({n['z']} >= 0, 1.0 / (1.0 + {n['e']}), {n['e']} / (1.0 + {n['e']}))\n",
        f"    {n['e']} = {_sigmoid_expr(rng, n['z'])}\n    return {n['e']}\n",
    ])
    return f"def {n['sig']}({n['z']}):\n" + body


def _cost(rng, n, z: str, a: str) -> str:
    m = n["m"]
    return rng.choice([
        f"-np.sum(Y * np.log({a}) + (1 - Y) * np.log(1 - {a})) / {m}",
        f"float(np.mean(Y * np.logaddexp(0.0, -{z}) + (1 - Y) * np.logaddexp(0.0, {z})))",
        f"-(1.0 / {m}) * np.sum(Y * np.log({a} + 1e-300) + (1.0 - Y) * np.log(1.0 - {a} + 1e-300))",
        f"np.mean(np.logaddexp(0, {z}) - Y * {z})",
    ])


def _gradient_lines(rng, n, indent: str, inline_sig: bool) -> str:
    """The lines computing z, a, cost, dw and db (inside a helper or the loop)."""
    m, z, a, dz = n["m"], n["zz"], n["aa"], n["dz"]
    lines = []
    if rng.random() < 0.5:
        lines.append(f"{m} = X.shape[1]")
    else:
        lines.append(f"{m} = {rng.choice(['Y.shape[1]', 'X.shape[-1]', 'len(Y[0])', 'Y.size'])}")
    lines.append(f"{z} = {_matmul(rng, 'w.T', 'X')} + b")
    lines.append(f"{a} = " + (_sigmoid_expr(rng, z) if inline_sig else f"{n['sig']}({z})"))
    cost = _cost(rng, n, z, a)
    order = rng.random() < 0.5
    if rng.random() < 0.5:
        lines.append(f"{dz} = {a} - Y")
        grads = [f"{n['dw']} = {_matmul(rng, 'X', dz + '.T')} / {m}",
                 f"{n['db']} = {_sum(rng, dz)} / {m}"]
    else:
        grads = [rng.choice([f"{n['dw']} = (1.0 / {m}) * {_matmul(rng, 'X', f'({a} - Y).T')}",
                             f"{n['dw']} = np.einsum('ij,kj->ik', X, {a} - Y) / {m}",
                             f"{n['dw']} = np.mean(X * ({a} - Y), axis=1, keepdims=True)"]),
                 rng.choice([f"{n['db']} = np.mean({a} - Y)", f"{n['db']} = ({a} - Y).mean()",
                             f"{n['db']} = (1.0 / {m}) * {_sum(rng, f'({a} - Y)')}"])]
    lines += ([f"{n['cost']} = {cost}"] + grads) if order else (grads + [f"{n['cost']} = {cost}"])
    return "".join(f"{indent}{line}\n" for line in lines)


def _record(rng, n, i: str, indent: str) -> str:
    cond = rng.choice([f"{i} % 100 == 0", f"not {i} % 100", f"{i} % 100 < 1"])
    printed = rng.choice([f'print(f"Cost after iteration {{{i}}}: {{{n["cost"]}:f}}")',
                          f'print("Cost after iteration %i: %f" % ({i}, {n["cost"]}))',
                          f'print("cost", {i}, {n["cost"]})'])
    return (f"{indent}if {cond}:\n{indent}    {n['costs']}.append({rng.choice([n['cost'], 'float(' + n['cost'] + ')'])})\n"
            f"{indent}    if print_cost:\n{indent}        {printed}\n")


def _update(rng, n, indent: str) -> str:
    lr = "learning_rate"
    return rng.choice([
        f"{indent}w = w - {lr} * {n['dw']}\n{indent}b = b - {lr} * {n['db']}\n",
        f"{indent}b = b - {lr} * {n['db']}\n{indent}w = w - {n['dw']} * {lr}\n",
        f"{indent}w, b = w - {lr} * {n['dw']}, b - {lr} * {n['db']}\n",
    ])


def _optimize(rng, n, helper: bool, inline_sig: bool) -> str:
    head = "def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):\n"
    body = f"    {n['costs']} = []\n"
    if rng.random() < 0.5:
        body += f"    w = {rng.choice(['w.copy()', 'np.array(w, dtype=float)', 'w + 0.0'])}\n"
    if helper:
        call = f"{n['grads']}, {n['cost']} = {n['prop']}(w, b, X, Y)\n"
        unpack = rng.random() < 0.5
        step_names = dict(n)
        if unpack:
            call += f"        {n['dw']}, {n['db']} = {n['grads']}['dw'], {n['grads']}['db']\n"
        else:
            step_names["dw"], step_names["db"] = f"{n['grads']}['dw']", f"{n['grads']}['db']"
        inner = "        " + call + _record(rng, n, n["i"], "        ") + _update(rng, step_names, "        ")
        result_grads = n["grads"]
    else:
        inner = _gradient_lines(rng, n, "        ", inline_sig) + _record(rng, n, n["i"], "        ") \
            + _update(rng, n, "        ")
        result_grads = f"{{'dw': {n['dw']}, 'db': {n['db']}}}"
    if rng.random() < 0.6:
        body += f"    for {n['i']} in range(num_iterations):\n" + inner
    else:
        body += f"    {n['i']} = 0\n    while {n['i']} < num_iterations:\n" + inner + f"        {n['i']} += 1\n"
    params = rng.choice(["{'w': w, 'b': float(b)}", "dict(w=w, b=float(b))"])
    body += f"    return {params}, {result_grads}, {n['costs']}\n"
    return head + body


def _propagate_helper(rng, n, inline_sig: bool) -> str:
    body = _gradient_lines(rng, n, "    ", inline_sig)
    ret = rng.choice([f"    return {{'dw': {n['dw']}, 'db': float({n['db']})}}, {n['cost']}\n",
                      f"    {n['grads']} = {{}}\n    {n['grads']}['dw'] = {n['dw']}\n    {n['grads']}['db'] = {n['db']}\n"
                      f"    return {n['grads']}, {n['cost']}\n"])
    return f"def {n['prop']}(w, b, X, Y):\n" + body + ret


def _predict(rng, n, inline_sig: bool) -> str:
    z = _matmul(rng, "w.T", "X") + " + b"
    act = _sigmoid_expr(rng, z) if inline_sig else f"{n['sig']}({z})"
    return "def predict(w, b, X):\n" + rng.choice([
        f"    {n['aa']} = {act}\n    return ({n['aa']} > 0.5).astype(np.float64)\n",
        f"    return np.where({act} > 0.5, 1.0, 0.0)\n",
        f"    {n['zz']} = {z}\n    return ({n['zz']} > 0).astype(float)\n",
        f"    {n['aa']} = {act}\n    {n['pred']} = np.zeros_like({n['aa']})\n"
        f"    {n['pred']}[{n['aa']} > 0.5] = 1.0\n    return {n['pred']}\n",
        f"    return 1.0 * ({act} > 0.5)\n",
    ])


def _model(rng, n) -> str:
    head = "def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):\n"
    init = rng.choice(["np.zeros((X_train.shape[0], 1))", "np.zeros([X_train.shape[0], 1], dtype=float)",
                       "np.zeros(X_train.shape[0]).reshape(-1, 1)"])
    body = f"    {n['w0']} = {init}\n    {n['b0']} = {rng.choice(['0.0', '0', 'float(0)'])}\n"
    body += (f"    {n['p']}, {n['grads']}, {n['costs']} = optimize({n['w0']}, {n['b0']}, X_train, Y_train, "
             f"num_iterations, learning_rate, print_cost)\n")
    keys = [("costs", n["costs"]), ("Y_prediction_test", f"predict({n['p']}['w'], {n['p']}['b'], X_test)"),
            ("Y_prediction_train", f"predict({n['p']}['w'], {n['p']}['b'], X_train)"),
            ("w", f"{n['p']}['w']"), ("b", f"{n['p']}['b']"), ("learning_rate", "learning_rate"),
            ("num_iterations", "num_iterations")]
    rng.shuffle(keys)
    style = rng.choice(["literal", "stepwise", "call"])
    if style == "literal":
        body += "    return {\n" + "".join(f"        '{k}': {v},\n" for k, v in keys) + "    }\n"
    elif style == "stepwise":
        body += f"    {n['d']} = {{}}\n" + "".join(f"    {n['d']}['{k}'] = {v}\n" for k, v in keys) \
            + f"    return {n['d']}\n"
    else:
        body += f"    {n['d']} = dict(" + ", ".join(f"{k}={v}" for k, v in keys) + f")\n    return {n['d']}\n"
    return head + body


def _comment(rng) -> str:
    return rng.choice(["", "# gradient descent\n", "# my implementation\n", "# TODO tidy up\n", "# works!\n"])


def independent_submission(rng: random.Random) -> str:
    """One student's ex03_logreg, written on their own."""
    n = _names(rng, "z", "e", "sig", "prop", "m", "zz", "aa", "dz", "dw", "db", "cost", "costs", "grads", "i",
               "pred", "w0", "b0", "p", "d")
    helper = rng.random() < 0.6
    inline_sig = rng.random() < 0.4
    parts = []
    if not inline_sig:
        parts.append(_sigmoid_helper(rng, n))
    if helper:
        parts.append(_propagate_helper(rng, n, inline_sig))
    parts += [_optimize(rng, n, helper, inline_sig), _predict(rng, n, inline_sig), _model(rng, n)]
    if rng.random() < 0.5:
        rng.shuffle(parts)
    return HEADER + "".join("\n\n" + _comment(rng) + p for p in parts)


def _rename(source: str, mapping: dict) -> str:
    edits: dict[int, list] = {}
    previous = ""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and previous != "." and tok.string in mapping:
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], mapping[tok.string]))
        elif tok.type == tokenize.STRING and tok.start[0] == tok.end[0] and "{" in tok.string:
            # An f-string before Python 3.12 is one token: rename the names in its fields too.
            new = re.sub(r"\{(\w+)", lambda m: "{" + mapping.get(m.group(1), m.group(1)), tok.string)
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], new))
        previous = tok.string
    lines = source.splitlines(keepends=True)
    for row, changes in edits.items():
        line = lines[row - 1]
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new + line[end:]
        lines[row - 1] = line
    return "".join(lines)


def disguised_copy(source: str, rng: random.Random, keep=()) -> str:
    """``source`` with every variable and helper renamed, the functions reordered, the comments rewritten.

    ``keep``: more names the course fixes (another exercise's functions).
    """
    tree = ast.parse(source)
    mine = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | \
        {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)} | \
        {a.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for a in node.args.args}
    mine -= PROTECTED | _KEPT_NAMES | set(keep)
    fresh = [f"{w}{rng.choice(['_x', 'Q', '2', '_new'])}" for w in rng.sample(_WORDS, len(_WORDS))]
    mapping = dict(zip(sorted(mine), fresh))
    renamed = _rename(source, mapping)
    tree = ast.parse(renamed)
    lines = renamed.splitlines(keepends=True)
    functions = ["".join(lines[f.lineno - 1:f.end_lineno]) for f in tree.body if isinstance(f, ast.FunctionDef)]
    functions = ["".join(l for l in f.splitlines(keepends=True) if not l.lstrip().startswith("#")) for f in functions]
    rng.shuffle(functions)
    comments = ["# copied? no: mine\n", "# logistic regression\n", "", "# step by step\n"]
    return HEADER + "".join("\n\n" + rng.choice(comments) + f for f in functions)


def similarity_class(seed: int = 15, students: int = 40, copies: int = 3) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """``students`` submissions (name -> source), of which ``copies`` pairs are disguised copies."""
    rng = random.Random(seed)
    names = [f"student{i:02d}" for i in range(students)]
    sources = {name: independent_submission(rng) for name in names[: students - copies]}
    pairs = []
    for k in range(copies):
        original = names[3 * k + 1]
        copy = names[students - copies + k]
        sources[copy] = disguised_copy(sources[original], rng)
        pairs.append(tuple(sorted((original, copy))))
    return sources, pairs
