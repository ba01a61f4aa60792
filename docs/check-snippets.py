#!/usr/bin/env python3
"""Check that the C code quoted in the chapters is the code that compiles.

A fenced block in docs/*.md is a quotation when the line before it (blank
lines aside) is

    <!-- snippet: examples/FILE.c MARKER -->

Paths are relative to the page; the project's README.md is checked too.
The block's body must be byte-identical to the lines strictly between the
two lines of FILE.c that hold the comment /* [MARKER] */. A C block with no
such tag is an error too: code in the docs comes from compiled files.

Usage: check-snippets.py [DOCS_DIR]   (default: the script's directory)
"""

import pathlib
import re
import sys

TAG = re.compile(r"^<!--\s*snippet:\s*(\S+)\s+(\S+)\s*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
C_LANGS = {"c", "h", "cpp", "c++"}


def region(path, marker):
    """The lines between the two marker lines of path, or an error string."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError as err:
        return None, f"cannot read {path}: {err.strerror}"
    mark = f"/* [{marker}] */"
    at = [i for i, line in enumerate(lines) if line.strip() == mark]
    if len(at) != 2:
        return None, f"{path}: {mark} found {len(at)} times, expected 2"
    return "".join(lines[at[0] + 1 : at[1]]), None


def blocks(text):
    """Yields (line, tag or None, language, body) per fenced block, and
    (line, tag, None, None) per tag that no block follows."""
    lines = text.splitlines(keepends=True)
    tag = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence is None:
            match = TAG.match(line)
            if tag is not None and (match or line.strip()):
                yield tag[2], tag, None, None  # a tag with no block
                tag = None
            if match:
                tag = (match.group(1), match.group(2), i + 1)
            i += 1
            continue
        start, close, lang = i + 1, fence.group(1), fence.group(2).lower()
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(close):
            body.append(lines[i])
            i += 1
        yield start, tag, lang, "".join(body)
        tag = None
        i += 1
    if tag is not None:
        yield tag[2], tag, None, None


def check(docs):
    errors = []
    count = 0
    readme = docs.parent / "README.md"
    pages = sorted(docs.glob("*.md")) + ([readme] if readme.exists() else [])
    for md in pages:
        for line, tag, lang, body in blocks(md.read_text(encoding="utf-8")):
            where = f"{md.name}:{line}"
            if body is None:
                errors.append(f"{where}: snippet tag not followed by a block")
                continue
            if tag is None:
                if lang in C_LANGS:
                    errors.append(f"{where}: C block without a snippet tag")
                continue
            source, marker, _ = tag
            expected, err = region(md.parent / source, marker)
            if err:
                errors.append(f"{where}: {err}")
            elif body != expected:
                errors.append(f"{where}: differs from {source} [{marker}]")
            else:
                count += 1
    return count, errors


def main():
    docs = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__)
    if docs.is_file():
        docs = docs.parent
    count, errors = check(docs)
    for err in errors:
        print(err, file=sys.stderr)
    if errors:
        return 1
    print(f"{count} snippets match their sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
