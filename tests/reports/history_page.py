"""Read the report history page as a person does: its moments, each with who, when and what."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Entry:
    classes: set[str]
    text: str = ""

    @property
    def kind(self) -> str:
        marks = {"history-entry", "history-internal", "history-public"}
        return next(c.removeprefix("history-") for c in self.classes - marks)

    @property
    def internal(self) -> bool:
        return "history-internal" in self.classes

    @property
    def public(self) -> bool:
        return "history-public" in self.classes


@dataclass
class Moment:
    when: str = ""
    who: str = ""
    entries: list[Entry] = field(default_factory=list)


def _squash(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.moments: list[Moment] = []
        self._cell = None
        self._text: list[str] = []
        self._li_depth = 0
        self._entry: Entry | None = None
        self._entry_depth = 0

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "tr" and "history-moment" in classes:
            self.moments.append(Moment())
            self._cell = -1
        elif tag == "td" and self._cell is not None:
            self._cell += 1
            self._text = []
        elif tag == "li" and self._cell == 2:
            self._li_depth += 1
            if "history-entry" in classes:
                self._entry, self._entry_depth, self._text = Entry(classes), self._li_depth, []

    def handle_endtag(self, tag):
        if tag == "li" and self._cell == 2:
            if self._entry is not None and self._li_depth == self._entry_depth:
                self._entry.text = _squash(self._text)
                self.moments[-1].entries.append(self._entry)
                self._entry = None
            self._li_depth -= 1
        elif tag == "td" and self._cell == 0:
            self.moments[-1].when = _squash(self._text)
        elif tag == "td" and self._cell == 1:
            self.moments[-1].who = _squash(self._text)
        elif tag == "tr" and self._cell is not None:
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)


def history_moments(page: str) -> list[Moment]:
    """Every moment the page lists, top to bottom."""
    reader = _Reader()
    reader.feed(page)
    return reader.moments


def history_entries(page: str, kind: str | None = None) -> list[Entry]:
    """Every entry the page lists, top to bottom, of one kind if given."""
    entries = [entry for moment in history_moments(page) for entry in moment.entries]
    return [entry for entry in entries if kind is None or entry.kind == kind]
