//! The `im` command: provider administration, the local server and local-stack helpers.

pub mod cli;
pub mod config_input;
pub mod dashboard;
pub mod interact;
pub mod rbac;
/// Operator actions (shared with the REST API).
pub mod send {
    pub use im_platforms::ops::*;
}
pub use im_platforms::ops::{bind_slack, register_discord};
pub mod serve;
pub mod sign_event;
pub mod signed;
pub mod stats;
pub mod test_commands;

use std::process::ExitCode;
use std::sync::Arc;

use im_aws::providers::AdminError;
use im_aws::{AwsClients, Config, ProviderDirectory, provision};
use im_core::provider::{Platform, Provider, ProviderStatus};
use serde_json::{Value, json};

use crate::cli::{Chatops, Cli, Local, Target, Top};
use crate::signed::SlashTarget;

/// A failure to show the user (one line, no backtrace), with the exit code to use.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

pub type Outcome = Result<ExitCode, Failure>;

/// An HTTP client for talking to our own endpoints (the one the functions use, 15 s timeout).
pub fn http_client() -> Result<reqwest::Client, Failure> {
    im_slack::client::http_client(std::time::Duration::from_secs(15)).map_err(Failure)
}

/// Configuration from `--env-file` (if given), then the environment.
pub fn config(env_file: Option<&std::path::Path>) -> Result<Config, Failure> {
    Ok(match env_file {
        Some(path) => Config::from_env_file(path)?,
        None => Config::from_env()?,
    })
}

