#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The symbol test (style.md section 7, after libxkbcommon's
symbols-leak-test): the headers, libgpuva.map and the built library agree.

- every function declared GPUVA_EXPORT in include/gpuva/*.h is exported by
  the shared library, in a version node of libgpuva.map;
- the library exports nothing else: no internal helper, no stray libc or
  static-inline symbol;
- every name libgpuva.map lists by name (not by glob) is declared.

usage: symbols-test.py SOURCE_ROOT LIBGPUVA_SO [NM]
"""
import fnmatch
import pathlib
import re
import subprocess
import sys


def declared(root):
    names = {}
    decl = re.compile(r'GPUVA_EXPORT\s+[^;{}()]*?\b(gpuva_\w+)\s*\(', re.S)
    for h in sorted((root / 'include' / 'gpuva').glob('*.h')):
        text = re.sub(r'/\*.*?\*/', ' ', h.read_text(), flags=re.S)
        text = re.sub(r'#\s*define[^\n]*(\\\n[^\n]*)*', ' ', text)
        for m in decl.finditer(text):
            names[m.group(1)] = h.name
    return names


def mapfile(root):
    """name or glob -> version node, for the global: parts."""
    text = re.sub(r'#[^\n]*', '', (root / 'libgpuva.map').read_text())
    out = {}
    for node, body in re.findall(r'(\w+)\s*\{(.*?)\}', text, re.S):
        g = re.search(r'global\s*:(.*?)(local\s*:|$)', body, re.S)
        if not g:
            continue
        for sym in re.findall(r'([\w*?\[\]]+)\s*;', g.group(1)):
            out[sym] = node
    return out


def exported(so, nm):
    res = subprocess.run([nm, '-D', '--defined-only', so], check=True,
                         capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == 'A':   # 'A': the version node itself
            continue
        name, _, ver = parts[2].partition('@')
        out[name] = ver.lstrip('@')
    return out


def main():
    root = pathlib.Path(sys.argv[1])
    so = sys.argv[2]
    nm = sys.argv[3] if len(sys.argv) > 3 else 'nm'
    decl, mp, exp = declared(root), mapfile(root), exported(so, nm)
    errors = []

    if not decl:
        errors.append('no GPUVA_EXPORT declaration found in include/gpuva/')
    for name, hdr in sorted(decl.items()):
        if name not in exp:
            errors.append(f'{name} ({hdr}) is declared but not exported')
        elif not any(fnmatch.fnmatchcase(name, p) for p in mp):
            errors.append(f'{name} ({hdr}) is in no version node of libgpuva.map')
    for name, ver in sorted(exp.items()):
        if name not in decl:
            errors.append(f'{name}@{ver} is exported but declared GPUVA_EXPORT in no header')
    for sym in sorted(mp):
        if not any(c in sym for c in '*?[') and sym not in decl:
            errors.append(f'libgpuva.map lists {sym}, which no header declares')

    for e in errors:
        print('FAIL:', e)
    print(f'{len(decl)} declared, {len(exp)} exported, {len(errors)} problems')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
