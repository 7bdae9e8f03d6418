"""The placeholders a saved reply may hold, such as ``{report_id}``, checked and filled.

A placeholder is a bare name from ``PLACEHOLDERS``, nothing more: no attribute access, no
index, no conversion, no format spec. ``str.format`` would follow ``{report.reporter.email}``
wherever it leads, so the text is parsed with ``string.Formatter`` and each name is looked up
in values chosen beforehand, never in an object.
"""

from string import Formatter

from django.core.exceptions import ValidationError

PLACEHOLDERS: dict[str, str] = {
    "researcher_name": "the name the researcher gave (or “researcher” if they gave none)",
    "report_id": "the report's public id",
    "report_title": "the report's title",
    "program_name": "the program's name",
}


def _spelled(name: str, conversion: str | None, spec: str) -> str:
    return (
        "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    )


def validate_placeholders(text: str) -> None:
    """Refuse text with a placeholder that is not one of ``PLACEHOLDERS``, or a stray brace."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise ValidationError(
            "A brace is not matched. Placeholders look like {report_id}; "
            "write {{ or }} for a brace itself.",
            code="unmatched_brace",
        ) from None
    unknown = [
        _spelled(name, conversion, spec)
        for _, name, spec, conversion in parsed
        if name is not None and (name not in PLACEHOLDERS or spec or conversion)
    ]
    if unknown:
        raise ValidationError(
            "Unknown placeholder: %(unknown)s. The placeholders are %(known)s; "
            "write {{ or }} for a brace itself.",
            code="unknown_placeholder",
            params={
                "unknown": ", ".join(dict.fromkeys(unknown)),
                "known": ", ".join("{" + name + "}" for name in PLACEHOLDERS),
            },
        )


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Put each value in place of its placeholder.

    Text saved before a placeholder was withdrawn may not validate any more: what cannot be
    filled is left as it was typed, for the person about to send it to see and correct.
    """
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        return text
    filled = []
    for literal, name, spec, conversion in parsed:
        filled.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conversion:
            filled.append(values[name])
        else:
            filled.append(_spelled(name, conversion, spec))
    return "".join(filled)
