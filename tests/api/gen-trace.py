#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a large, deterministic bind trace (docs/trace-format.md) for
the valgrind replay test: random maps (70%) and unmaps (30%) of 1-64 pages
in a 16 GiB window of a VM with a kernel-reserved range, over 1000 BOs and
NULL (sparse) mappings, so that most requests split or merge existing
mappings; a few invalid requests and dumps are mixed in.

usage: gen-trace.py [--n N] [--seed S] [-o FILE]
"""
import argparse
import random
import sys

PAGE = 0x1000
WINDOW = 16 << 30
BASE = 1 << 32          # the window, above the reserved range


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=200000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('-o', '--output', default='-')
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    out = sys.stdout if a.output == '-' else open(a.output, 'w')
    w = out.write
    w(f'# gen-trace.py --n {a.n} --seed {a.seed}\n')
    w('vm 0x0 0x2000000000 0x0 0x100000000\n')
    for i in range(a.n):
        addr = BASE + rnd.randrange(WINDOW // PAGE - 64) * PAGE
        rng = rnd.randint(1, 64) * PAGE
        x = rnd.random()
        if x < 0.0005:
            w(f'map {addr:#x} 0x0 1 0x0\n')              # zero range: -22
        elif x < 0.001:
            w(f'unmap 0xfff00000 {rng:#x}\n')           # reserved: -22
        elif x < 0.00102:
            w('dump\n')
        elif x < 0.7:
            bo = 0 if rnd.random() < 0.05 else rnd.randint(1, 1000)
            off = rnd.randrange(1 << 16) * PAGE
            w(f'map {addr:#x} {rng:#x} {bo} {off:#x}\n')
        else:
            w(f'unmap {addr:#x} {rng:#x}\n')
    if out is not sys.stdout:
        out.close()


if __name__ == '__main__':
    main()
