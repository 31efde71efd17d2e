#!/usr/bin/env python3
"""Writes the signed sample events in events/slack/ (API Gateway HTTP API v2 payloads).

They are signed with FIXTURE_SECRET at FIXTURE_TIME; tests inject a clock at FIXTURE_TIME and
seed a provider `demo` with that secret. `cargo lambda invoke` with them needs the same secret
and a clock within 5 minutes, so for live invokes use `im chatops test-commands` instead.

Usage: python3 events/generate.py
"""

import base64
import hashlib
import hmac
import json
import os
import urllib.parse

FIXTURE_SECRET = "fixture-signing-secret-8f742231b10e"
FIXTURE_TIME = 1764237600  # 2025-11-27T10:00:00Z
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slack")


def sign(body: bytes, ts: int, secret: str = FIXTURE_SECRET) -> str:
    base = b"v0:" + str(ts).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slash_body(text: str, user="U024BE7LH", trigger="13345224609.738474920.8088930838d88f008e0") -> bytes:
    fields = [
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("team_domain", "example"),
        ("enterprise_id", "E0001"),
        ("enterprise_name", "Globular Construct Inc"),
        ("channel_id", "C2147483705"),
        ("channel_name", "incidents"),
        ("user_id", user),
        ("user_name", "alice"),
        ("command", "/im"),
        ("text", text),
        ("response_url", "https://hooks.slack.com/commands/1234/5678"),
        ("trigger_id", trigger),
        ("api_app_id", "A123456"),
    ]
    return urllib.parse.urlencode(fields).encode()


def event(name, body: bytes, *, content_type="application/x-www-form-urlencoded", ts=FIXTURE_TIME,
          signature=None, base64_body=True, drop_headers=(), instance="demo"):
    headers = {
        "accept": "application/json,*/*",
        "content-type": content_type,
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature or sign(body, ts),
    }
    for h in drop_headers:
        headers.pop(h, None)
    path = f"/chatops/slack/{instance}"
    doc = {
        "version": "2.0",
        "routeKey": "POST /chatops/slack/{instance}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": headers["user-agent"]},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "POST /chatops/slack/{instance}",
            "stage": "$default",
            "time": "27/Nov/2025:10:00:00 +0000",
            "timeEpoch": FIXTURE_TIME * 1000,
        },
        "pathParameters": {"instance": instance},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main():
    os.makedirs(HERE, exist_ok=True)
    declare = slash_body('declare --sev SEV-2 --service checkout "Payment processing down"')
    event("slash-declare", declare)
    event("slash-declare-plain-body", slash_body("declare Database connection timeout", trigger="t-plain"),
          base64_body=False)
    event("slash-help", slash_body("help", trigger="t-help"))
    event("slash-list", slash_body("list", trigger="t-list"))
    event("slash-ack", slash_body('ack INC-2025-001 "Investigating MySQL cluster"', trigger="t-ack"))
    event("slash-unknown-command", slash_body("frobnicate everything", trigger="t-unknown"))
    event("slash-bad-usage", slash_body("escalate INC-2025-001 SEV-9", trigger="t-usage"))
    event("slash-bad-signature", declare, signature=sign(declare, FIXTURE_TIME, "not-the-secret"))
    stale = FIXTURE_TIME - 600
    event("slash-stale-timestamp", declare, ts=stale, signature=sign(declare, stale))
    event("slash-missing-headers", declare, drop_headers=("x-slack-signature", "x-slack-request-timestamp"))
    event("slash-unknown-instance", declare, instance="nobody")
    event("slash-not-form", b"just some text, neither form nor JSON", content_type="text/plain")
    big = slash_body("declare " + "x" * (70 * 1024), trigger="t-big")
    event("slash-too-large", big)
    challenge = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge":
                            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}).encode()
    event("url-verification", challenge, content_type="application/json", base64_body=False)
    unknown = json.dumps({"type": "event_callback", "event_id": "Ev0PV52K21", "team_id": "T0001",
                          "event_time": FIXTURE_TIME, "event": {"type": "reaction_added", "user": "U024BE7LH"}}).encode()
    event("event-unhandled", unknown, content_type="application/json", base64_body=False)


if __name__ == "__main__":
    main()
