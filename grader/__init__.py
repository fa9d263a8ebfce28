"""grader: an autograder for NumPy deep-learning exercises, checked against PyTorch."""

__version__ = "0.1.0"


def check(exercise: str, *, seed: int | None = None, namespace: dict | None = None, root=None):
    """Grade, from inside a notebook, the functions for ``exercise`` it defines.

    ``grader.check("ex05")`` grades what the submitted notebook would be graded
    on: its graded cells (the last run of each, in this kernel) and the imports,
    helpers and constants they use, in the sandbox like a file; it says when a
    graded function was redefined in another cell, or when the notebook on disk
    is older than the cells the kernel ran. It returns a report that Jupyter
    shows as HTML. Outside IPython, the functions are taken from ``namespace``
    (default: the caller's globals). ``root``: the course folder
    (default: found from the current folder). Checks whose results are shown
    after the due date (``visibility: after_due_date``) are held until then,
    as ``grader check`` holds them. An unknown exercise or a course.yaml that
    cannot be read raises :class:`grader.notebook_check.CheckError`, which
    Jupyter shows as one line. The imports are done here, so that
    ``import grader`` stays light (no torch until grading needs it).
    """
    import sys

    from grader.exercises import ExerciseError
    from grader.notebook_check import CheckError, check_namespace

    if namespace is None:
        namespace = sys._getframe(1).f_globals
    try:
        return check_namespace(exercise, namespace, seed=seed, root=root)
    except ExerciseError as exc:  # the student's to fix (or their instructor's): the message, not our frames
        raise CheckError(str(exc)) from None
