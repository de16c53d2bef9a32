"""The words the report uses for the marts' codes (`marketing_sourced` -> "Marketing-sourced")."""

from __future__ import annotations

from typing import Any

STATUS = {"accepted": "Accepted (SAL)", "rejected": "Rejected", "undetermined": "Undetermined"}
CATEGORY = {"marketing_sourced": "Marketing-sourced", "marketing_influenced": "Marketing-influenced", "sales_only": "Sales only"}
MODEL = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "u_shaped": "U-shaped",
    "w_shaped": "W-shaped",
    "time_decay": "Time decay",
}
RULE = {"finance_role": "Finance role", "company_size": "Company size", "industry": "Industry"}
# what a rule needs, so an `unknown` says which CRM field to fill in
RULE_DATA = {"finance_role": "job title", "company_size": "employee count", "industry": "industry"}
STAGE = {
    "unaware": "Unaware",
    "known": "Known",
    "engaged": "Engaged",
    "sal": "SAL",
    "opportunity": "Opportunity",
    "customer": "Customer",
}


def _words(code: str | None) -> str:
    if code is None or code == "":
        return "(none)"
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]


def status(code: str) -> str:
    return STATUS.get(code, _words(code))


def category(code: str) -> str:
    return CATEGORY.get(code, _words(code))


def model(code: str) -> str:
    return MODEL.get(code, _words(code))


def rule(code: str) -> str:
    return RULE.get(code, _words(code))


def stage(code: str | None) -> str:
    return STAGE.get(code or "", _words(code))


def source(code: str | None) -> str:
    return "(no source)" if code is None else _words(code)


def channel(code: str | None) -> str:
    return "Unknown" if code in (None, "", "unknown") else _words(code)


def tier(code: Any) -> str:
    if code is None or code == "":
        return "No tier"
    return f"Tier {code}" if str(code).isdigit() else str(code)


def campaign(row: dict[str, Any]) -> str:
    """A campaign's name, else its id; the row of leads and touches without a campaign says so."""
    if row.get("campaign_id") is None:
        return "(no campaign)"
    return row.get("campaign_name") or row["campaign_id"]


def reasons(sal_reasons: str | None) -> str:
    """`company_size:failed; industry:unknown` -> `Company size failed; industry unknown (no industry)`."""
    if not sal_reasons:
        return "(none)"
    parts = []
    for token in sal_reasons.split("; "):
        name, _, outcome = token.partition(":")
        if outcome == "unknown":
            outcome = f"unknown (no {RULE_DATA.get(name, 'data')})"
        text = f"{rule(name)} {outcome}"
        parts.append(text if not parts else text[:1].lower() + text[1:])
    return "; ".join(parts)
