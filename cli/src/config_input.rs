//! Where `--config` comes from, and the interactive questions of `im chatops add`.
//!
//! `--config` takes JSON inline, `@file.json`, `@file.yaml` (templates are easier to write in
//! YAML), or `-` for standard input (keeps secrets out of shell history). Without it, `add` asks
//! on the terminal, secrets without echo.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use im_core::provider::Platform;
use serde_json::{Map, Value, json};

use crate::Failure;

/// Parses a `--config` argument.
pub fn read(arg: &str) -> Result<Value, Failure> {
    read_with(arg, &mut std::io::stdin().lock())
}

/// [`read`] with the standard input given (tests).
pub fn read_with(arg: &str, stdin: &mut dyn Read) -> Result<Value, Failure> {
    let arg = arg.trim();
    if arg == "-" {
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| Failure(format!("reading --config from standard input: {e}")))?;
        return parse(&text, "standard input", looks_like_yaml(&text));
    }
    if let Some(path) = arg.strip_prefix('@') {
        let text = std::fs::read_to_string(path).map_err(|e| Failure(format!("reading --config {path}: {e}")))?;
        let yaml = matches!(
            Path::new(path).extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        return parse(&text, path, yaml);
    }
    parse(arg, "--config", false)
}

fn looks_like_yaml(text: &str) -> bool {
    !text.trim_start().starts_with('{')
}

fn parse(text: &str, source: &str, yaml: bool) -> Result<Value, Failure> {
    let value: Value = if yaml {
        serde_yaml::from_str(text).map_err(|e| Failure(format!("{source} is not valid YAML: {e}")))?
    } else {
        serde_json::from_str(text).map_err(|e| Failure(format!("{source} is not valid JSON: {e}")))?
    };
    if !value.is_object() {
        return Err(Failure(format!(
            "{source} must be an object of configuration keys, like {{\"bot_token\": \"…\"}}"
        )));
    }
    Ok(value)
}

/// The terminal the questions are asked on.
pub trait Asker {
    /// A visible answer.
    fn line(&mut self, question: &str) -> Result<String, Failure>;
    /// A secret: not echoed.
    fn secret(&mut self, question: &str) -> Result<String, Failure>;
}

/// Standard error for questions, standard input for answers; secrets through `rpassword`.
pub struct Terminal;

impl Asker for Terminal {
    fn line(&mut self, question: &str) -> Result<String, Failure> {
        let mut err = std::io::stderr();
        write!(err, "{question}: ")?;
        err.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_string())
    }

    fn secret(&mut self, question: &str) -> Result<String, Failure> {
        let answer = rpassword::prompt_password(format!("{question} (not shown): "))
            .map_err(|e| Failure(format!("reading a secret from the terminal: {e}")))?;
        Ok(answer.trim().to_string())
    }
}

/// Whether questions can be asked here.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn yes(answer: &str) -> bool {
    !answer.trim().to_ascii_lowercase().starts_with('n')
}

