"""The admin stays readable: every text colour pair at 4.5:1 at least in the light and the dark
theme, focus rings that stand out, no text under 13 px, and our stylesheet loaded last.

The colours are recomputed from the CSS variables as a browser resolves them: Django's light
values on :root, its dark ones for a dark system and for the dark theme chosen with the toggle,
and ours (static/css/admin.css) over both, by specificity and then order.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import django.contrib.admin
import pytest
from django.conf import settings
from django.urls import reverse

DJANGO_CSS = Path(django.contrib.admin.__file__).parent / "static" / "admin" / "css"
OUR_CSS = Path(settings.BASE_DIR) / "static" / "css" / "admin.css"
# Variables are defined only in these of Django's files; ours comes after them.
THEME_SHEETS = [DJANGO_CSS / "base.css", DJANGO_CSS / "dark_mode.css", OUR_CSS]
# Every stylesheet of Django's admin that sets a text size.
SIZED_SHEETS = [
    DJANGO_CSS / f"{name}.css"
    for name in (
        "base",
        "changelists",
        "dashboard",
        "forms",
        "login",
        "nav_sidebar",
        "responsive",
        "widgets",
        "autocomplete",
        "dark_mode",
    )
]
DARK_SYSTEM = "(prefers-color-scheme: dark)"
SMALLEST_TEXT_PX = 13


@dataclass(frozen=True)
class Rule:
    media: str
    selectors: tuple[str, ...]
    body: str

    def declarations(self) -> dict[str, str]:
        pairs = (part.split(":", 1) for part in self.body.split(";") if ":" in part)
        return {name.strip(): value.strip() for name, value in pairs}


def _rules(text: str, media: str = "") -> list[Rule]:
    """Split a stylesheet into its rules, each with the media query it sits in."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    rules, position = [], 0
    while (opening := text.find("{", position)) != -1:
        head = text[position:opening].strip()
        depth, end = 1, opening + 1
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        body = text[opening + 1 : end - 1]
        if head.startswith("@media"):
            rules += _rules(body, head.removeprefix("@media").strip())
        elif not head.startswith("@"):
            selectors = tuple(" ".join(part.split()) for part in head.split(","))
            rules.append(Rule(media, selectors, body))
        position = end
    return rules


# --- Colours ----------------------------------------------------------------------------

ROOT = ":root"


def _theme_selector(theme: str) -> str:
    return f'html[data-theme="{theme}"]'


@dataclass(frozen=True)
class Theme:
    """What the toggle is set to, and what the system prefers."""

    chosen: str  # "light", "dark" or "auto"
    system_dark: bool

    def specificity(self, selector: str) -> int | None:
        """Rank a selector that matches the root element under this theme; None if it does not."""
        if selector == ROOT:
            return 1
        if selector == _theme_selector(self.chosen):
            return 2
        return None


THEMES = {
    "light": Theme("light", system_dark=False),
    "dark": Theme("dark", system_dark=True),
    "auto on a light system": Theme("auto", system_dark=False),
    "auto on a dark system": Theme("auto", system_dark=True),
    "light chosen on a dark system": Theme("light", system_dark=True),
    "dark chosen on a light system": Theme("dark", system_dark=False),
}
VARIABLE_SELECTORS = {ROOT, _theme_selector("light"), _theme_selector("dark")}


def _variable_rules() -> list[tuple[int, Rule]]:
    ordered = []
    for sheet in THEME_SHEETS:
        for rule in _rules(sheet.read_text()):
            if any(name.startswith("--") for name in rule.declarations()):
                ordered.append((len(ordered), rule))
    return ordered


def _variables(theme: Theme) -> dict[str, str]:
    """Resolve every variable as a browser does under ``theme``: specificity, then order."""
    winners: dict[str, tuple[tuple[int, int], str]] = {}
    for order, rule in _variable_rules():
        if rule.media and not (rule.media == DARK_SYSTEM and theme.system_dark):
            continue
        ranks = [theme.specificity(selector) for selector in rule.selectors]
        ranks = [rank for rank in ranks if rank is not None]
        if not ranks:
            continue
        for name, value in rule.declarations().items():
            if name.startswith("--") and (max(ranks), order) >= winners.get(name, ((0, -1), ""))[0]:
                winners[name] = ((max(ranks), order), value)
    return {name: value for name, (_, value) in winners.items()}


def _colour(value: str, variables: dict[str, str]) -> str:
    """Return the colour a variable name, a var() reference or a literal comes to."""
    if value.startswith("--"):
        value = variables[value]
    for _ in range(10):
        reference = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
        if reference is None:
            break
        value = variables[reference[1]]
    return {"white": "#ffffff", "black": "#000000"}.get(value.strip(), value.strip())


