"""Generate the Unicode 14.0.0 tables of the text rules (spec §2.3) for Python and the page.

    python scripts/gen_unicode_tables.py --data DIR           # write both files
    python scripts/gen_unicode_tables.py --data DIR --check   # exit 1 if they differ

``DIR`` is the npm package ``@unicode/unicode-14.0.0`` (node-unicode-data's JavaScript export
of the Unicode Character Database 14.0.0: ``UnicodeData.txt`` and ``DerivedCoreProperties.txt``
as arrays of ranges), installed anywhere with ``npm install @unicode/unicode-14.0.0``; Node.js
reads its modules. Every general category is also checked, code point by code point, against
this interpreter's own ``unicodedata``, which must be the Unicode 14.0.0 one (Python 3.11):
two independent derivations of the same UCD files must agree before anything is written.

Written (both are data only, generated, and checked by ``tests/test_unicode_tables.py``):

* ``protocol/endorse/protocol/_unicode14.py``, read by ``endorse.protocol._text``;
* ``server/endorse/server/static/endorse-unicode14.js``, read by the page's
  ``endorse-text.js``.

Each holds three sorted lists of inclusive ranges ``(first, last)``:

* ``REFUSED``: general categories Cc, Cf, Cs, Co, Cn, Zl, Zp, and Zs except U+0020;
* ``IGNORABLE``: Default_Ignorable_Code_Point;
* ``UNASSIGNED``: general category Cn (used by §6.3 step 8a).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY_OUT = ROOT / "protocol" / "endorse" / "protocol" / "_unicode14.py"
JS_OUT = ROOT / "server" / "endorse" / "server" / "static" / "endorse-unicode14.js"
VERSION = "14.0.0"
MAX_CODE_POINT = 0x10FFFF

# Category directory names of the npm package, by their two-letter UCD abbreviation.
CATEGORY_DIRS = {
    "Cc": "Control",
    "Cf": "Format",
    "Cs": "Surrogate",
    "Co": "Private_Use",
    "Cn": "Unassigned",
    "Zl": "Line_Separator",
    "Zp": "Paragraph_Separator",
    "Zs": "Space_Separator",
    "Lu": "Uppercase_Letter",
    "Ll": "Lowercase_Letter",
    "Lt": "Titlecase_Letter",
    "Lm": "Modifier_Letter",
    "Lo": "Other_Letter",
    "Mn": "Nonspacing_Mark",
    "Mc": "Spacing_Mark",
    "Me": "Enclosing_Mark",
    "Nd": "Decimal_Number",
    "Nl": "Letter_Number",
    "No": "Other_Number",
    "Pc": "Connector_Punctuation",
    "Pd": "Dash_Punctuation",
    "Ps": "Open_Punctuation",
    "Pe": "Close_Punctuation",
    "Pi": "Initial_Punctuation",
    "Pf": "Final_Punctuation",
    "Po": "Other_Punctuation",
    "Sm": "Math_Symbol",
    "Sc": "Currency_Symbol",
    "Sk": "Modifier_Symbol",
    "So": "Other_Symbol",
}
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")

Ranges = list[tuple[int, int]]


def _read_ranges(data: pathlib.Path, relative: str) -> Ranges:
    """Inclusive ranges from one ``ranges.mjs`` of the package (its ranges end exclusively)."""
    module = (data / relative / "ranges.mjs").resolve()
    if not module.is_file():
        raise SystemExit(f"{module} missing: is {data} the @unicode/unicode-{VERSION} package?")
    script = (
        f"import r from {json.dumps(module.as_uri())};"
        "process.stdout.write(JSON.stringify(r.map((x) => [x.begin, x.end - 1])));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], check=True, capture_output=True, text=True
    )
    return [(a, b) for a, b in json.loads(out.stdout)]


def _merge(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _minus(ranges: Ranges, point: int) -> Ranges:
    out: Ranges = []
    for first, last in ranges:
        if first <= point <= last:
            out += [r for r in ((first, point - 1), (point + 1, last)) if r[0] <= r[1]]
        else:
            out.append((first, last))
    return out


def build(data: pathlib.Path) -> dict[str, Ranges]:
    """The three tables, after checking the package against ``unicodedata`` 14.0.0."""
    if unicodedata.unidata_version != VERSION:
        raise SystemExit(
            f"this interpreter's unicodedata is {unicodedata.unidata_version}, not {VERSION}:"
            " run the script with Python 3.11"
        )
    version = json.loads((data / "package.json").read_text())["name"]
    if version != f"@unicode/unicode-{VERSION}":
        raise SystemExit(f"{data} holds {version}, not @unicode/unicode-{VERSION}")
    category: list[str | None] = [None] * (MAX_CODE_POINT + 1)
    tables = {a: _read_ranges(data, f"General_Category/{d}") for a, d in CATEGORY_DIRS.items()}
    for abbr, ranges in tables.items():
        for first, last in ranges:
            for cp in range(first, last + 1):
                if category[cp] is not None:
                    raise SystemExit(f"U+{cp:04X} is both {category[cp]} and {abbr}")
                category[cp] = abbr
    for cp, abbr in enumerate(category):
        if abbr != unicodedata.category(chr(cp)):
            raise SystemExit(
                f"U+{cp:04X}: the package says {abbr}, unicodedata says"
                f" {unicodedata.category(chr(cp))}"
            )
    refused = _minus(_merge([r for c in REFUSED_CATEGORIES for r in tables[c]]), 0x20)
    return {
        "REFUSED": refused,
        "IGNORABLE": _merge(_read_ranges(data, "Binary_Property/Default_Ignorable_Code_Point")),
        "UNASSIGNED": _merge(tables["Cn"]),
    }


_DOCS = {
    "REFUSED": "General categories Cc, Cf, Cs, Co, Cn, Zl, Zp, and Zs except U+0020 SPACE.",
    "IGNORABLE": "Default_Ignorable_Code_Point (DerivedCoreProperties.txt).",
    "UNASSIGNED": "General category Cn: code points not assigned in Unicode 14.0.0.",
}
_HEADER = (
    "Generated by scripts/gen_unicode_tables.py from the Unicode Character Database {v}:"
    "\ndo not edit. The tables of the text rules (spec §2.3), as inclusive ranges (first, last)."
)


def _rows(ranges: Ranges, open_: str, close: str) -> str:
    items = [f"{open_}0x{a:04X}, 0x{b:04X}{close}," for a, b in ranges]
    lines, line = [], "   "
    for item in items:
        if len(line) + 1 + len(item) > 99:
            lines.append(line)
            line = "   "
        line += " " + item
    lines.append(line)
    return "\n".join(lines)


def render_python(tables: dict[str, Ranges]) -> str:
    out = ['"""' + _HEADER.format(v=VERSION) + '"""', "", f'UNICODE_VERSION = "{VERSION}"']
    out += ["", "# Five ranges to a line, as generated:", "# fmt: off"]
    for name, ranges in tables.items():
        out += [
            "",
            f"{name}: tuple[tuple[int, int], ...] = (",
            _rows(ranges, "(", ")"),
            ")",
            f'"""{_DOCS[name]}"""',
        ]
    return "\n".join(out) + "\n"


def render_js(tables: dict[str, Ranges]) -> str:
    out = ["// " + line for line in _HEADER.format(v=VERSION).splitlines()]
    out += ["", f'export const UNICODE_VERSION = "{VERSION}";']
    for name, ranges in tables.items():
        out += ["", f"// {_DOCS[name]}", f"export const {name} = [", _rows(ranges, "[", "]"), "];"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=pathlib.Path, required=True, help="the npm package dir")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    tables = build(args.data)
    wanted = {PY_OUT: render_python(tables), JS_OUT: render_js(tables)}
    stale = [p for p, text in wanted.items() if not p.is_file() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} differs from the generator's output", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(wanted[p])
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
