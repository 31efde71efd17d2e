//! The one place a chat platform is registered. Adding a platform: write its adapter crate
//! (`shared/<platform>`), add it to [`registry`], give it a webhook function
//! (`functions/<platform>-webhook`) and a route in `template.yaml`. Nothing else changes.

pub mod ops;
pub mod policy;
pub mod privacy;
pub mod rbac;

use std::sync::Arc;

use im_aws::Config;
use im_core::inbound::Platforms;
use im_discord::{DiscordAdapter, DiscordSettings};
use im_slack::{Pacing, SlackAdapter, SlackSettings};

/// The Slack adapter's settings from the configuration.
pub fn slack_settings(config: &Config) -> SlackSettings {
    let d = &config.delivery;
    SlackSettings {
        api_url: d.slack_api_url.clone(),
        response_url_prefix: d.slack_response_url_prefix.clone(),
        pacing: Pacing {
            post_interval: d.slack_post_interval,
            update_interval: d.slack_update_interval,
        },
        timeout: d.chat_timeout,
    }
}

/// The Discord adapter's settings from the configuration.
pub fn discord_settings(config: &Config) -> DiscordSettings {
    DiscordSettings {
        api_url: config.delivery.discord_api_url.clone(),
        timeout: config.delivery.chat_timeout,
    }
}

/// Every platform this build supports.
pub fn registry(config: &Config) -> Platforms {
    Platforms::new()
        .with(Arc::new(SlackAdapter::new(slack_settings(config))))
        .with(Arc::new(DiscordAdapter::new(discord_settings(config))))
}
