#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replay a trace on msm (under the fake kernel) and on the reference.

    replay-msm.py GPUVA TRACE [SIM_FAIL SHIM_FAIL]
    replay-msm.py --outside GPUVA TRACE
    replay-msm.py --example EXAMPLE

--outside: TRACE's VM is outside msm's window, and replay on msm says so.
--example: an example program prints the same on msm as on sim.

Without failures, `gpuva replay --backend msm --check TRACE` must print
byte for byte what `gpuva replay TRACE` prints (or, for a trace with
transaction lines, `gpuva replay --backend sim --check TRACE`). With
SIM_FAIL (a --sim-fail value) and SHIM_FAIL (the GPUVA_SHIM_FAIL_BIND value
that fails the same commit on the fake kernel), msm must print what the
sim prints with that failure.

msm only binds inside its VA window (`gpuva info` gives it) and in whole
CPU pages. A trace whose VM lies below the window is moved up by 4 GiB
(every address; BO offsets stay), which changes no op. A trace that fits
neither way, or asks for a request that is not page-aligned, cannot run on
msm: that is an error here, so the caller lists only traces that can.
"""
import os
import re
import subprocess
import sys
import tempfile

SHIFT = 0x100000000


def msm_geometry(gpuva):
    out = subprocess.run([gpuva, "info"], capture_output=True, text=True,
                         check=True).stdout
    va = re.search(r"va\s+(0x[0-9a-f]+) \+(0x[0-9a-f]+)", out)
    ps = re.search(r"page_size\s+(0x[0-9a-f]+)", out)
    if "msm" not in out or not va or not ps:
        sys.exit("gpuva info shows no msm node with VM_BIND:\n" + out)
    start, size = int(va.group(1), 16), int(va.group(2), 16)
    return start, start + size, int(ps.group(1), 16)


def parse(path):
    """The trace's lines as token lists, comments and blanks dropped."""
    lines = []
    with open(path) as f:
        for line in f:
            toks = line.split("#", 1)[0].split()
            if toks:
                lines.append(toks)
    return lines


def numbers(toks):
    return [int(t, 0) for t in toks[1:]]


def placed(lines, lo, hi, ps):
    """The trace moved into [lo, hi), or a reason why it cannot run."""
    vm = numbers(lines[0]) if lines[0][0] == "vm" else None
    if not vm:
        return None, "no vm line first"
    for shift in (0, SHIFT):
        start = vm[0] + shift
        if lo <= start and start + vm[1] <= hi:
            break
    else:
        return None, "its VM 0x%x +0x%x lies outside msm's window" % tuple(vm[:2])
    out = []
    for toks in lines:
        if toks[0] in ("vm", "map", "unmap"):
            n = numbers(toks)
            addrs = [0, 2] if toks[0] == "vm" and len(n) == 4 else [0]
            sized = n if toks[0] != "map" else [n[0], n[1], n[3]]
            if toks[0] != "vm" and any(x % ps for x in sized):
                return None, "'%s' is not page-aligned" % " ".join(toks)
            for i in addrs:
                # one out of every VM before stays out of it after
                n[i] = (n[i] + shift) % 2**64
            toks = [toks[0]] + ["%d" % x if toks[0] == "map" and i == 2
                                else "0x%x" % x for i, x in enumerate(n)]
        out.append(" ".join(toks))
    return "\n".join(out) + "\n", None


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, env=env)
    if p.returncode:
        sys.exit("%s: exit %d\n%s" % (" ".join(cmd), p.returncode,
                                      p.stderr.decode()))
    return p.stdout


def example(exe):
    want = run([exe, "--backend", "sim"])
    got = run([exe, "--backend", "msm"])
    if got != want:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(
            want.decode().splitlines(True), got.decode().splitlines(True),
            "sim", "msm"))
        sys.exit("%s: msm differs from sim" % exe)
    print("%s: msm prints what sim prints (%d lines)" % (exe, want.count(b"\n")))


def outside(gpuva, path):
    p = subprocess.run([gpuva, "replay", "--backend", "msm", path],
                       capture_output=True, text=True)
    if p.returncode == 0 or "not inside msm's VA window" not in p.stderr:
        sys.exit("%s: replay on msm should refuse the VM, naming the window; "
                 "exit %d, stderr:\n%s" % (path, p.returncode, p.stderr))
    print("%s: refused: %s" % (path, p.stderr.splitlines()[0]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--example":
        return example(sys.argv[2])
    if len(sys.argv) == 4 and sys.argv[1] == "--outside":
        return outside(sys.argv[2], sys.argv[3])
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    gpuva, path = sys.argv[1], sys.argv[2]
    sim_fail, shim_fail = sys.argv[3:5] if len(sys.argv) == 5 else (None, None)
    lo, hi, ps = msm_geometry(gpuva)
    lines = parse(path)
    text, why = placed(lines, lo, hi, ps)
    if why:
        sys.exit("%s cannot run on msm: %s" % (path, why))
    txn = any(t[0] in ("begin", "commit", "abort") for t in lines)
    with tempfile.NamedTemporaryFile("w", suffix=".trace") as f:
        f.write(text)
        f.flush()
        ref = [gpuva, "replay"]
        if txn or sim_fail:
            ref += ["--backend", "sim", "--check"]
        if sim_fail:
            ref += ["--sim-fail", sim_fail]
        want = run(ref + [f.name])
        env = dict(os.environ)
        if shim_fail:
            env["GPUVA_SHIM_FAIL_BIND"] = shim_fail
        got = run([gpuva, "replay", "--backend", "msm", "--check", f.name], env)
    if got != want:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(
            want.decode().splitlines(True), got.decode().splitlines(True),
            " ".join(ref), "msm"))
        sys.exit("%s: msm differs from the reference" % path)
    print("%s: msm prints what %s prints (%d lines)" %
          (path, " ".join(ref[1:]), want.count(b"\n")))


if __name__ == "__main__":
    main()
