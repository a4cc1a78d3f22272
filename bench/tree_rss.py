#!/usr/bin/env python3
"""Run a command and report the peak of the summed resident memory of its whole process tree.

    python3 bench/tree_rss.py [--timeout SECONDS] OUT_FILE CMD [ARGS...]

/usr/bin/time reports the largest single process; a tool that forks workers (focus-converter's
multiprocessing writers) holds data in several processes at once. This reads the tree's memory
every 0.1 s (and looks for new processes in it every 0.5 s), and writes "tree_peak_mb=N" and
"wall_s=S" (the command's own wall time, without this script's start-up) to OUT_FILE. The
command runs in its own session; when it ends (or after --timeout, exit code 124), whatever is
left of that session is killed, since a converter that fails in its main process can leave
worker processes waiting forever. Linux only, standard library only.
Exits with the command's code.
"""
import os
import signal
import subprocess
import sys
import threading
import time


def tree_pids(root):
    """The pids of `root` and its descendants (a scan of every process's parent)."""
    parents = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            parents[int(d)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    pids, todo = set(), [root]
    while todo:
        p = todo.pop()
        pids.add(p)
        todo.extend(c for c, pp in parents.items() if pp == p and c not in pids)
    return pids


def rss_kb(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def main(argv):
    timeout = None
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out, cmd = argv[0], argv[1:]
    proc = subprocess.Popen(cmd, start_new_session=True)
    t0 = time.time()
    # A thread waits for the command (a blocking waitpid) and notes when it ended: Popen.wait
    # with a timeout polls with sleeps of up to 50 ms, which would add up to that to its time.
    ended, end = threading.Event(), []

    def waiter():
        proc.wait()
        end.append(time.time())
        ended.set()

    threading.Thread(target=waiter, daemon=True).start()
    peak, code, polls, pids = 0, None, 0, {proc.pid}
    while True:
        # The tree is looked for every 0.5 s (a scan of all processes costs several ms of CPU,
        # taken from the command measured); its memory every 0.1 s.
        if polls % 5 == 0:
            pids = tree_pids(proc.pid)
        polls += 1
        peak = max(peak, rss_kb(pids))
        if ended.wait(timeout=0.1):
            break
        if timeout is not None and time.time() - t0 > timeout:
            print("tree_rss: %s still running after %g s, killed" % (cmd[0], timeout), file=sys.stderr)
            code = 124
            break
    wall = (end[0] if end else time.time()) - t0
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    with open(out, "w") as f:
        f.write("tree_peak_mb=%d\nwall_s=%.3f\n" % (peak // 1024, wall))
    return proc.returncode if code is None else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
