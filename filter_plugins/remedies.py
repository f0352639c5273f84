"""Filters the remedies roles share."""


def sum_counts(mappings):
    """[{id: n}, {id: m}] -> {id: n + m}: per-host counts summed across hosts."""
    totals = {}
    for mapping in mappings or []:
        for key, value in (mapping or {}).items():
            totals[str(key)] = totals.get(str(key), 0) + int(value)
    return totals


def keys_at_least(mapping, limit):
    """Keys (as ints when they look like ints) whose value is at least `limit`, sorted."""
    keys = [k for k, v in (mapping or {}).items() if int(v) >= int(limit)]
    return sorted(int(k) if str(k).isdigit() else k for k in keys)


class FilterModule:
    def filters(self):
        return {"sum_counts": sum_counts, "keys_at_least": keys_at_least}
