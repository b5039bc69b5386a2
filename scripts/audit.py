"""``make audit``: known vulnerabilities in the installed environment (pip-audit).

Audits every package installed in this virtualenv (Unify itself, an editable install, is
skipped) against the vulnerability database pip-audit uses. Exit codes: 0 no known
vulnerability, or the database is not reachable (offline: says so and skips; CI never
depends on it); 1 vulnerabilities found (listed with the versions that fix them); 2 pip-audit
itself failed for another reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|Max retries exceeded|"
    r"Temporary failure in name resolution|Name or service not known|SSLError|"
    r"Network is unreachable|Connection refused"
)


def pip_audit_command(timeout: int = 15) -> list[str]:
    return [
        sys.executable, "-m", "pip_audit", "--local", "--skip-editable",
        "--progress-spinner", "off", "--format", "json", "--desc", "off",
        "--timeout", str(timeout),
    ]  # fmt: skip


def summarize(report: dict) -> tuple[list[str], int]:
    """Lines to print and the number of vulnerable packages, from pip-audit's JSON report."""
    lines: list[str] = []
    vulnerable = 0
    audited = 0
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            continue
        audited += 1
        vulns = dependency.get("vulns") or []
        if not vulns:
            continue
        vulnerable += 1
        for vuln in vulns:
            fixes = ", ".join(vuln.get("fix_versions") or [])
            fix = f"fixed in {fixes}" if fixes else "no fixed version yet"
            lines.append(f"{dependency['name']} {dependency['version']}: {vuln['id']} ({fix})")
    if vulnerable:
        lines.append(f"{vulnerable} of {audited} packages have known vulnerabilities.")
    else:
        lines.append(f"No known vulnerabilities in {audited} packages.")
    return lines, vulnerable


def main() -> int:
    try:
        import pip_audit  # noqa: F401
    except ImportError:
        print("pip-audit is not installed: `make audit` installs the dev extra first.")
        return 2
    result = subprocess.run(  # noqa: S603
        pip_audit_command(), capture_output=True, text=True, timeout=900
    )
    try:
        report = json.loads(result.stdout) if result.stdout.strip() else None
    except ValueError:
        report = None
    if report is None:
        if UNREACHABLE.search(result.stderr):
            print(
                "pip-audit skipped: the vulnerability database is not reachable from here "
                "(no network). Run `make audit` where it is."
            )
            return 0
        print("pip-audit failed:\n" + "\n".join(result.stderr.strip().splitlines()[-15:]))
        return 2
    lines, vulnerable = summarize(report)
    print("\n".join(lines))
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
