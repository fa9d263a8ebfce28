"""The subcommands of `grader`, one module each.

A module here provides ``add_parser(subparsers)`` and
``run(args, root, parser) -> int`` (the exit status), and is listed in
``COMMANDS`` below, in the order ``grader --help`` shows them.
"""

COMMANDS = ["check", "list", "batch", "report", "export", "diff", "ci", "notebook", "new", "validate", "release",
            "bundle"]
