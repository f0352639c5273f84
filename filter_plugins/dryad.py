"""Filters for the dryad role's reports."""


def dryad_job_line(row):
    """One delayed_jobs row as a report line."""
    parts = [f"job {row.get('id')}", f"queue {row.get('queue')}", f"copy {row.get('argument')}",
             f"attempts {row.get('attempts')}"]
    if row.get("locked_by"):
        parts.append(f"locked by {row['locked_by']} for {row.get('running_seconds')}s")
    if row.get("error"):
        parts.append(f"error {row['error']!r}")
    return "  " + ", ".join(parts)


def dryad_refusal(row, reason):
    """Why the admin page's resend would refuse this copy."""
    copy = f"copy {row['id']} ({row['copy_type']}, identifier {row['identifier_id']})"
    if reason == "state":
        return f"{copy}: refused, it is {row['state']}, not error; only errored copies are resent"
    if reason == "prerequisite":
        return (f"{copy}: refused, prerequisite: copy {row['prerequisite_id']} of the same identifier and type "
                f"is not finished yet; resend that first, then this one")
    return f"{copy}: refused, already queued: job {row['queued_job_id']} will run it"


class FilterModule:
    def filters(self):
        return {"dryad_job_line": dryad_job_line, "dryad_refusal": dryad_refusal}