pub async fn run(cli: Cli) -> Outcome {
    let env_file = cli.env_file.as_deref();
    match cli.command {
        Top::Serve(args) => {
            let tick = std::time::Duration::from_secs(args.sla_tick.max(1));
            serve::serve(config(env_file)?, &args.addr, args.platform_sink, tick).await
        }
        Top::Local(Local::Bootstrap {
            template,
            stack,
            env_file,
        }) => bootstrap(&template, &stack, env_file.as_deref()).await,
        Top::Local(Local::Sink { addr }) => serve::sink(&addr).await,
        Top::Chatops(command) => chatops(config(env_file)?, command).await,
        Top::SignEvent { provider, file } => sign_event(config(env_file)?, &provider, &file).await,
        Top::Timeline {
            incident,
            source,
            limit,
            output,
            json,
        } => {
            let rows = timeline(config(env_file)?, incident.as_deref(), source.as_deref(), limit).await?;
            if cli::wants_json(output, json) {
                let shown: Vec<Value> = rows
                    .iter()
                    .map(|(id, e)| {
                        let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
                        v["incident_id"] = json!(id.to_string());
                        v
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else if rows.is_empty() {
                println!("No timeline entries match.");
            } else {
                let mut table = comfy_table::Table::new();
                table
                    .load_preset(comfy_table::presets::NOTHING)
                    .set_header(["Time", "Incident", "Event", "Actor", "Source", "Detail"]);
                for (id, e) in &rows {
                    let detail: String = e
                        .data
                        .get("note")
                        .or_else(|| e.data.get("response"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .chars()
                        .take(60)
                        .collect();
                    table.add_row([
                        im_core::message::rfc3339(e.timestamp),
                        id.to_string(),
                        e.event_type.clone(),
                        e.actor.clone(),
                        e.source.clone(),
                        detail,
                    ]);
                }
                println!("{table}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Top::Oncall(command) => oncall(config(env_file)?, command).await,
        Top::Rbac(command) => rbac::rbac(config(env_file)?, command).await,
        Top::Privacy(command) => rbac::privacy(config(env_file)?, command).await,
        Top::Team(command) => rbac::team(config(env_file)?, command).await,
        Top::Audit { date, json } => rbac::audit(config(env_file)?, date.as_deref(), json).await,
        Top::Nlu { text, services } => {
            let services = match services {
                Some(list) => list,
                None => known_services(env_file).await,
            };
            // Read as Slack delivers a mention (its markup for people), as the corpus is written.
            let said = im_slack::text::segments(&text.join(" "), "cli");
            let parse = im_core::nlu::understand(&said, &services);
            println!("{}", serde_json::to_string(&parse)?);
            Ok(ExitCode::SUCCESS)
        }
        Top::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "im", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `im oncall set|show|override`: rotations kept where the functions read them.
async fn oncall(config: Config, command: cli::Oncall) -> Outcome {
    use im_core::conversation::Memo;
    use im_core::oncall::{Override, Rotation, local_time, rotation_key};
    let memo = im_aws::deliveries::DeliveryStore::new(Arc::new(AwsClients::new(config)));
    let instant = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| Failure(format!("`{s}` is not an RFC 3339 time like 2026-12-24T18:00:00Z")))
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let load = |service: String| {
        let memo = &memo;
        async move {
            match memo.get(&rotation_key(&service), now).await? {
                Some(v) => Ok::<Rotation, Failure>(serde_json::from_str(&v)?),
                None => Err(Failure(format!(
                    "{service} has no rotation yet; set one with `im oncall set {service} --participants slack:U123,…`"
                ))),
            }
        }
    };
    match command {
        cli::Oncall::Set {
            service,
            participants,
            handoff,
            shift_hours,
            timezone,
            start,
        } => {
            // By default the rotation is running now: its first handoff is today's, or
            // yesterday's when today's is still ahead.
            let today = jiff::tz::TimeZone::get(&timezone)
                .map(|tz| jiff::Timestamp::now().to_zoned_datetime(tz).date())
                .map_err(|_| Failure(format!("`{timezone}` is not a known time zone")))?;
            let explicit = start.is_some();
            let start = start.unwrap_or_else(|| today.to_string());
            let overrides = load(service.clone()).await.map(|r| r.overrides).unwrap_or_default();
            let mut rotation = Rotation {
                service: service.clone(),
                participants,
                handoff,
                shift_hours,
                timezone,
                start,
                overrides,
            };
            rotation.validate()?;
            if !explicit
                && rotation.on_call(now).is_none_or(|o| o.overridden)
                && let Ok(yesterday) = today.yesterday()
            {
                rotation.start = yesterday.to_string();
            }
            memo.put(&rotation_key(&service), &serde_json::to_string(&rotation)?, None)
                .await?;
            let people = match rotation.participants.len() {
                1 => "1 person".to_string(),
                n => format!("{n} people"),
            };
            println!(
                "✓ Rotation for {service} set: {people}, {}-hour shifts, handoff {} {}, from {}.",
                rotation.shift_hours, rotation.handoff, rotation.timezone, rotation.start
            );
            Ok(ExitCode::SUCCESS)
        }
        cli::Oncall::Show { service, at, json } => {
            let rotation = load(service.clone()).await?;
            let at = match at {
                Some(s) => instant(&s)?,
                None => now,
            };
            let on = rotation.on_call(at);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"rotation": rotation, "on_call": on}))?
                );
            } else {
                match on {
                    Some(o) => println!(
                        "On call for {service}: {}{} until {}",
                        o.user,
                        if o.overridden { " (override)" } else { "" },
                        local_time(o.until, &rotation.timezone)
                    ),
                    None => println!(
                        "The {service} rotation starts on {} at {} {}.",
                        rotation.start, rotation.handoff, rotation.timezone
                    ),
                }
                println!(
                    "Rotation: {} · {}-hour shifts · handoff {} {}",
                    rotation.participants.join(", "),
                    rotation.shift_hours,
                    rotation.handoff,
                    rotation.timezone
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        cli::Oncall::Override {
            service,
            user,
            from,
            to,
        } => {
            let mut rotation = load(service.clone()).await?;
            let (from, to) = (instant(&from)?, instant(&to)?);
            rotation.add_override(
                Override {
                    user: user.clone(),
                    from,
                    to,
                },
                now,
            )?;
            memo.put(&rotation_key(&service), &serde_json::to_string(&rotation)?, None)
                .await?;
            println!(
                "✓ {user} is on call for {service} from {} to {}.",
                local_time(from, &rotation.timezone),
                local_time(to, &rotation.timezone)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Every provider's `services`, when the stack answers within two seconds; none otherwise
/// (`im nlu` still parses, without service names).
async fn known_services(env_file: Option<&std::path::Path>) -> Vec<String> {
    let Ok(config) = config(env_file) else {
        return Vec::new();
    };
    let directory = ProviderDirectory::new(Arc::new(AwsClients::new(config)));
    match tokio::time::timeout(std::time::Duration::from_secs(2), directory.list()).await {
        Ok(Ok(providers)) => {
            let mut all: Vec<String> = providers.into_iter().flat_map(|p| p.config.services).collect();
            all.sort();
            all.dedup();
            all
        }
        _ => {
            eprintln!("(the stack did not answer: parsing without known services; pass --services to name them)");
            Vec::new()
        }
    }
}

/// `im timeline`: one incident's entries (oldest first), or the newest across incidents.
pub async fn timeline(
    config: Config,
    incident: Option<&str>,
    source: Option<&str>,
    limit: usize,
) -> Result<Vec<(im_core::IncidentId, im_core::TimelineEntry)>, Failure> {
    use im_core::ports::IncidentStore as _;
    let filter = source
        .map(im_core::timeline::SourceFilter::parse)
        .transpose()
        .map_err(Failure)?;
    let keep = |e: &im_core::TimelineEntry| filter.as_ref().is_none_or(|f| f.matches(e));
    let limit = limit.clamp(1, 1000);
    let store = im_aws::DynamoStore::new(Arc::new(AwsClients::new(config)));
    match incident {
        Some(text) => {
            let id = im_core::IncidentId::parse(text)
                .map_err(|_| Failure(format!("`{text}` is not an incident id (INC-YYYY-NNN)")))?;
            if store.get(&id).await?.is_none() {
                return Err(Failure(format!("{id} not found")));
            }
            let entries = store.timeline(&id, 1000).await?;
            let mut kept: Vec<_> = entries
                .into_iter()
                .filter(|e| keep(e))
                .map(|e| (id.clone(), e))
                .collect();
            let skip = kept.len().saturating_sub(limit);
            Ok(kept.split_off(skip))
        }
        None => {
            let today = time::OffsetDateTime::now_utc().date();
            Ok(store.recent_timeline(today, 30, limit, &keep).await?)
        }
    }
}

async fn sign_event(config: Config, name: &str, file: &std::path::Path) -> Outcome {
    let event = std::fs::read_to_string(file).map_err(|e| Failure(format!("reading {}: {e}", file.display())))?;
    let directory = ProviderDirectory::new(Arc::new(AwsClients::new(config)));
    let provider = directory
        .provider(name)
        .await
        .map_err(|e| Failure(e.to_string()))?
        .ok_or_else(|| Failure(format!("provider `{name}` not found")))?;
    let secrets = match directory.secrets().read_raw(&provider.secret_name).await {
        Ok(Some(s)) => im_core::provider::ProviderSecrets::from_map(s),
        Ok(None) => im_core::provider::ProviderSecrets::default(),
        Err(e) => return Err(Failure(e.to_string())),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = sign_event::sign_event(&event, &provider, &secrets, now).map_err(|e| Failure(e.0))?;
    println!("{signed}");
    Ok(ExitCode::SUCCESS)
}

async fn bootstrap(template: &std::path::Path, stack: &str, env_file: Option<&std::path::Path>) -> Outcome {
    let yaml =
        std::fs::read_to_string(template).map_err(|e| Failure(format!("reading {}: {e}", template.display())))?;
    let spec = provision::parse_template(&yaml, stack)?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| Failure("AWS_ENDPOINT_URL is not set: bootstrap only creates local resources".into()))?;
    let config = Config::local(&endpoint, "unused", None);
    let created = provision::provision(&AwsClients::new(config), &spec).await?;
    let table = created
        .tables
        .get("IncidentsTable")
        .ok_or_else(|| Failure("template.yaml declares no IncidentsTable".into()))?;
    let events = created
        .queue_urls
        .get("IncidentEventsQueue")
        .ok_or_else(|| Failure("template.yaml declares no IncidentEventsQueue".into()))?;
    let queue = |id: &str| created.queue_urls.get(id).cloned().unwrap_or_default();
    let mut env = format!(
        "AWS_ENDPOINT_URL={endpoint}\nAWS_REGION=us-east-1\nTABLE_NAME={table}\nINCIDENT_EVENTS_QUEUE_URL={events}\nDELIVERIES_QUEUE_URL={}\nDELIVERIES_DLQ_URL={}\nINTERACTION_WORK_QUEUE_URL={}\nSECRETS_PREFIX={stack}/\n",
        queue("DeliveriesQueue"),
        queue("DeliveriesDLQ"),
        queue("InteractionWorkQueue"),
    );
    for (logical, url) in &created.queue_urls {
        env.push_str(&format!("# {logical}: {url}\n"));
    }
    match env_file {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, &env)?;
            println!(
                "Created {} table(s) and {} queue(s) for stack `{stack}`; environment in {}",
                created.tables.len(),
                created.queue_urls.len(),
                path.display()
            );
        }
        None => print!("{env}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per channel; failure when any channel failed.
fn finish_sends(sent: &[send::Sent]) -> Outcome {
    for s in sent {
        println!("{}", s.line());
    }
    Ok(if sent.iter().all(|s| s.result.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// When a new provider's notifications begin: functions cache provider records.
fn notifications_line(provider: &Provider, config: &Config) -> String {
    if !provider.config.enable_notifications {
        return "  Notifications are off (enable_notifications: false).".into();
    }
    match provider.config.default_channel.as_deref().or_else(|| {
        provider
            .config
            .notification_channels
            .values()
            .next()
            .map(String::as_str)
    }) {
        Some(_) => format!(
            "  Notifications begin within {} s (the router's provider cache).",
            config.providers_ttl.as_secs()
        ),
        None => "  No default_channel or notification_channels yet: nothing will be notified until one is set.".into(),
    }
}

/// What inbound requests still need, if anything.
async fn gaps_line(directory: &ProviderDirectory, provider: &Provider) -> Result<Option<String>, Failure> {
    let gaps = directory.inbound_gaps(provider).await.map_err(admin_error)?;
    Ok((!gaps.is_empty()).then(|| {
        let keys = gaps.join(", ");
        format!(
            "! Inbound requests (slash commands, buttons, mentions) are refused until {keys} is added:\n    im chatops update {} --config '{{\"{}\": \"…\"}}'",
            provider.name, gaps[0]
        )
    }))
}

fn admin_error(e: AdminError) -> Failure {
    Failure(e.to_string())
}

/// `Provider  Platform  Status  Channels`, as the documentation shows it.
pub fn providers_table(providers: &[Provider]) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(["Provider", "Platform", "Status", "Channels"]);
    for p in providers {
        table.add_row([
            p.name.clone(),
            p.platform.to_string(),
            p.status.as_str().to_string(),
            p.config.channel_count().to_string(),
        ]);
    }
    table
        .lines()
        .map(|l| l.trim().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn target(directory: &ProviderDirectory, target: &Target) -> Result<SlashTarget, Failure> {
    let provider = directory.store().get_provider(&target.provider).await?.ok_or_else(|| {
        Failure(format!(
            "provider `{}` not found (see `im chatops list`)",
            target.provider
        ))
    })?;
    if provider.platform != Platform::SLACK {
        return Err(Failure(format!(
            "provider `{}` is a {} provider; signed test commands are implemented for Slack",
            provider.name, provider.platform
        )));
    }
    let secrets = directory
        .secrets()
        .read_raw(&provider.secret_name)
        .await?
        .unwrap_or_default();
    let signing_secret = secrets
        .get("signing_secret")
        .cloned()
        .ok_or_else(|| Failure(format!("provider `{}` has no signing_secret", provider.name)))?;
    let base = target.url.clone().unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let url = if base.contains("/chatops/") {
        base
    } else {
        signed::endpoint(&base, &provider.name)
    };
    Ok(SlashTarget {
        url,
        signing_secret,
        user: target.user.clone(),
        channel: target.channel.clone(),
        team_id: provider.config.platform_key("team_id").unwrap_or("T0IMCLI").to_string(),
        api_app_id: provider.config.platform_key("api_app_id").map(str::to_string),
    })
}

async fn dlq(clients: Arc<AwsClients>, command: cli::Dlq) -> Outcome {
    let missing = |what: &str| Failure(format!("{what} is not set (see .local/dev.env or the stack outputs)"));
    let config = clients.config();
    let dlq_ref = config
        .deliveries_dlq
        .clone()
        .ok_or_else(|| missing("DELIVERIES_DLQ_URL"))?;
    let queue_ref = config
        .deliveries_queue
        .clone()
        .ok_or_else(|| missing("DELIVERIES_QUEUE_URL"))?;
    let dlq = im_aws::sqs::Queue::new(clients.clone(), dlq_ref);
    match command {
        cli::Dlq::List { max, output, json } => {
            let letters = im_aws::dlq::list(&dlq, max).await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else if letters.is_empty() {
                println!("The dead-letter queue is empty.");
            } else {
                for l in &letters {
                    println!(
                        "{}  {} → {}  attempts {}  {}",
                        l.incident.as_deref().unwrap_or("-"),
                        l.provider,
                        l.channel,
                        l.attempts,
                        l.reason
                    );
                }
                println!(
                    "{} dead-lettered deliver{}",
                    letters.len(),
                    if letters.len() == 1 { "y" } else { "ies" }
                );
            }
        }
        cli::Dlq::Redrive { max } => {
            let deliveries = im_aws::sqs::Queue::new(clients, queue_ref);
            let moved = im_aws::dlq::redrive(&dlq, &deliveries, max).await?;
            println!(
                "✓ Sent {} deliver{} back to the deliveries queue",
                moved.len(),
                if moved.len() == 1 { "y" } else { "ies" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Custom actions whose command no workflow of the provider answers: they need a command
/// registered in code (the deployed functions register none unless you build them in).
fn actions_lines(provider: &Provider) -> Vec<String> {
    let config = &provider.config;
    im_core::custom::outside_workflows(&config.actions, &config.workflows)
        .into_iter()
        .map(|a| {
            format!(
                "! actions.{} runs `{}`, which is not one of this provider's workflows: it works only where a command `{}` is registered in code",
                a.id, a.command, a.command
            )
        })
        .collect()
}

/// What a new provider's people may do until they are mapped.
fn roles_line(provider: &im_core::Provider) -> String {
    let rbac = &provider.config.rbac;
    format!(
        "  Roles: people without a mapping are {}s (rbac.default_role); map people with `im rbac set {}:<user-id> <role>`",
        rbac.default_role, provider.name
    )
}

async fn chatops(config: Config, command: Chatops) -> Outcome {
    let clients = Arc::new(AwsClients::new(config));
    let directory = ProviderDirectory::new(clients.clone());
    match command {
        Chatops::Add { platform, name, config } => {
            let parsed = Platform::parse(&platform)?;
            let config = match config {
                Some(text) => config_input::read(&text)?,
                None if config_input::interactive() => config_input::ask(&parsed, &mut config_input::Terminal)?,
                None => {
                    return Err(Failure(
                        "no --config given and no terminal to ask on: pass --config '{…}', @file or -".into(),
                    ));
                }
            };
            let added = directory.add(&name, &platform, config).await.map_err(admin_error)?;
            println!(
                "✓ Added {} provider `{}` (secrets in {})",
                added.platform, added.name, added.secret_name
            );
            println!("{}", notifications_line(&added, clients.config()));
            println!("{}", roles_line(&added));
            for line in actions_lines(&added) {
                println!("{line}");
            }
            if let Some(line) = gaps_line(&directory, &added).await? {
                println!("{line}");
            }
            if added.platform == Platform::SLACK {
                println!("{}", bind_slack(clients.config(), &directory, &added).await);
                println!("  Request URL: https://<your-api>/chatops/slack/{}", added.name);
            }
            if added.platform == Platform::DISCORD {
                println!("{}", register_discord(clients.config(), &directory, &added, None).await);
                println!(
                    "  Interactions Endpoint URL: https://<your-api>/chatops/discord/{}",
                    added.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Stats { since, output, json } => {
            let days = im_core::usage::parse_period(&since).map_err(Failure)?;
            let log = im_aws::usage::DynamoUsage::new(clients.clone());
            let stats = stats::read(&log, stats::today(), days).await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print!("{}", stats::render_table(&stats));
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::List { output, json } => {
            let providers = directory.list().await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&providers)?);
            } else if providers.is_empty() {
                println!("No providers yet. Add one with `im chatops add slack <name> --config '{{…}}'`.");
            } else {
                println!("{}", providers_table(&providers));
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Update {
            name,
            config,
            enable,
            disable,
        } => {
            let patch = config.as_deref().map(config_input::read).transpose()?;
            let status = match (enable, disable) {
                (true, _) => Some(ProviderStatus::Active),
                (_, true) => Some(ProviderStatus::Inactive),
                _ => None,
            };
            if patch.is_none() && status.is_none() {
                return Err(Failure(
                    "nothing to update: pass --config, --enable or --disable".into(),
                ));
            }
            let updated = directory.update(&name, patch, status).await.map_err(admin_error)?;
            println!("✓ Updated `{}` ({})", updated.name, updated.status.as_str());
            for line in actions_lines(&updated) {
                println!("{line}");
            }
            if let Some(line) = gaps_line(&directory, &updated).await? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Remove { name, yes } => {
            if directory.store().get_provider(&name).await?.is_none() {
                return Err(Failure(format!("provider `{name}` not found (see `im chatops list`)")));
            }
            if !yes {
                if !config_input::interactive() {
                    return Err(Failure(format!(
                        "removing `{name}` deletes its record and its secret; pass --yes to confirm without a terminal"
                    )));
                }
                use config_input::Asker as _;
                let answer = config_input::Terminal.line(&format!(
                    "Remove `{name}` and its secret? Type the provider's name to confirm"
                ))?;
                if answer != name {
                    return Err(Failure("not removed".into()));
                }
            }
            let removed = directory.remove(&name).await.map_err(admin_error)?;
            println!("✓ Removed `{}` and its secret", removed.name);
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Config { provider } => {
            let record = directory
                .store()
                .get_provider(&provider)
                .await?
                .ok_or_else(|| Failure(format!("provider `{provider}` not found")))?;
            let (secret_keys, _) = directory.secret_summary(&record).await.map_err(admin_error)?;
            let shown = json!({
                "name": record.name,
                "platform": record.platform,
                "status": record.status,
                "config": record.config,
                "secret": record.secret_name,
                "secret_keys": secret_keys,
                "routing": send::Sender::routing(&record),
            });
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Slash { target: t, text } => {
            let target = target(&directory, &t).await?;
            let response = signed::send(&http_client()?, &target, &text.join(" "))
                .await
                .map_err(Failure)?;
            if response.status != 200 {
                return Err(Failure(format!("HTTP {} {}", response.status, response.body)));
            }
            println!("[{}] {}", response.response_type(), response.text());
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Dlq(command) => dlq(clients, command).await,
        Chatops::Channels { provider, output, json } => {
            let channels = send::Sender::new(clients).channels(&provider).await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&channels)?);
            } else {
                let mut table = comfy_table::Table::new();
                table
                    .load_preset(comfy_table::presets::NOTHING)
                    .set_header(["Channel", "ID", "Can post", ""]);
                for c in &channels {
                    let mark = match c.can_post {
                        im_core::probe::Verdict::Pass => "✓",
                        im_core::probe::Verdict::Fail => "✗",
                        im_core::probe::Verdict::Unknown => "?",
                    };
                    table.add_row([format!("#{}", c.name), c.id.clone(), mark.to_string(), c.detail.clone()]);
                }
                println!("{table}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::InteractTest {
            name,
            timeout,
            local,
            url,
        } => {
            let sender = send::Sender::new(clients);
            let timeout = timeout.clamp(1, 3600);
            let (message, nonce) = sender.post_test_button(&name, timeout).await?;
            println!(
                "Posted a test button in {} of `{name}`; waiting {timeout} s for a click…",
                message.channel
            );
            if local {
                let provider = sender
                    .directory
                    .provider(&name)
                    .await?
                    .ok_or_else(|| Failure(format!("provider `{name}` not found")))?;
                let secrets = im_core::directory::ProviderSource::secrets(&sender.directory, &provider).await?;
                let status = interact::click(&http_client()?, &url, &provider, &secrets, &message, &nonce).await?;
                println!("  simulated a signed click: HTTP {status}");
            }
            let clicked = sender
                .wait_for_click(&name, &nonce, std::time::Duration::from_secs(timeout))
                .await?;
            let _ = sender.remove_message(&name, &message).await;
            if clicked {
                println!("✓ Interactive elements work: a click arrived and passed verification");
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "✗ No verified click within {timeout} s: check the Interactivity Request URL (…/chatops/<platform>/{name}), \
                     its signing secret, and `im chatops webhooks --recent 10` for refused requests"
                );
                Ok(ExitCode::FAILURE)
            }
        }
        Chatops::TestNotifications { provider } => {
            let probes = send::Sender::new(clients).test_notifications(&provider).await?;
            for probe in &probes {
                println!("{}", probe.line());
            }
            let failed = probes.iter().any(|p| p.verdict == im_core::probe::Verdict::Fail);
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Chatops::Health { provider, output, json } => {
            let sender = send::Sender::new(clients);
            let names = match provider {
                Some(name) => vec![name],
                None => sender.directory.list().await?.into_iter().map(|p| p.name).collect(),
            };
            let mut all = serde_json::Map::new();
            let mut failed = false;
            for name in &names {
                let probes = sender.health(name).await?;
                failed |= probes.iter().any(|p| p.verdict == im_core::probe::Verdict::Fail);
                if cli::wants_json(output, json) {
                    all.insert(name.clone(), serde_json::to_value(&probes)?);
                } else {
                    println!("{name}");
                    for probe in &probes {
                        println!("  {}", probe.line());
                    }
                }
            }
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&all)?);
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Chatops::Webhooks { recent, output, json } => {
            let log = im_aws::usage::DynamoUsage::new(clients.clone());
            let records = log
                .recent_requests(time::OffsetDateTime::now_utc().date(), recent.clamp(1, 1000))
                .await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else if records.is_empty() {
                println!("No requests in the last 7 days.");
            } else {
                let mut table = comfy_table::Table::new();
                table
                    .load_preset(comfy_table::presets::NOTHING)
                    .set_header(["Time", "Provider", "Kind", "Status", "Verdict", "Latency"]);
                for r in &records {
                    table.add_row([
                        r.at.clone(),
                        r.provider.clone(),
                        r.kind.clone(),
                        r.status.to_string(),
                        r.verdict.clone(),
                        format!("{} ms", r.latency_ms),
                    ]);
                }
                println!("{table}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Status { output, json } => {
            let rows = send::Sender::new(clients).status().await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("No providers yet. Add one with `im chatops add slack <name>`.");
            } else {
                let mut table = comfy_table::Table::new();
                table
                    .load_preset(comfy_table::presets::NOTHING)
                    .set_header(["Provider", "Platform", "Status", "Channels", "Inbound", "Requests"]);
                for r in &rows {
                    let text = |k: &str| r[k].as_str().map(str::to_string).unwrap_or_else(|| r[k].to_string());
                    let platform = if r["platform_available"] == true {
                        text("platform")
                    } else {
                        format!("{} (not available yet)", text("platform"))
                    };
                    let seen = if r["requests_seen"] == true {
                        "seen"
                    } else {
                        "not seen yet"
                    };
                    table.add_row([
                        text("provider"),
                        platform,
                        text("status"),
                        text("channels"),
                        text("inbound"),
                        seen.to_string(),
                    ]);
                }
                println!("{table}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Chatops::Test { name, output, json } => {
            let probes = send::Sender::new(clients).test(&name).await?;
            if cli::wants_json(output, json) {
                println!("{}", serde_json::to_string_pretty(&probes)?);
            } else {
                for probe in &probes {
                    println!("{}", probe.line());
                }
            }
            let failed = probes.iter().any(|p| p.verdict == im_core::probe::Verdict::Fail);
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Chatops::Notify { name, incident } => {
            let (sent, stored) = send::Sender::new(clients).notify(&name, &incident).await?;
            if !stored {
                println!("{incident} is not a stored incident: sent a card marked TEST (nothing stored)");
            }
            finish_sends(&sent)
        }
        Chatops::Message { name, text } => {
            let sent = send::Sender::new(clients).message(&name, &text).await?;
            finish_sends(&[sent])
        }
        Chatops::Broadcast { text } => {
            let sent = send::Sender::new(clients)
                .broadcast(&text, |s| println!("{}", s.line()))
                .await?;
            let failed = sent.iter().filter(|s| s.result.is_err()).count();
            println!("{} of {} providers reached", sent.len() - failed, sent.len());
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Chatops::RegisterCommands { provider, guild } => {
            let record = directory
                .store()
                .get_provider(&provider)
                .await?
                .ok_or_else(|| Failure(format!("provider `{provider}` not found (see `im chatops list`)")))?;
            if record.platform != Platform::DISCORD {
                return Err(Failure(format!(
                    "`{provider}` is a {} provider; commands are registered for Discord providers",
                    record.platform
                )));
            }
            let line = register_discord(clients.config(), &directory, &record, guild.as_deref()).await;
            println!("{line}");
            Ok(if line.starts_with('✓') {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Chatops::TestCommands { target: t, all } => {
            let record = directory
                .store()
                .get_provider(&t.provider)
                .await?
                .ok_or_else(|| Failure(format!("provider `{}` not found (see `im chatops list`)", t.provider)))?;
            let base = t.url.clone().unwrap_or_else(|| "http://127.0.0.1:3000".into());
            let (url, checks_for) = if record.platform == Platform::DISCORD {
                let url = if base.contains("/chatops/") {
                    base.clone()
                } else {
                    format!("{}/chatops/discord/{}", base.trim_end_matches('/'), record.name)
                };
                (url, None)
            } else {
                let target = target(&directory, &t).await?;
                (target.url.clone(), Some(target))
            };
            let full = all || signed::is_local(&url);
            println!(
                "Testing {url} ({})",
                if full {
                    "full lifecycle"
                } else {
                    "read-only + one [TEST] incident; --all for everything"
                }
            );
            let checks = match checks_for {
                Some(target) => test_commands::run(&http_client()?, &target, full).await,
                None => {
                    let local = hex::encode(im_discord::verify::local_signing_key().verifying_key().to_bytes());
                    if record.config.platform_key("public_key") != Some(local.as_str()) {
                        return Err(Failure(format!(
                            "`{}` trusts Discord's own key, which only Discord can sign with: send /im help in the server \
                             instead (test-commands signs Discord interactions with the local key pair, for local providers)",
                            record.name
                        )));
                    }
                    let target = test_commands::DiscordTarget {
                        url,
                        application_id: record
                            .config
                            .platform_key("application_id")
                            .unwrap_or_default()
                            .to_string(),
                        guild_id: record.config.platform_key("guild_id").map(str::to_string),
                        channel: record.config.default_channel.clone().unwrap_or_else(|| "800100".into()),
                        user: "100000000000000002".into(),
                    };
                    test_commands::run_discord(&http_client()?, &target, full).await
                }
            };
            for check in &checks {
                println!("{}", check.line());
            }
            let failed = checks.iter().filter(|c| !c.ok).count();
            println!("{} passed, {failed} failed", checks.len() - failed);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_list_reads_like_the_documentation() {
        let mut slack = im_core::memory::provider(
            "company-slack",
            "slack",
            json!({"default_channel": "C1",
            "notification_channels": {"SEV-1": "C2", "SEV-2": "C3", "SEV-3": "C4", "SEV-4": "C5"}}),
        );
        slack.status = ProviderStatus::Active;
        let mut discord = im_core::memory::provider("dev-discord", "discord", json!({"default_channel": "1"}));
        discord.status = ProviderStatus::Inactive;
        let table = providers_table(&[slack, discord]);
        let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(
            lines,
            vec![
                vec!["Provider", "Platform", "Status", "Channels"],
                vec!["company-slack", "slack", "active", "5"],
                vec!["dev-discord", "discord", "inactive", "1"],
            ]
        );
        let header = table.lines().next().expect("header");
        let row = table.lines().nth(1).expect("row");
        assert_eq!(header.find("Platform"), row.rfind("slack"), "columns line up:\n{table}");
    }
}