/// The questions of `im chatops add` for a platform: its secrets (hidden), the default channel,
/// the switches and a channel per severity. Blank answers leave a key out.
pub fn ask(platform: &Platform, asker: &mut dyn Asker) -> Result<Value, Failure> {
    let mut config = Map::new();
    let secrets: &[(&str, &str)] = match platform.as_str() {
        "slack" => &[
            ("bot_token", "Bot token (xoxb-…)"),
            (
                "signing_secret",
                "Signing secret (Basic Information; blank: add it later)",
            ),
        ],
        "discord" => &[("bot_token", "Bot token")],
        "teams" => &[("app_password", "App password (client secret)")],
        "mattermost" => &[
            ("bot_token", "Bot access token"),
            ("command_token", "Slash command token"),
        ],
        other => {
            return Err(Failure(format!(
                "{other} has no interactive setup; pass --config '{{…}}'"
            )));
        }
    };
    for (key, question) in secrets {
        let answer = asker.secret(question)?;
        if !answer.is_empty() {
            config.insert((*key).into(), json!(answer));
        }
    }
    let visible: &[(&str, &str)] = match platform.as_str() {
        "discord" => &[
            ("application_id", "Application ID"),
            ("public_key", "Application public key (64 hex characters)"),
            ("guild_id", "Server (guild) ID"),
        ],
        "teams" => &[("app_id", "Microsoft App ID"), ("tenant_id", "Tenant ID")],
        "mattermost" => &[("server_url", "Server URL (https://…)")],
        _ => &[],
    };
    for (key, question) in visible {
        let answer = asker.line(question)?;
        if !answer.is_empty() {
            config.insert((*key).into(), json!(answer));
        }
    }
    let default = asker.line("Default channel ID")?;
    if !default.is_empty() {
        config.insert("default_channel".into(), json!(default));
    }
    config.insert(
        "enable_slash_commands".into(),
        json!(yes(&asker.line("Enable slash commands? [Y/n]")?)),
    );
    let notify = yes(&asker.line("Enable notifications? [Y/n]")?);
    config.insert("enable_notifications".into(), json!(notify));
    if notify {
        let mut routing = Map::new();
        for severity in ["SEV-1", "SEV-2", "SEV-3", "SEV-4"] {
            let channel = asker.line(&format!("Channel for {severity} (blank: the default channel)"))?;
            if !channel.is_empty() {
                routing.insert(severity.into(), json!(channel));
            }
        }
        if !routing.is_empty() {
            config.insert("notification_channels".into(), Value::Object(routing));
        }
    }
    Ok(Value::Object(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted(Vec<&'static str>, Vec<String>);

    impl Asker for Scripted {
        fn line(&mut self, question: &str) -> Result<String, Failure> {
            self.1.push(format!("line {question}"));
            Ok(self.0.remove(0).to_string())
        }
        fn secret(&mut self, question: &str) -> Result<String, Failure> {
            self.1.push(format!("secret {question}"));
            Ok(self.0.remove(0).to_string())
        }
    }

    #[test]
    fn config_comes_inline_from_a_json_or_yaml_file_or_stdin() {
        assert_eq!(read_with(r#"{"a": 1}"#, &mut "".as_bytes()).ok(), Some(json!({"a": 1})));
        let dir = std::env::temp_dir().join(format!("im-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let yaml = dir.join("p.yaml");
        std::fs::write(&yaml, "bot_token: xoxb-1\nnotification_channels:\n  SEV-1: C1\n").expect("write");
        assert_eq!(
            read_with(&format!("@{}", yaml.display()), &mut "".as_bytes()).ok(),
            Some(json!({"bot_token": "xoxb-1", "notification_channels": {"SEV-1": "C1"}}))
        );
        let json_file = dir.join("p.json");
        std::fs::write(&json_file, r#"{"default_channel": "C2"}"#).expect("write");
        assert_eq!(
            read_with(&format!("@{}", json_file.display()), &mut "".as_bytes()).ok(),
            Some(json!({"default_channel": "C2"}))
        );
        assert_eq!(
            read_with("-", &mut r#"{"bot_token": "from-stdin"}"#.as_bytes()).ok(),
            Some(json!({"bot_token": "from-stdin"}))
        );
        assert_eq!(
            read_with("-", &mut "default_channel: C3\n".as_bytes()).ok(),
            Some(json!({"default_channel": "C3"}))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_config_is_explained() {
        let bad = read_with("{nope", &mut "".as_bytes()).expect_err("bad JSON");
        assert!(bad.0.starts_with("--config is not valid JSON"), "{}", bad.0);
        let list = read_with("[1]", &mut "".as_bytes()).expect_err("not an object");
        assert!(list.0.contains("must be an object"), "{}", list.0);
        let missing = read_with("@/nonexistent/x.yaml", &mut "".as_bytes()).expect_err("no file");
        assert!(missing.0.contains("/nonexistent/x.yaml"), "{}", missing.0);
        let yaml = read_with("-", &mut "a: [1\n".as_bytes()).expect_err("bad YAML");
        assert!(yaml.0.contains("standard input is not valid YAML"), "{}", yaml.0);
    }

    #[test]
    fn the_questions_hide_secrets_and_build_the_documented_config() {
        let mut asker = Scripted(
            vec!["xoxb-secret", "", "C123", "", "y", "C_CRIT", "", "", "C_INFO"],
            Vec::new(),
        );
        let config = ask(&Platform::parse("slack").expect("slack"), &mut asker).expect("config");
        assert_eq!(
            config,
            json!({
                "bot_token": "xoxb-secret",
                "default_channel": "C123",
                "enable_slash_commands": true,
                "enable_notifications": true,
                "notification_channels": {"SEV-1": "C_CRIT", "SEV-4": "C_INFO"},
            })
        );
        assert!(asker.1[0].starts_with("secret Bot token"), "{:?}", asker.1);
        assert!(asker.1[1].starts_with("secret Signing secret"), "{:?}", asker.1);
        assert!(asker.1[2].starts_with("line Default channel"), "{:?}", asker.1);
    }

    #[test]
    fn no_notifications_means_no_routing_questions() {
        let mut asker = Scripted(vec!["tok", "app", "k", "g", "C1", "n", "n"], Vec::new());
        let config = ask(&Platform::parse("discord").expect("discord"), &mut asker).expect("config");
        assert_eq!(config["enable_notifications"], false);
        assert_eq!(config["enable_slash_commands"], false);
        assert!(config.get("notification_channels").is_none());
        assert_eq!(config["public_key"], "k");
        assert!(asker.0.is_empty(), "every answer used");
    }
}
