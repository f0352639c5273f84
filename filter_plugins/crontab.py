"""Filters for crontab files (X1, S18): read a job line, shift it, set its --date."""
import re

# --date followed by `$(...)` or one word: the linelist generate script's argument.
DATE_ARG = re.compile(r"--date(?:=|\s+)(\$\([^)]*\)|\S+)")


def _is_job(line):
    s = line.strip()
    return bool(s) and not s.startswith("#") and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", s)


def crontab_job(content):
    """The first job of a /etc/cron.d file: {schedule, user, command, env, line_number}."""
    env = {}
    for number, line in enumerate(content.splitlines(), 1):
        s = line.strip()
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", s)
        if m and not s.startswith("#"):
            env[m.group(1)] = m.group(2).strip().strip("'\"")
            continue
        if _is_job(line):
            if s.startswith("@"):
                keyword, user, command = s.split(None, 2)
                return {"schedule": keyword, "user": user, "command": command, "env": env, "line_number": number}
            parts = s.split(None, 6)
            return {"schedule": " ".join(parts[:5]), "user": parts[5], "command": parts[6], "env": env,
                    "line_number": number}
    raise ValueError("no job line in the crontab")


def with_date(command, day):
    """The command with its --date argument set to `day` (YYYY-MM-DD)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(day)):
        raise ValueError(f"not a date: {day!r}")
    if not DATE_ARG.search(command):
        raise ValueError("the job's command has no --date argument")
    return DATE_ARG.sub(lambda m: f"--date {day}", command, count=1)


def crontab_shift(content, minute, hour, day=None):
    """The same file with its first job at `minute hour * * *` (and --date `day`), every other line as is."""
    lines = content.splitlines(True)
    job = crontab_job(content)
    i = job["line_number"] - 1
    command = with_date(job["command"], day) if day else job["command"]
    end = "\n" if lines[i].endswith("\n") else ""
    lines[i] = f"{int(minute)} {int(hour)} * * * {job['user']} {command}{end}"
    return "".join(lines)


class FilterModule:
    def filters(self):
        return {"crontab_job": crontab_job, "crontab_with_date": with_date, "crontab_shift": crontab_shift}
