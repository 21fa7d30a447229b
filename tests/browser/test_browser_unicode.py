"""The differential test of the text rules: Python and Chromium class every code point alike.

The page's ``endorse-text.js`` and the protocol's ``_text`` read the same Unicode 14.0.0 tables;
Chromium's own tables (and its ICU's NFC data) are of a later Unicode version. Each side
classes every code point U+0000..U+10FFFF, as ``text`` and as ``text-ml``, and the whole
tables are compared (run-length encoded, so a difference names its code points). That the NFC
answers agree too checks the spec's reasoning that NFC of characters assigned in 14.0 does not
change in later versions. U+1F6DC (assigned in Unicode 15.0), which Chromium's ``\\p{Cn}`` no
longer matches, is a named case.
"""

from __future__ import annotations

from _browser import LiveServer
from _tabs import OpenTab

from endorse.protocol._text import has_unassigned, text_problem

Runs = list[tuple[int, str]]

_CLASSES_IN_THE_BROWSER = """async ([multiline]) => {
    const { textProblem } = await import("/static/endorse-text.js");
    const runs = [];
    let last;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
        const c = String(textProblem(String.fromCodePoint(cp), multiline));
        if (c !== last) { runs.push([cp, c]); last = c; }
    }
    return runs;
}"""


def _runs_in_python(multiline: bool) -> Runs:
    runs: Runs = []
    last = None
    for cp in range(0x110000):
        c = str(text_problem(chr(cp), multiline)).replace("None", "null")
        if c != last:
            runs.append((cp, c))
            last = c
    return runs


def _differences(python: Runs, browser: Runs) -> list[str]:
    def at(runs: Runs, cp: int) -> str:
        lo, hi = 0, len(runs) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if runs[mid][0] <= cp:
                lo = mid
            else:
                hi = mid - 1
        return runs[lo][1]

    # Two run-length tables differ somewhere only if they differ at the start of some run.
    boundaries = sorted({cp for cp, _ in python} | {cp for cp, _ in browser})
    return [
        f"U+{cp:04X}: python {at(python, cp)}, browser {at(browser, cp)}"
        for cp in boundaries
        if at(python, cp) != at(browser, cp)
    ]


def test_every_code_point_has_the_same_class_in_python_and_chromium(
    registry: LiveServer, open_tab: OpenTab
) -> None:
    tab = open_tab()
    tab.page.goto(f"{registry.url}/check")
    for multiline in (False, True):
        browser = [(cp, c) for cp, c in tab.page.evaluate(_CLASSES_IN_THE_BROWSER, [multiline])]
        python = _runs_in_python(multiline)
        assert not _differences(python, browser), _differences(python, browser)[:20]
        assert python == browser
    tab.assert_quiet()


def test_a_unicode_15_character_is_refused_by_both_though_chromium_knows_it(
    registry: LiveServer, open_tab: OpenTab
) -> None:
    tab = open_tab()
    tab.page.goto(f"{registry.url}/check")
    seen = tab.page.evaluate(
        """async () => {
            const { textProblem, hasUnassigned } = await import("/static/endorse-text.js");
            const s = "Bob \\u{1F6DC}";
            return [textProblem(s), hasUnassigned(s), /\\p{Cn}/u.test(s)];
        }"""
    )
    # Chromium's own Unicode (15.0 or later) has assigned U+1F6DC: its \\p{Cn} does not match.
    assert seen == ["control", True, False]
    assert text_problem("Bob \U0001f6dc") == "control" and has_unassigned("\U0001f6dc")
