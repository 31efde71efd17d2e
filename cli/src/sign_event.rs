//! `im sign-event <provider> <file>`: a sample API Gateway event from `events/`, addressed to a
//! local provider and signed now with its credentials, so fixtures never go stale for
//! `cargo lambda invoke`. Slack events are signed with the provider's signing secret; Discord
//! events with the local key pair, which only a provider holding its public key trusts.

use base64::Engine as _;
use im_core::provider::{Platform, Provider, ProviderSecrets};
use serde_json::{Value, json};

/// Why an event could not be signed, in words for the terminal.
#[derive(Debug, PartialEq, Eq)]
pub struct SignError(pub String);

fn fail(message: impl Into<String>) -> SignError {
    SignError(message.into())
}

/// Re-addresses `event` to `provider` and signs its body at `now` (Unix seconds).
pub fn sign_event(event: &str, provider: &Provider, secrets: &ProviderSecrets, now: i64) -> Result<String, SignError> {
    let mut event: Value =
        serde_json::from_str(event).map_err(|e| fail(format!("the file is not an API Gateway event: {e}")))?;
    let body = body_of(&event)?;
    let ts = now.to_string();
    let headers = event["headers"]
        .as_object_mut()
        .ok_or_else(|| fail("the event has no headers"))?;
    match provider.platform.as_str() {
        "slack" => {
            let secret = secrets
                .get("signing_secret")
                .ok_or_else(|| fail(format!("provider `{}` has no signing_secret", provider.name)))?;
            let signature = im_slack::sign(secrecy::ExposeSecret::expose_secret(secret), now, &body);
            headers.insert("x-slack-request-timestamp".into(), json!(ts));
            headers.insert("x-slack-signature".into(), json!(signature));
        }
        "discord" => {
            let key = im_discord::verify::local_signing_key();
            let local = hex::encode(key.verifying_key().to_bytes());
            if provider.config.platform_key("public_key") != Some(local.as_str()) {
                return Err(fail(format!(
                    "provider `{}` does not trust the local key (public_key {local}): Discord signs \
                     real interactions itself",
                    provider.name
                )));
            }
            headers.insert("x-signature-timestamp".into(), json!(ts));
            headers.insert(
                "x-signature-ed25519".into(),
                json!(im_discord::verify::sign(&key, &ts, &body)),
            );
        }
        other => return Err(fail(format!("signing {other} events is not supported yet"))),
    }
    readdress(&mut event, &provider.name, &provider.platform)?;
    event["requestContext"]["timeEpoch"] = json!(now * 1000);
    serde_json::to_string_pretty(&event).map_err(|e| fail(e.to_string()))
}

/// The raw body bytes (base64-decoded when the event says so).
fn body_of(event: &Value) -> Result<Vec<u8>, SignError> {
    let body = event["body"].as_str().unwrap_or_default();
    if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| fail(format!("the body is not valid base64: {e}")))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// Points the event's path at the provider, keeping its route: `/chatops/<platform>/<name>` on a
/// platform route (which must be the provider's platform), `/chatops/<name>` on the generic one.
fn readdress(event: &mut Value, name: &str, platform: &Platform) -> Result<(), SignError> {
    let route = event["routeKey"].as_str().unwrap_or_default().to_string();
    let (path, param) = match route.as_str() {
        "POST /chatops/{provider}" => (format!("/chatops/{name}"), "provider"),
        _ => {
            let on = route
                .strip_prefix("POST /chatops/")
                .and_then(|r| r.strip_suffix("/{instance}"))
                .ok_or_else(|| fail(format!("route `{route}` is not a ChatOps webhook")))?;
            if on != platform.as_str() {
                return Err(fail(format!("this is a {on} event and the provider is on {platform}")));
            }
            (format!("/chatops/{on}/{name}"), "instance")
        }
    };
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"] = json!({ param: name });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(platform: &str, config: Value) -> Provider {
        im_core::memory::provider("team", platform, config)
    }

    fn secrets(pairs: &[(&str, &str)]) -> ProviderSecrets {
        ProviderSecrets::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn read(relative: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join("events").join(relative)).expect("fixture")
    }

    #[test]
    fn a_slack_event_is_signed_now_for_the_provider() {
        let secret = "a-local-signing-secret-0123456789abcdef";
        let slack = provider("slack", json!({}));
        let signed = sign_event(
            &read("slack/slash-help.json"),
            &slack,
            &secrets(&[("signing_secret", secret)]),
            1_800_000_000,
        )
        .expect("signed");
        let event: Value = serde_json::from_str(&signed).expect("json");
        assert_eq!(event["rawPath"], "/chatops/slack/team");
        assert_eq!(event["pathParameters"], json!({"instance": "team"}));
        let body = body_of(&event).expect("body");
        let headers = &event["headers"];
        assert_eq!(headers["x-slack-request-timestamp"], "1800000000");
        assert_eq!(
            im_slack::signature::verify(
                &secrecy::SecretString::from(secret),
                headers["x-slack-request-timestamp"].as_str(),
                headers["x-slack-signature"].as_str(),
                &body,
                1_800_000_000
            ),
            Ok(())
        );
    }

    #[test]
    fn a_discord_event_is_signed_with_the_local_key_only_for_a_provider_that_trusts_it() {
        let local = hex::encode(im_discord::verify::local_signing_key().verifying_key().to_bytes());
        let trusting = provider("discord", json!({"public_key": local}));
        let signed = sign_event(
            &read("chatops-webhook/discord-help.json"),
            &trusting,
            &secrets(&[]),
            1_800_000_000,
        )
        .expect("signed");
        let event: Value = serde_json::from_str(&signed).expect("json");
        assert_eq!(event["rawPath"], "/chatops/team", "the generic route keeps its shape");
        let body = body_of(&event).expect("body");
        let h = &event["headers"];
        assert_eq!(
            im_discord::verify::verify(
                &local,
                h["x-signature-timestamp"].as_str(),
                h["x-signature-ed25519"].as_str(),
                &body
            ),
            Ok(())
        );
        let other = provider(
            "discord",
            json!({"public_key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}),
        );
        let refused = sign_event(&read("discord/command-help.json"), &other, &secrets(&[]), 0);
        assert!(refused.is_err_and(|e| e.0.contains("does not trust the local key")));
    }

    #[test]
    fn an_event_of_another_platform_or_no_event_is_refused() {
        let slack = provider("slack", json!({}));
        let with_secret = secrets(&[("signing_secret", "a-local-signing-secret-0123456789abcdef")]);
        let wrong = sign_event(&read("discord/command-help.json"), &slack, &with_secret, 0);
        assert!(wrong.is_err_and(|e| e.0 == "this is a discord event and the provider is on slack"));
        assert!(
            sign_event("not json", &slack, &with_secret, 0).is_err_and(|e| e.0.contains("not an API Gateway event"))
        );
        assert!(
            sign_event(&read("slack/slash-help.json"), &slack, &secrets(&[]), 0)
                .is_err_and(|e| e.0.contains("no signing_secret"))
        );
    }
}
