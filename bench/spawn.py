"""Run one command and report its wall time and resource usage (``os.wait4``) as JSON.

Why a wrapper: on Linux a child's ``ru_maxrss`` is at least the peak resident set of the
process it was forked from (``exec`` keeps the larger of the two), so a command started
straight from the harness, which has imported the pipeline to make the corpus, would
inherit the harness's size. Started from this wrapper (stdlib only, run with
``python -I -S``, about 9 MiB), a command's peak is its own for any Python program.

``python -I -S bench/spawn.py RESULT.json COMMAND [ARG...]``: exits with the command's
status (128 + signal number when killed) after writing seconds, ``maxrss_kib``,
``user``/``system`` CPU seconds and the status to RESULT.json.
"""

import json
import os
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        sys.stderr.write("usage: spawn.py RESULT.json COMMAND [ARG...]\n")
        return 2
    result, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by signal -code
        code = 128 - code
    report = {
        "seconds": seconds,
        "maxrss_kib": usage.ru_maxrss,
        "user": usage.ru_utime,
        "system": usage.ru_stime,
        "status": code,
    }
    with open(result, "w", encoding="utf-8") as f:
        json.dump(report, f)
    return code


if __name__ == "__main__":
    sys.exit(main())
