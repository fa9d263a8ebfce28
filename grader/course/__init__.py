"""The course around the grades: ``course.yaml`` (assignments, due dates, the late policy,
extensions, attempt budgets, the roster), trusted submission times and late penalties.

- :mod:`~grader.course.timefmt`: dates (always with a timezone) and durations;
- :mod:`~grader.course.model`: the course as data, and :func:`lateness`;
- :mod:`~grader.course.loader`: :func:`load_course` reads and checks ``course.yaml``;
- :mod:`~grader.course.roster`: the LMS's roster CSV;
- :mod:`~grader.course.times`: trusted submission times (Gradescope, GitHub, exports, a CSV);
- :mod:`~grader.course.apply`: late penalties applied to graded results, per channel.
"""

from grader.course.loader import COURSE_FILE, CourseError, load_course, public_course_yaml
from grader.course.model import LATE, ON_TIME, TOO_LATE, UNKNOWN, Course, Lateness, lateness

__all__ = ["COURSE_FILE", "LATE", "ON_TIME", "TOO_LATE", "UNKNOWN", "Course", "CourseError", "Lateness",
           "lateness", "load_course", "public_course_yaml"]
