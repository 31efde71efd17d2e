#!/usr/bin/env python3
"""Runs each case of events/invoke-all.json through `cargo lambda invoke` and checks the answer.

Called by infra/invoke-all.sh (`make invoke-all`), which starts the emulator, the stack, the
platform stand-ins and `cargo lambda watch`. A case names its event file, the function, and what
the answer must be:

  sign       the provider to re-sign the event for, now (`im sign-event`); absent: sent as stored
  status     the HTTP status (API Gateway events)
  contains   strings the answer's body must contain (after JSON-unescaping)
  json       {"dotted.path": value} pairs the body parsed as JSON must have
  failures   the number of batchItemFailures (SQS events)
  posted     strings the platform stand-ins must print while the event runs (what reached
             Slack's or Discord's API)
  capture    remember the first incident id in the answer: later events' fixture id
             (INC-2025-001) is replaced with it before signing, so they act on what was declared

Usage: infra/invoke_all.py [--show] [NAME-FILTER]
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_ID = "INC-2025-001"
IM = os.path.join(ROOT, "target", "debug", "im")


def load_event(path, incident):
    with open(os.path.join(ROOT, "events", path)) as f:
        event = json.load(f)
    if incident and incident != FIXTURE_ID:
        if "Records" in event:
            for record in event["Records"]:
                record["body"] = record["body"].replace(FIXTURE_ID, incident)
        elif event.get("isBase64Encoded"):
            body = base64.b64decode(event["body"]).decode()
            event["body"] = base64.b64encode(body.replace(FIXTURE_ID, incident).encode()).decode()
        elif isinstance(event.get("body"), str):
            event["body"] = event["body"].replace(FIXTURE_ID, incident)
    return json.dumps(event)


def sign(text, provider):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run([IM, "sign-event", provider, f.name], capture_output=True, text=True, cwd=ROOT)
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(f"im sign-event {provider}: {out.stderr.strip()}")
    return out.stdout


def invoke(function, text):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run(
            ["cargo", "lambda", "invoke", "--invoke-address", "127.0.0.1",
             "--invoke-port", os.environ.get("IM_WATCH_PORT", "9000"),
             "--output-format", "json", "--data-file", f.name, function],
            capture_output=True, text=True, cwd=ROOT)
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(f"cargo lambda invoke {function}: {(out.stderr or out.stdout).strip()[-600:]}")
    return json.loads(out.stdout)


def body_of(answer):
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return body


def lookup(doc, dotted):
    for part in dotted.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)] if part.isdigit() and int(part) < len(doc) else None
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def sink_log():
    path = os.environ.get("IM_SINK_LOG", "")
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def check(case, answer, incident, posted=""):
    problems = []
    for want in case.get("posted", []):
        want = want.replace("{incident}", (incident or FIXTURE_ID).lower())
        if want not in posted:
            problems.append(f"the platform stand-ins did not see {want!r}")
    body = body_of(answer) if "statusCode" in answer else ""
    if "status" in case and answer.get("statusCode") != case["status"]:
        problems.append(f"status {answer.get('statusCode')}, expected {case['status']}")
    readable = body.replace("\\\\", "").replace("\\", "")
    for want in case.get("contains", []):
        want = want.replace("{incident}", incident or FIXTURE_ID)
        if want not in body and want not in readable:
            problems.append(f"answer lacks {want!r}")
    if "json" in case:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
            problems.append("answer is not JSON")
        for path, want in case["json"].items():
            if doc is not None and lookup(doc, path) != want:
                problems.append(f"{path} = {lookup(doc, path)!r}, expected {want!r}")
    if "failures" in case:
        failures = answer.get("batchItemFailures", [])
        if len(failures) != case["failures"]:
            problems.append(f"{len(failures)} batchItemFailures, expected {case['failures']}")
    return problems


def main(argv):
    show = "--show" in argv
    only = [a for a in argv if not a.startswith("--")]
    with open(os.path.join(ROOT, "events", "invoke-all.json")) as f:
        cases = json.load(f)
    incident = None
    failed = 0
    for case in cases:
        name = case["event"]
        if only and not any(o in name for o in only):
            continue
        try:
            text = load_event(name, incident)
            if "sign" in case:
                text = sign(text, case["sign"])
            before = len(sink_log())
            answer = invoke(case["function"], text)
            problems = check(case, answer, incident, sink_log()[before:])
            if case.get("capture") and not problems:
                found = re.search(r"INC-\d{4}-\d{3,}", body_of(answer).replace("\\", ""))
                if found:
                    incident = found.group(0)
                else:
                    problems.append("no incident id to capture")
        except (RuntimeError, ValueError) as e:
            answer, problems = None, [str(e)]
        mark = "✗" if problems else "✓"
        print(f"{mark} {case['function']:<20} {name:<42} {case.get('why', '')}")
        for problem in problems:
            print(f"    {problem}")
        if show or problems:
            shown = json.dumps(answer)
            print(f"    answer: {shown[:800]}")
        failed += bool(problems)
    total = len([c for c in cases if not only or any(o in c["event"] for o in only)])
    print(f"\n{total - failed}/{total} events answered as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
