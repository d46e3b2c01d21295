"""The plan as a person reads it: every set-aside, skipped and refused row, new ids, and a summary;
it shows labels, ids, user names and column names, never a token, a secret or a refused value."""

from __future__ import annotations

from .plan import Plan


def plan_lines(plan: Plan) -> list[str]:
    """Every listed row of the plan, section by section (empty sections are left out)."""
    lines: list[str] = []
    if plan.set_aside:
        lines.append(f"Set aside ({len(plan.set_aside)}), superseded by a more recent row:")
        lines += [f"  - {note.label}: {note.reason}" for note in plan.set_aside]
    if plan.skipped:
        lines.append(f"Skipped ({len(plan.skipped)}):")
        lines += [f"  - {note.label}: {note.reason}" for note in plan.skipped]
    if plan.refused:
        lines.append(
            f"Refused ({plan.refused_rows} row(s)); the store cannot keep these values (not shown):"
        )
        lines += [f"  - {refusal.label}: {refusal.problem}" for refusal in plan.refused]
    if plan.new_ids:
        lines.append(f"New ids ({len(plan.new_ids)}), old -> new:")
        lines += [
            f"  - {new.label}: {new.old} -> {new.new!r} ({new.reason})" for new in plan.new_ids
        ]
    return lines


def summary_line(plan: Plan) -> str:
    """One line of counts."""
    return (
        f"Summary: {plan.rows_read} row(s) read; {len(plan.inserts)} to insert, "
        f"{len(plan.updates)} to update, {len(plan.unchanged)} unchanged, "
        f"{len(plan.set_aside)} set aside, {len(plan.skipped)} skipped, "
        f"{plan.refused_rows} refused."
    )
