"""Score CVSS 3.1 and 4.0 vectors; the score suggests a severity, the triager decides."""

from dataclasses import dataclass
from decimal import Decimal

from cvss import CVSS3, CVSS4, CVSSError
from django.core.exceptions import ValidationError

from bounty.models import Severity


@dataclass(frozen=True)
class CvssScore:
    vector: str
    version: str
    base_score: Decimal
    rating: str  # None, Low, Medium, High or Critical, as CVSS names them


def score_vector(vector: str) -> CvssScore:
    """Parse and score a vector; raise ``ValidationError`` saying what is wrong with it."""
    vector = vector.strip()
    try:
        if vector.startswith("CVSS:3.1/"):
            parsed = CVSS3(vector)
            return CvssScore(
                parsed.clean_vector(),
                "3.1",
                Decimal(str(parsed.base_score)),
                parsed.severities()[0],
            )
        if vector.startswith("CVSS:4.0/"):
            parsed = CVSS4(vector)
            return CvssScore(
                parsed.clean_vector(), "4.0", Decimal(str(parsed.base_score)), parsed.severity
            )
    except CVSSError as error:
        raise ValidationError(f"Invalid CVSS vector: {error}.", code="invalid_cvss") from error
    raise ValidationError(
        "Invalid CVSS vector: it must start with CVSS:3.1/ or CVSS:4.0/.", code="invalid_cvss"
    )


def suggested_severity(score: CvssScore) -> Severity | None:
    """Return the program's severity named like the vector's rating, if the program has one."""
    return Severity.objects.filter(name__iexact=score.rating).first()


def describe_suggestion(score: CvssScore, chosen: Severity | None = None) -> str:
    """Say what the vector scores and which severity that suggests, against the one chosen."""
    severity = suggested_severity(score)
    text = f"CVSS {score.version} base score {score.base_score} ({score.rating})"
    if severity is None:
        return f"{text}: no severity of the program is named {score.rating}."
    if chosen is not None and severity != chosen:
        return f"{text} suggests {severity}; you chose {chosen}."
    return f"{text} suggests {severity}."


def cvss_suggestion(vector: str) -> dict:
    """Score ``vector`` for a form's live hint: what it suggests, or what is wrong with it."""
    if not vector.strip():
        return {"ok": False, "text": "", "severity": None}
    try:
        score = score_vector(vector)
    except ValidationError as error:
        return {"ok": False, "text": " ".join(error.messages), "severity": None}
    severity = suggested_severity(score)
    return {
        "ok": True,
        "text": describe_suggestion(score),
        "severity": severity.pk if severity else None,
    }
