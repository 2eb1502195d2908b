"""The security boundary: code that runs in, or starts and watches, a student's kernel.

Everything here is about untrusted code. ``sandbox`` puts a kernel in its limits (resources, a
private home, Landlock rules from ``landlock``); ``zygote`` is the pre-warmed process kernels are
forked from, and ``provisioner`` the worker's side of it; ``guard`` runs inside the kernel and
notices tampering with the tests' tools; ``watchdog`` watches a submission's processes from
outside. Nothing in this package imports the rest of the grader: the kernel side must not carry
grading data (templates, hidden tests, gradebooks) into a student's process.
"""
