# nbgrader settings shared by every command of `python -m autograde`.
# The tool adds the paths (a scratch course folder per run) itself, so this file only holds
# the choices an instructor may want to change.
c = get_config()  # noqa: F821  (nbgrader/traitlets inject get_config)

# What students see in place of the solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Seconds a single cell may run while grading (`grade --timeout` overrides it). Test cells are
# designed to take well under 5 s; experiments shrink under grading.
c.Execute.timeout = 60

# Keep runaway prints from bloating the gradebook and the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
