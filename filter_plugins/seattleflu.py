"""Filters for the Seattle Flu backoffice role."""


def lock_holders(lines, stale_minutes):
    """'pid pgid etimes args...' lines -> [{pid, pgid, seconds, command, stale}]."""
    out = []
    for line in lines or []:
        parts = str(line).split()
        if len(parts) < 4 or not all(p.isdigit() for p in parts[:3]):
            continue
        seconds = int(parts[2])
        out.append({"pid": int(parts[0]), "pgid": int(parts[1]), "seconds": seconds, "command": " ".join(parts[3:]),
                    "stale": seconds > float(stale_minutes) * 60})
    return out


class FilterModule:
    def filters(self):
        return {"lock_holders": lock_holders}
