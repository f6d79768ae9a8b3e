#!/usr/bin/env python3
"""Test `gpuva map --svg`: the file is well-formed SVG, draws every mapping
of the final state once (as rectangles carrying its address, with a tooltip
that reads like the mapping's `va` line) and names every BO in its legend.
The final state comes from `gpuva replay` of the same trace with a `dump`
added at the end, so the two commands check each other.

    check-map-svg.py GPUVA TRACE [BACKEND OPTIONS...]
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("check-map-svg: " + msg)
    sys.exit(1)


def final_state(gpuva, trace, opts, tmp):
    """The `va` lines of the last dump, as (addr, range, bo, offset)."""
    path = os.path.join(tmp, "with-dump.trace")
    with open(trace) as src, open(path, "w") as dst:
        dst.write(src.read() + "\ndump\n")
    out = subprocess.run([gpuva, "replay"] + opts + [path], check=True,
                         capture_output=True, text=True).stdout
    last = out.rsplit("> dump\n", 1)[1]
    vas = []
    for line in last.splitlines():
        if line == "end":
            break
        _, addr, rng, bo, off = line.split()
        vas.append((int(addr, 16), int(rng, 16), int(bo), int(off, 16)))
    return vas


def main():
    gpuva, trace, opts = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        vas = final_state(gpuva, trace, opts, tmp)
        svg = os.path.join(tmp, "map.svg")
        subprocess.run([gpuva, "map", "--svg", svg] + opts + [trace],
                       check=True, stdout=subprocess.DEVNULL)
        try:
            root = ET.parse(svg).getroot()
        except ET.ParseError as e:
            fail("%s: not well-formed: %s" % (svg, e))
    if root.tag != SVG + "svg":
        fail("the root element is %s, not svg" % root.tag)
    for attr in ("width", "height", "viewBox"):
        if attr not in root.attrib:
            fail("<svg> has no %s" % attr)

    # every mapping drawn, nothing else: data-va names the mapping's start
    drawn = {}
    for rect in root.iter(SVG + "rect"):
        if rect.get("class") != "va":
            continue
        title = rect.find(SVG + "title")
        drawn.setdefault(int(rect.get("data-va"), 16), set()).add(
            title.text if title is not None else None)
    want = {}
    for addr, rng, bo, off in vas:
        if bo:
            want[addr] = "va 0x%x 0x%x bo %d 0x%x" % (addr, rng, bo, off)
        else:
            want[addr] = "va 0x%x 0x%x NULL" % (addr, rng)
    if set(drawn) != set(want):
        fail("mappings drawn %s, mappings in the final state %s" %
             (sorted(map(hex, drawn)), sorted(map(hex, want))))
    for addr, titles in drawn.items():
        if titles != {want[addr]}:
            fail("mapping 0x%x: tooltip %s, expected %r" %
                 (addr, sorted(titles), want[addr]))

    # every BO named in the legend, with its mapping count and bytes
    texts = [t.text or "" for t in root.iter(SVG + "text")]
    for bo in sorted({v[2] for v in vas if v[2]}):
        mine = [v for v in vas if v[2] == bo]
        pattern = r"\bbo %d: %d mappings?, 0x%x bytes$" % (
            bo, len(mine), sum(v[1] for v in mine))
        if not any(re.search(pattern, t) for t in texts):
            fail("the legend does not name bo %d as /%s/" % (bo, pattern))
    has_null = any(v[2] == 0 for v in vas)
    if has_null != any("NULL" in t for t in texts):
        fail("NULL mappings %s, but the legend %s them" %
             ("exist" if has_null else "do not exist",
              "omits" if has_null else "lists"))
    print("ok: %d mappings, %d BOs" % (len(vas), len({v[2] for v in vas if v[2]})))


if __name__ == "__main__":
    main()