def _luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", hex_digits), f"not a hex colour: {colour}"

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(hex_digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(first: str, second: str) -> float:
    """Return the WCAG 2 contrast ratio of two colours."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# (text, background, where): every pair the admin and our pages paint text in.
TEXT_PAIRS = [
    ("--body-fg", "--body-bg", "page text"),
    ("--body-fg", "--darkened-bg", "filters, sidebars, toolbars"),
    ("--body-fg", "--selected-row", "a selected row of a list"),
    ("--body-quiet-color", "--body-bg", "help text, quiet text"),
    ("--body-quiet-color", "--darkened-bg", "table headings, filter choices, toolbar"),
    ("--body-quiet-color", "--selected-bg", "the sorted column's heading"),
    ("--body-medium-color", "--body-bg", "sub-headings"),
    ("--body-loud-color", "--body-bg", "loud text"),
    ("--link-fg", "--body-bg", "links"),
    ("--link-fg", "--darkened-bg", "links in filters and on the first page's counts"),
    ("--link-fg", "--selected-row", "links in a selected row"),
    ("--link-fg", "--selected-bg", "links in the sorted column's heading"),
    ("--link-hover-color", "--body-bg", "a hovered link"),
    ("--link-hover-color", "--darkened-bg", "a hovered filter choice"),
    ("--link-selected-fg", "--darkened-bg", "the chosen filter"),
    ("--header-color", "--header-bg", "header text"),
    ("--header-branding-color", "--header-bg", "the site name"),
    ("--accent", "--header-bg", "the site name's link"),
    ("--header-link-color", "--header-bg", "header links, module captions"),
    ("--breadcrumbs-fg", "--breadcrumbs-bg", "breadcrumbs"),
    ("--breadcrumbs-link-fg", "--breadcrumbs-bg", "breadcrumb links"),
    ("--button-fg", "--button-bg", "buttons, paginator"),
    ("--button-fg", "--button-hover-bg", "a hovered button or page link"),
    ("--button-fg", "--default-button-bg", "the default button"),
    ("--button-fg", "--default-button-hover-bg", "the hovered default button"),
    ("--button-fg", "--delete-button-bg", "delete buttons"),
    ("--button-fg", "--delete-button-hover-bg", "a hovered delete button"),
    ("--button-fg", "--close-button-bg", "cancel buttons"),
    ("--button-fg", "--close-button-hover-bg", "a hovered cancel button"),
    ("--object-tools-fg", "--object-tools-bg", "object tools (Add, History)"),
    ("--object-tools-fg", "--object-tools-hover-bg", "a hovered object tool"),
    ("--primary-fg", "--primary", "the autocomplete's highlighted choice"),
    ("--header-link-color", "--primary", "the selector's footer"),
    ("#ffffff", "--primary", "a hovered calendar day"),
    ("#ffffff", "--header-bg", "a pressed calendar day"),
    ("--button-fg", "--secondary", "the chosen calendar day, the chosen selector's title"),
    ("#333333", "--accent", "the calendar's caption"),
    ("--body-fg", "--message-success-bg", "success messages"),
    ("--body-fg", "--message-warning-bg", "warnings"),
    ("--body-fg", "--message-error-bg", "error messages"),
    ("--error-fg", "--body-bg", "form errors"),
    ("--error-fg", "--darkened-bg", "form errors in a shaded row"),
    ("--urgent-fg", "--darkened-bg", "an urgent count on the first page"),
]
# Focus rings and other marks that are not text need 3:1 against what surrounds them.
RING_PAIRS = [
    ("--focus-ring", "--body-bg", "focus ring on the page"),
    ("--focus-ring", "--darkened-bg", "focus ring in a filter or toolbar"),
    ("--header-link-color", "--header-bg", "focus ring in the header and captions"),
    ("--breadcrumbs-link-fg", "--breadcrumbs-bg", "focus ring in the breadcrumbs"),
]


@pytest.mark.parametrize("theme_name", THEMES)
@pytest.mark.parametrize(("text", "background", "where"), TEXT_PAIRS, ids=lambda v: str(v))
def test_text_has_at_least_4_5_to_1_contrast_in_every_theme(theme_name, text, background, where):
    variables = _variables(THEMES[theme_name])

    ratio = contrast(_colour(text, variables), _colour(background, variables))

    assert ratio >= 4.5, f"{where}: {text} on {background} is {ratio:.2f}:1 in {theme_name}"


@pytest.mark.parametrize("theme_name", THEMES)
@pytest.mark.parametrize(("mark", "background", "where"), RING_PAIRS, ids=lambda v: str(v))
def test_focus_rings_stand_out_at_3_to_1_in_every_theme(theme_name, mark, background, where):
    variables = _variables(THEMES[theme_name])

    ratio = contrast(_colour(mark, variables), _colour(background, variables))

    assert ratio >= 3, f"{where}: {mark} on {background} is {ratio:.2f}:1 in {theme_name}"


def test_the_theme_resolution_follows_the_toggle_and_the_system():
    # Django's own values, as the browser applies them, before anything of ours.
    assert _variables(THEMES["auto on a dark system"])["--body-bg"] == "#121212"
    assert _variables(THEMES["light chosen on a dark system"])["--body-bg"] == "#fff"
    assert _variables(THEMES["dark chosen on a light system"])["--body-bg"] == "#121212"
    assert _variables(THEMES["light"])["--body-bg"] == "#fff"


def test_the_contrast_formula_matches_wcags_reference_values():
    assert round(contrast("#000000", "#ffffff"), 2) == 21
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48
    assert round(contrast("#ffffff", "#ffffff"), 2) == 1


def test_our_variables_are_set_only_where_the_themes_are():
    for rule in _rules(OUR_CSS.read_text()):
        if any(name.startswith("--") for name in rule.declarations()):
            assert set(rule.selectors) <= VARIABLE_SELECTORS, rule.selectors
            assert rule.media in ("", DARK_SYSTEM), rule.media


def test_every_colour_set_for_the_light_theme_is_set_for_both_ways_to_the_dark_one():
    # A variable set only on :root would also win over Django's dark value on a dark system.
    ours = [rule for rule in _rules(OUR_CSS.read_text()) if rule.declarations()]
    light = {
        name
        for rule in ours
        if ROOT in rule.selectors and not rule.media
        for name in rule.declarations()
        if name.startswith("--")
    }
    dark_system = {
        name for rule in ours if rule.media == DARK_SYSTEM for name in rule.declarations()
    }
    dark_chosen = {
        name
        for rule in ours
        if _theme_selector("dark") in rule.selectors
        for name in rule.declarations()
    }

    assert light <= dark_system
    assert light <= dark_chosen


# --- Sizes and focus ----------------------------------------------------------------------


def _pixels(value: str) -> float | None:
    match = re.match(r"([\d.]+)(rem|px|em)\b", value.strip())
    if match is None:
        return None
    number, unit = float(match[1]), match[2]
    # An em is taken at our smallest text size: the most it can be anywhere we allow.
    return number * {"rem": 16, "px": 1, "em": SMALLEST_TEXT_PX}[unit]


def _small_text_selectors() -> set[str]:
    small = set()
    for sheet in SIZED_SHEETS:
        for rule in _rules(sheet.read_text()):
            size = rule.declarations().get("font-size")
            if size is not None and (_pixels(size) or SMALLEST_TEXT_PX) < SMALLEST_TEXT_PX:
                small.update(rule.selectors)
    return small


def test_every_rule_of_djangos_that_sets_text_under_13_px_is_raised():
    raised = set()
    for rule in _rules(OUR_CSS.read_text()):
        size = rule.declarations().get("font-size")
        if not rule.media and size and (_pixels(size) or 0) >= SMALLEST_TEXT_PX:
            raised.update(rule.selectors)

    small = _small_text_selectors()

    assert small, "Django's admin CSS was not found"
    assert small - raised == set()


def test_no_rule_of_ours_sets_text_under_13_px():
    for rule in _rules(OUR_CSS.read_text()):
        size = rule.declarations().get("font-size")
        if size is not None:
            assert (_pixels(size) or SMALLEST_TEXT_PX) >= SMALLEST_TEXT_PX, rule.selectors


FOCUSABLE = ["a", "button", "input", "select", "textarea", "summary", ".button"]


def test_every_kind_of_control_gets_a_ring_of_2_px_or_more_with_an_offset():
    rings = {}
    for rule in _rules(OUR_CSS.read_text()):
        for selector in rule.selectors:
            if selector.endswith(":focus-visible") and "outline" in rule.declarations():
                rings[selector.removesuffix(":focus-visible")] = rule.declarations()

    for control in FOCUSABLE:
        ring = rings.get(control)
        assert ring is not None, f"no focus ring for {control}"
        width = re.search(r"([\d.]+)px", ring["outline"])
        assert width and float(width[1]) >= 2, ring["outline"]
        assert "solid" in ring["outline"]
        assert _pixels(ring["outline-offset"]) >= 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page", ["admin:index", "admin:reports_report_changelist", "admin:bounty_severity_add"]
)
def test_our_stylesheet_comes_after_every_one_of_djangos(client, superuser, program, page):
    client.force_login(superuser)

    html = client.get(reverse(page)).content.decode()

    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    ours = [index for index, href in enumerate(sheets) if href.endswith("/css/admin.css")]
    djangos = [index for index, href in enumerate(sheets) if "/admin/css/" in href]
    assert ours and djangos and ours[0] > max(djangos), sheets


@pytest.mark.django_db
def test_the_first_page_has_no_inline_styles(client, superuser, program):
    # The content security policy refuses them: the page must look right without.
    client.force_login(superuser)

    html = client.get(reverse("admin:index")).content.decode()

    assert 'class="desk-home"' in html
    assert " style=" not in html
