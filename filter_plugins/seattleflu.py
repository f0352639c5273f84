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


def linelist_date_error(day, today):
    """'' when `day` is a real YYYY-MM-DD no later than `today`, else why not."""
    import datetime
    import re
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(day)):
        return f"invalid date {day!r}: use YYYY-MM-DD"
    try:
        parsed = datetime.date.fromisoformat(str(day))
    except ValueError as exc:
        return f"invalid date {day!r}: {exc}"
    if parsed > datetime.date.fromisoformat(str(today)):
        return f"invalid date {day}: it is after today ({today}); a linelist covers a day that is over"
    return ""


def next_cron_minute(epoch, lead_seconds=5):
    """(minute, hour, epoch it fires) of the first cron minute at least lead_seconds away."""
    import time
    t = int(epoch) + int(lead_seconds)
    fire = t - t % 60 + 60
    local = time.localtime(fire)
    return {"minute": local.tm_min, "hour": local.tm_hour, "epoch": fire}


class FilterModule:
    def filters(self):
        return {"lock_holders": lock_holders, "linelist_date_error": linelist_date_error,
                "next_cron_minute": next_cron_minute}
