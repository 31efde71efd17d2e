#!/usr/bin/env python3
"""Writes the signed sample events in events/slack/ and events/discord/ (API Gateway HTTP API v2
payloads), the generic endpoint's events in events/chatops-webhook/ and a work batch in
events/interaction-worker/.

Slack events are signed with FIXTURE_SECRET at FIXTURE_TIME; tests inject a clock at FIXTURE_TIME
and seed a provider `demo` with that secret. Discord events are signed with the fixture key
(seed: SHA-256 of DISCORD_SEED_TEXT; its public key is printed) for a provider `demo-discord`
with application 900100 in server 700100. `cargo lambda invoke` with the Slack ones needs a clock
within 5 minutes of their time, so for live invokes use `im chatops test-commands` instead.

Usage: python3 events/generate.py
"""

import base64
import hashlib
import hmac
import json
import os
import urllib.parse

import ed25519

FIXTURE_SECRET = "fixture-signing-secret-8f742231b10e"
FIXTURE_TIME = 1764237600  # 2025-11-27T10:00:00Z
DISCORD_SEED_TEXT = b"im events fixture discord key"
DISCORD_SEED = hashlib.sha256(DISCORD_SEED_TEXT).digest()
DISCORD_APPLICATION = "900100"
DISCORD_GUILD = "700100"
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
    params = {"provider": instance} if generic else {"instance": instance}
    doc = api_event(route, path, params, headers, body, base64_body)
    write(os.path.join(HERE if not generic else GENERIC, name + ".json"), doc)


def api_event(route, path, params, headers, body: bytes, base64_body):
    """An HTTP API (payload 2.0) event for `route` at `path`."""
    return {
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
            "http": {"method": route.split(" ")[0], "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": headers.get("user-agent", "")},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route,
            "stage": "$default",
            "time": "27/Nov/2025:10:00:00 +0000",
            "timeEpoch": FIXTURE_TIME * 1000,
        },
        "pathParameters": params,
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


def interaction(kind, data=None, *, guild=DISCORD_GUILD, interaction_id="1180000000000000001",
                message=None):
    body = {"id": interaction_id, "application_id": DISCORD_APPLICATION, "type": kind,
            "channel_id": "800100", "token": "aW50ZXJhY3Rpb246MTE4MDAwMDAwMDAwMDAwMDAwMQ", "version": 1,
            "locale": "en-US", "app_permissions": "2248473465835073",
            "entitlements": [], "authorizing_integration_owners": {"0": DISCORD_GUILD}, "context": 0}
    if kind != 1:
        person = {"id": "300100", "username": "alice", "global_name": "Alice", "avatar": None,
                  "discriminator": "0", "public_flags": 0}
        if guild:
            body["guild_id"] = guild
            body["member"] = {"user": person, "nick": None, "roles": ["710001"], "joined_at":
                              "2025-01-01T00:00:00.000000+00:00", "permissions": "2248473465835073",
                              "flags": 0, "mute": False, "deaf": False}
        else:
            body["user"] = person
    if data is not None:
        body["data"] = data
    if message:
        body["message"] = {"id": message, "channel_id": "800100", "type": 0}
    return json.dumps(body, separators=(",", ":")).encode()


