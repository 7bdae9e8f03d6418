"""Read the decisions table of an admin change page."""

import html
import re

TABLE = re.compile(r'<fieldset class="module decisions".*?<tbody>(?P<rows>.*?)</tbody>', re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


def decision_rows(page: str) -> list[tuple[str, str, str, str]]:
    """Every decision the page lists, as (from, to, who, why); the dates are left out."""
    table = TABLE.search(page)
    if table is None:
        return []
    rows = []
    for row in ROW.findall(table["rows"]):
        _, before, after, who, why = (
            html.unescape(TAG.sub(" ", cell)).strip() for cell in CELL.findall(row)
        )
        rows.append((before, after, who, " ".join(why.split())))
    return rows
