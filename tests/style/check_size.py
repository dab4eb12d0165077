#!/usr/bin/env python3
"""check_size.py: TAP check that no C source in agent/ and lib/ is over 800 lines and no function over 80.

Functions are found the way a reader finds them: a line at column 0 that opens a body
(`{` alone, or a definition ending in `{`) after a declarator with a parameter list, up to
the matching `}` at column 0. Comments and string literals are blanked first so braces in
them do not count. Usage: check_size.py [TOPDIR]   (default: the repository holding this file)
"""
import os
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNC_LINES = 80
FOLDERS = ("agent", "lib")


def blank_comments_and_strings(text):
    """Replace comments and string/char literals with spaces, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """Yield (name, first_line, line_count) for each function definition in a C file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = blank_comments_and_strings(f.read()).split("\n")
    depth = 0
    start = None
    name = None
    for no, line in enumerate(lines, 1):
        if depth == 0 and start is None and line.startswith("{"):
            # The declarator is on the lines just above: find the last identifier before '('.
            k = no - 2
            while k > 0 and lines[k - 1].strip() and not lines[k - 1].rstrip().endswith((";", "}", "{")):
                k -= 1
            head = " ".join(lines[k:no - 1])
            m = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", head)
            if m and "=" not in head.split("(")[0]:
                start, name = no, m[0]
        elif depth == 0 and start is None and re.match(r"^[A-Za-z_].*\)\s*\{\s*$", line) and "=" not in line:
            m = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", line)
            if m:
                start, name = no, m[0]
        depth += line.count("{") - line.count("}")
        if start is not None and depth == 0 and "}" in line:
            yield name, start, no - start + 1
            start = None


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = []
    for folder in FOLDERS:
        for root, dirs, files in os.walk(os.path.join(top, folder)):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "dist")]
            paths += [os.path.join(root, f) for f in files if f.endswith((".c", ".h"))]
    paths.sort()
    print("1..2")
    long_files = []
    long_funcs = []
    for p in paths:
        rel = os.path.relpath(p, top)
        with open(p, encoding="utf-8", errors="replace") as f:
            n = sum(1 for _ in f)
        if n > MAX_FILE_LINES:
            long_files.append("%s: %d lines" % (rel, n))
        for name, first, count in functions(p):
            if count > MAX_FUNC_LINES:
                long_funcs.append("%s:%d: %s() is %d lines" % (rel, first, name, count))
    for msg in long_files:
        print("# " + msg)
    print("%s 1 - no C source in agent/ and lib/ is over %d lines (%d files)"
          % ("not ok" if long_files else "ok", MAX_FILE_LINES, len(paths)))
    for msg in long_funcs:
        print("# " + msg)
    print("%s 2 - no function in agent/ and lib/ is over %d lines" % ("not ok" if long_funcs else "ok", MAX_FUNC_LINES))
    return 1 if long_files or long_funcs else 0


if __name__ == "__main__":
    sys.exit(main())
