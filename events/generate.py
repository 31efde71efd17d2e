#!/usr/bin/env python3
"""Writes the signed sample events in events/slack/ (API Gateway HTTP API v2 payloads), the generic
endpoint's ping in events/chatops-webhook/ and a work batch in events/interaction-worker/.

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
EVENTS = os.path.dirname(os.path.abspath(__file__))
HERE = os.path.join(EVENTS, "slack")
GENERIC = os.path.join(EVENTS, "chatops-webhook")


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
          signature=None, base64_body=True, drop_headers=(), instance="demo", generic=False):
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
    path = f"/chatops/{instance}" if generic else f"/chatops/slack/{instance}"
    route = "POST /chatops/{provider}" if generic else "POST /chatops/slack/{instance}"
    doc = {
        "version": "2.0",
        "routeKey": route,
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
            "routeKey": route,
            "stage": "$default",
            "time": "27/Nov/2025:10:00:00 +0000",
            "timeEpoch": FIXTURE_TIME * 1000,
        },
        "pathParameters": {"provider": instance} if generic else {"instance": instance},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }
    write(os.path.join(HERE if not generic else GENERIC, name + ".json"), doc)


def write(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
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

    # The generic endpoint: an unsigned ping, and a signed Slack command by provider name.
    ping = json.dumps({"type": "ping"}).encode()
    event("ping", ping, content_type="application/json", base64_body=False, generic=True,
          drop_headers=("x-slack-signature", "x-slack-request-timestamp"))
    event("slack-help", slash_body("help", trigger="t-generic-help"), generic=True)

    # One piece of slow work (Join War Room) as the interaction-work queue delivers it.
    work = {"id": "13345224609.738474920.war", "provider": "demo", "platform": "slack",
            "requester": {"user": {"id": "U024BE7LH", "name": "alice", "provider": "demo"},
                          "channel": "C2147483705", "reply_to": "https://hooks.slack.com/actions/T0001/1/abc"},
            "task": "war_room", "incident": "INC-2025-001", "command_line": "[Join War Room] INC-2025-001"}
    write(os.path.join(EVENTS, "interaction-worker", "sqs-work.json"), {"Records": [{
        "messageId": "7b3a2c1e-0000-4000-8000-000000000001",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": json.dumps(work),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(FIXTURE_TIME * 1000),
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": str(FIXTURE_TIME * 1000)},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(json.dumps(work).encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:im-interaction-work",
        "awsRegion": "us-east-1",
    }]})


if __name__ == "__main__":
    main()