def discord_event(name, body: bytes, *, seed=DISCORD_SEED, drop_headers=(), generic=False,
                  instance="demo-discord"):
    ts = str(FIXTURE_TIME)
    headers = {
        "content-type": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Discord-Interactions/1.0 (+https://discord.com)",
        "x-signature-timestamp": ts,
        "x-signature-ed25519": ed25519.sign(seed, ts.encode() + body).hex(),
    }
    for h in drop_headers:
        headers.pop(h, None)
    if generic:
        doc = api_event("POST /chatops/{provider}", f"/chatops/{instance}", {"provider": instance},
                        headers, body, False)
        write(os.path.join(GENERIC, name + ".json"), doc)
    else:
        doc = api_event("POST /chatops/discord/{instance}", f"/chatops/discord/{instance}",
                        {"instance": instance}, headers, body, False)
        write(os.path.join(EVENTS, "discord", name + ".json"), doc)


def im_command(sub, options=()):
    return {"id": "1190000000000000001", "name": "im", "type": 1,
            "options": [{"name": sub, "type": 1, "options": list(options)}]}


def opt(name, value, kind=3, focused=False):
    o = {"name": name, "type": kind, "value": value}
    if focused:
        o["focused"] = True
    return o


def discord_events():
    discord_event("ping", interaction(1))
    discord_event("command-help", interaction(2, im_command("help"), interaction_id="1180000000000000002"))
    discord_event("command-declare", interaction(2, im_command("declare", [
        opt("title", "Payment processing down"), opt("severity", "SEV-2"), opt("service", "checkout")]),
        interaction_id="1180000000000000003"))
    discord_event("command-list", interaction(2, im_command("list"), interaction_id="1180000000000000004"))
    discord_event("autocomplete-incident", interaction(4, im_command("ack", [opt("incident", "pay", focused=True)]),
                                                       interaction_id="1180000000000000005"))
    discord_event("component-ack", interaction(3, {"custom_id": "im:ack|INC-2025-001", "component_type": 2},
                                               interaction_id="1180000000000000006", message="1170000000000000001"))
    # A choice of the card's "More…" menu (where Discord's rows are full): the action it names.
    discord_event("component-more-acknowledge", interaction(3, {"custom_id": "im:more|INC-2025-001", "component_type": 3,
                                                                "values": ["im:transition|acknowledge"]},
                                                            interaction_id="1180000000000000014", message="1170000000000000001"))
    discord_event("modal-status-update", interaction(5, {"custom_id": "im:status_update|INC-2025-001", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": "Failover to the EU region done"}]}]},
        interaction_id="1180000000000000007"))
    discord_event("command-ask-status", interaction(2, im_command("ask", [
        opt("question", "show me the status of INC-2025-001")]), interaction_id="1180000000000000012"))
    discord_event("command-ask-ack-it", interaction(2, im_command("ask", [opt("question", "ack it")]),
                                                    interaction_id="1180000000000000013"))
    discord_event("direct-message", interaction(2, im_command("help"), guild=None, interaction_id="1180000000000000008"))
    other = hashlib.sha256(b"not the application's key").digest()
    discord_event("bad-signature", interaction(2, im_command("help"), interaction_id="1180000000000000009"), seed=other)
    discord_event("missing-headers", interaction(2, im_command("help"), interaction_id="1180000000000000010"),
                  drop_headers=("x-signature-ed25519", "x-signature-timestamp"))
    discord_event("discord-help", interaction(2, im_command("help"), interaction_id="1180000000000000011"),
                  generic=True)
    print("discord fixture public key:", ed25519.public_key(DISCORD_SEED).hex())


def api_events():
    def api(name, method, route, path, params, body=None):
        doc = api_event(f"{method} {route}", path, params,
                        {"content-type": "application/json", "user-agent": "aws-sdk-rust/1.3 os/linux"},
                        json.dumps(body).encode() if body is not None else b"", False)
        if body is None:
            doc.pop("body")
        doc["requestContext"]["authorizer"] = {"iam": {
            "accessKey": "AKIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE",
            "principalOrgId": None, "userArn": "arn:aws:iam::123456789012:user/ops-automation",
            "userId": "AIDAEXAMPLE"}}
        write(os.path.join(EVENTS, "api", name + ".json"), doc)
    api("list-providers", "GET", "/api/v1/chatops/providers", "/api/v1/chatops/providers", None)
    api("get-provider", "GET", "/api/v1/chatops/providers/{name}", "/api/v1/chatops/providers/demo", {"name": "demo"})
    api("notify-test", "POST", "/api/v1/chatops/providers/{name}/notify", "/api/v1/chatops/providers/demo/notify",
        {"name": "demo"}, {"type": "incident_created", "incident_id": "INC-123",
                           "data": {"title": "New Incident", "severity": "SEV-2", "message": "Database issues detected"}})
    api("notify-bad-type", "POST", "/api/v1/chatops/providers/{name}/notify", "/api/v1/chatops/providers/demo/notify",
        {"name": "demo"}, {"type": "incident_exploded", "incident_id": "INC-123"})
    api("list-incidents", "GET", "/api/v1/incidents", "/api/v1/incidents", None)
    api("unknown-provider", "GET", "/api/v1/chatops/providers/{name}", "/api/v1/chatops/providers/nobody", {"name": "nobody"})


def write(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main():
    os.makedirs(HERE, exist_ok=True)
    discord_events()
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

    # A mention of the bot (Events API `app_mention`), first try and Slack's retry of it.
    def mention(event_id, text, ts):
        return json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T0001",
                           "api_app_id": "A123456", "event_time": FIXTURE_TIME,
                           "event": {"type": "app_mention", "user": "U024BE7LH", "text": "<@U0BOT> " + text,
                                     "ts": ts, "channel": "C2147483705", "event_ts": ts}}).encode()
    event("event-app-mention-status", mention("Ev0MENTION01", "show me the status of INC-2025-001",
                                              "1764237600.000301"), content_type="application/json",
          base64_body=False)
    event("event-app-mention-ack-it", mention("Ev0MENTION02", "ack it", "1764237600.000302"),
          content_type="application/json", base64_body=False)

    # A click on the Acknowledge button of an incident card (interactivity request).
    click = {"type": "block_actions", "user": {"id": "U024BE7LH", "username": "alice", "team_id": "T0001"},
             "api_app_id": "A123456", "team": {"id": "T0001", "domain": "example"},
             "channel": {"id": "C2147483705", "name": "incidents"},
             "container": {"type": "message", "channel_id": "C2147483705", "message_ts": "1764237601.000100"},
             "message": {"ts": "1764237601.000100", "type": "message"},
             "trigger_id": "13345224609.738474920.click", "response_url": "https://hooks.slack.com/actions/T0001/1/abc",
             "actions": [{"action_id": "im:ack", "block_id": "actions", "type": "button", "value": "INC-2025-001",
                          "action_ts": "1764237602.000200"}]}
    event("interaction-ack", urllib.parse.urlencode([("payload", json.dumps(click))]).encode())

    # The generic endpoint: an unsigned ping, and a signed Slack command by provider name.
    ping = json.dumps({"type": "ping"}).encode()
    event("ping", ping, content_type="application/json", base64_body=False, generic=True,
          drop_headers=("x-slack-signature", "x-slack-request-timestamp"))
    event("slack-help", slash_body("help", trigger="t-generic-help"), generic=True)

    # The REST API, as API Gateway passes an IAM-authorised request (the signature is checked
    # before the function runs, so the event carries the caller instead).
    api_events()

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
