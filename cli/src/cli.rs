//! Command-line interface definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "im",
    version,
    about = "Incident management ChatOps: providers, local stack, local server"
)]
pub struct Cli {
    /// Read configuration (TABLE_NAME, AWS_ENDPOINT_URL …) from this file before the environment;
    /// `make dev` writes `.local/dev.env`.
    #[arg(long, global = true, env = "IM_ENV_FILE")]
    pub env_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Top,
}

#[derive(Debug, Subcommand)]
pub enum Top {
    /// Run every webhook, the REST API, the pollers and /dashboard locally, against the AWS
    /// endpoint in AWS_ENDPOINT_URL.
    ///
    /// Example: CHATOPS_DEBUG=true im serve --addr 127.0.0.1:3000 --platform-sink
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Manage chat providers and exercise them.
    #[command(subcommand)]
    Chatops(Chatops),
    /// Local stack helpers (the emulator must be running).
    #[command(subcommand)]
    Local(Local),
    /// An incident's timeline, or without one the newest entries across incidents (through an
    /// index by day, up to 30 days back).
    ///
    /// Examples:
    ///   im timeline --source chatops --limit 20
    ///   im timeline INC-2026-001
    ///   im timeline --source slack:company-slack --output json
    #[command(verbatim_doc_comment)]
    Timeline {
        /// An incident id (INC-2026-001).
        incident: Option<String>,
        /// chatops, api, sla, system (event types), a platform (slack) or platform:provider.
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// How the bot understands a mention: the parse as one JSON object (intent, entities,
    /// confidence, the question it would ask, and the rule that decided). Services are the
    /// providers' `services` (from the stack when it is reachable) unless --services is given.
    ///
    /// Examples:
    ///   im nlu "how many SEV-1 incidents this week?"
    ///   im nlu --services payments,checkout "who is on call for paymnts"
    #[command(verbatim_doc_comment)]
    Nlu {
        /// The sentence (quote it, or pass it as several words).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// Known services, comma-separated (instead of the providers' lists).
        #[arg(long, value_delimiter = ',')]
        services: Option<Vec<String>>,
    },
    /// On-call rotations: who "who is on call for …" names, per service.
    #[command(subcommand)]
    Oncall(Oncall),
    /// Who may do what: roles of chat identities (<provider>:<user-id>), default roles, a
    /// policy file, and what the gate would answer.
    #[command(subcommand)]
    Rbac(Rbac),
    /// Teams: who owns which services, their members and channel.
    #[command(subcommand)]
    Team(TeamCommand),
    /// A chat user's personal data: export it, or forget them.
    #[command(subcommand)]
    Privacy(Privacy),
    /// The audit partition of a day (UTC): refusals without an incident, access changes,
    /// privacy requests.
    ///
    /// Example: im audit --date 2026-12-02 --json
    #[command(verbatim_doc_comment)]
    Audit {
        /// A date, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    ///
    /// Example: im completions bash > /etc/bash_completion.d/im
    #[command(verbatim_doc_comment)]
    Completions { shell: clap_complete::Shell },
    /// Print a sample event from events/ addressed to a local provider and signed now, for
    /// `cargo lambda invoke --data-file` (Slack: its signing secret; Discord: the local key).
    ///
    /// Example: im sign-event demo events/slack/slash-help.json > /tmp/help.json
    #[command(verbatim_doc_comment)]
    SignEvent {
        /// The provider the event is for.
        provider: String,
        /// An API Gateway event, e.g. events/slack/slash-help.json.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum Oncall {
    /// Set (or replace) a service's rotation; overrides are kept.
    ///
    /// Example: im oncall set payments --participants slack:U0ANN,slack:U0BOB --handoff 09:00 --shift-hours 168 --timezone Europe/Berlin --start 2026-11-30
    #[command(verbatim_doc_comment)]
    Set {
        service: String,
        /// Chat identities in order (slack:U123, discord:80351110224678912).
        #[arg(long, value_delimiter = ',', required = true)]
        participants: Vec<String>,
        /// Local handoff time.
        #[arg(long, default_value = "09:00")]
        handoff: String,
        /// Shift length in hours (168 weekly, 24 daily).
        #[arg(long, default_value_t = 168)]
        shift_hours: u32,
        /// IANA time zone of the handoff.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Local date of the first handoff (default: today in that zone).
        #[arg(long)]
        start: Option<String>,
    },
    /// Who is on call for a service now (or at --at), and the rotation.
    ///
    /// Example: im oncall show payments --at 2026-12-24T20:00:00Z
    #[command(verbatim_doc_comment)]
    Show {
        service: String,
        /// An RFC 3339 instant.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Put someone on call instead of the rotation for a period.
    ///
    /// Example: im oncall override payments --user slack:U0DAN --from 2026-12-24T18:00:00Z --to 2026-12-26T09:00:00Z
    #[command(verbatim_doc_comment)]
    Override {
        service: String,
        #[arg(long)]
        user: String,
        /// RFC 3339 start.
        #[arg(long)]
        from: String,
        /// RFC 3339 end.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Add or replace a team: the services it owns (a service has one owning team), its members
    /// (chat identities, optionally with a name) and its channel (the weekly summary of its
    /// services goes there). Assignee menus of its services' incidents offer its members.
    ///
    /// Example: im team set payments --services payments,checkout --members slack:U0ANN=Ann,slack:U0BOB=Bob --channel company-slack:C0PAYMENTS
    #[command(verbatim_doc_comment)]
    Set {
        name: String,
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
        /// <provider>:<channel-id>
        #[arg(long)]
        channel: Option<String>,
    },
    /// Every team.
    ///
    /// Example: im team list --json
    #[command(verbatim_doc_comment)]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a team (its services' assignee menus offer anyone again).
    ///
    /// Example: im team remove payments
    #[command(verbatim_doc_comment)]
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum Privacy {
    /// Everything stored about a chat user, as JSON: incidents they have a role in, timeline
    /// and audit entries by or about them, role mappings, context, identity checks, on-call.
    ///
    /// Example: im privacy export --user slack:U0123ABCD > alice.json
    #[command(verbatim_doc_comment)]
    Export {
        /// <platform>:<user-id>
        #[arg(long)]
        user: String,
    },
    /// Pseudonymise a chat user in incidents and timelines and remove their role mappings,
    /// context, questions, identity checks and on-call places (asks first; --yes without a
    /// terminal).
    ///
    /// Example: im privacy forget --user slack:U0123ABCD --yes
    #[command(verbatim_doc_comment)]
    Forget {
        #[arg(long)]
        user: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Rbac {
    /// Give a chat identity a role (and say which person or automation it is).
    ///
    /// Examples:
    ///   im rbac set company-slack:U0123ABCD commander --person alice
    ///   im rbac set ops-discord:80351110224678912 responder --person alice
    ///   im rbac set company-slack:B0DEPLOY responder --automation deploy-bot
    #[command(verbatim_doc_comment)]
    Set {
        /// <provider>:<user-id>
        identity: String,
        /// viewer, responder, commander or admin.
        role: String,
        /// The person behind the identity (links their identities across providers).
        #[arg(long, conflicts_with = "automation")]
        person: Option<String>,
        /// A service account: the automation this identity is (no identity check, no declare limit).
        #[arg(long)]
        automation: Option<String>,
    },
    /// Remove an identity's mapping (it then has the provider's default role).
    ///
    /// Example: im rbac remove company-slack:U0123ABCD
    #[command(verbatim_doc_comment)]
    Remove { identity: String },
    /// Every mapping and each provider's default role.
    ///
    /// Example: im rbac list --provider company-slack
    #[command(verbatim_doc_comment)]
    List {
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The role of people a provider has no mapping for.
    ///
    /// Example: im rbac default company-slack viewer
    #[command(verbatim_doc_comment)]
    Default { provider: String, role: String },
    /// Whether an identity may run a command (here), as the webhooks would decide it: policy
    /// endpoint, identity check with the platform, channel rules, origin provider.
    ///
    /// Example: im rbac check company-slack:U0123ABCD close --channel C0INCIDENTS --incident INC-2026-014
    #[command(verbatim_doc_comment)]
    Check {
        identity: String,
        /// A command (close, ack, declare …), `downgrade`, or `custom:<name>`.
        command: String,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        incident: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Apply a policy file kept in a repository: {"<provider>": {<rbac>}, …}, each replacing
    /// that provider's policy as a whole (all checked before any is written).
    ///
    /// Example: im rbac apply infra/rbac.json
    #[command(verbatim_doc_comment)]
    Apply { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "IM_LISTEN")]
    pub addr: String,
    /// Print notifications here instead of calling Slack and Discord (local stand-ins for their APIs).
    #[arg(long, alias = "slack-sink", env = "IM_PLATFORM_SINK")]
    pub platform_sink: bool,
    /// How often the SLA monitor runs (seconds).
    #[arg(long, default_value_t = 60, env = "IM_SLA_TICK_SECONDS")]
    pub sla_tick: u64,
}

#[derive(Debug, Subcommand)]
pub enum Local {
    /// Create the table and queues declared in template.yaml under a stack name.
    ///
    /// Example: AWS_ENDPOINT_URL=http://127.0.0.1:4566 im local bootstrap --stack im-dev --env-file .local/dev.env
    #[command(verbatim_doc_comment)]
    Bootstrap {
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        #[arg(long, default_value = "im-dev", env = "IM_STACK")]
        stack: String,
        /// Write the environment for `im serve` (TABLE_NAME, queue URLs …) to this file.
        #[arg(long)]
        env_file: Option<PathBuf>,
    },
    /// Local stand-ins for Slack's and Discord's APIs that print what would have been posted
    /// (point SLACK_API_URL and DISCORD_API_URL at the addresses it prints).
    ///
    /// Example: im local sink --addr 127.0.0.1:9010
    #[command(verbatim_doc_comment)]
    Sink {
        #[arg(long, default_value = "127.0.0.1:9010")]
        addr: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// `--output json`, or its alias `--json`.
pub fn wants_json(output: Output, json: bool) -> bool {
    json || output == Output::Json
}

#[derive(Debug, Subcommand)]
pub enum Chatops {
    /// Add a provider; without --config, asks on the terminal (secrets are not shown).
    ///
    /// Examples:
    ///   im chatops add slack company-slack
    ///   im chatops add slack company-slack --config '{"bot_token": "xoxb-…", "default_channel": "C123"}'
    ///   im chatops add discord team-discord --config @discord.yaml
    ///   pass show slack | im chatops add slack company-slack --config -
    #[command(verbatim_doc_comment)]
    Add {
        /// slack, teams, discord or mattermost
        platform: String,
        name: String,
        /// Configuration: inline JSON, @file.json, @file.yaml, or - (standard input). Secret keys
        /// (bot_token, signing_secret …) go to Secrets Manager, the rest to the provider record.
        #[arg(long)]
        config: Option<String>,
    },
    /// Usage of the period: most used commands by team, time to acknowledge, answer time of
    /// buttons, delivery success, channel activity, mention intents, engagement.
    /// Example: `im chatops stats --since 30d --output json`
    Stats {
        /// How far back: `7d`, `24h`, `2w` (whole days, today included).
        #[arg(long, default_value = "7d")]
        since: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// List providers: Provider, Platform, Status, Channels.
    ///
    /// Example: im chatops list --output json
    #[command(verbatim_doc_comment)]
    List {
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// Merge configuration into a provider: objects merge key by key (changing SEV-1 keeps
    /// SEV-2), `null` removes a key, secret keys update the secret.
    ///
    /// Example: im chatops update production-slack --config '{"notification_channels": {"SEV-1": "C_NEW"}}'
    #[command(verbatim_doc_comment)]
    Update {
        name: String,
        /// Inline JSON, @file.json, @file.yaml or - (standard input).
        #[arg(long)]
        config: Option<String>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
    },
    /// Remove a provider and its secret (asks first; without a terminal, pass --yes).
    ///
    /// Example: im chatops remove production-slack --yes
    #[command(verbatim_doc_comment)]
    Remove {
        name: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show a provider's configuration (secrets redacted: key names only) and the resolved
    /// routing: which channels each severity, an SLA breach and a resolution reach.
    ///
    /// Example: im chatops config --provider company-slack
    #[command(verbatim_doc_comment)]
    Config {
        #[arg(long)]
        provider: String,
    },
    /// The channels the bot can see, and whether it can post in each.
    ///
    /// Example: im chatops channels --provider company-slack
    #[command(verbatim_doc_comment)]
    Channels {
        #[arg(long)]
        provider: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// Post a test button to the provider's default channel and wait for a verified click
    /// (signature, tenant, RBAC: the path every real click takes). --local clicks it itself.
    ///
    /// Examples:
    ///   im chatops interact-test company-slack --timeout 120
    ///   im chatops interact-test demo --local
    #[command(verbatim_doc_comment)]
    InteractTest {
        name: String,
        /// Seconds to wait for the click.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Simulate the platform's signed click against the local server (--url).
        #[arg(long)]
        local: bool,
        /// The server to send the simulated click to.
        #[arg(long, env = "IM_URL", default_value = "http://127.0.0.1:3000")]
        url: String,
    },
    /// A TEST card in each channel the provider routes to: posted, edited, deleted; one line
    /// per channel; exits non-zero on any ✗.
    ///
    /// Example: im chatops test-notifications --provider company-slack
    #[command(verbatim_doc_comment)]
    TestNotifications {
        #[arg(long)]
        provider: String,
    },
    /// Health of one provider (or all): credentials, last delivery and the week's deliveries,
    /// dead letters waiting, delivery backlog; exits non-zero on any ✗.
    ///
    /// Example: im chatops health --provider company-slack
    #[command(verbatim_doc_comment)]
    Health {
        #[arg(long)]
        provider: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// The last inbound requests: time, provider, kind, verdict, latency (never a body; kept
    /// 7 days).
    ///
    /// Example: im chatops webhooks --recent 10
    #[command(verbatim_doc_comment)]
    Webhooks {
        #[arg(long, default_value_t = 10)]
        recent: usize,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// Every provider at a glance: status, channels, whether inbound requests can be verified,
    /// whether any have arrived.
    ///
    /// Example: im chatops status
    #[command(verbatim_doc_comment)]
    Status {
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// Check a provider through its platform's API: one ✓/✗/? line each (connection, bot
    /// permissions, default channel, slash commands); exits non-zero on any ✗.
    ///
    /// Example: im chatops test company-slack
    #[command(verbatim_doc_comment)]
    Test {
        name: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// Send an incident's card to the channels a change of it would reach (untracked copies;
    /// recorded on its timeline as chatops.notify). An id that is not stored sends a card marked
    /// TEST to the default channel and stores nothing.
    ///
    /// Example: im chatops notify company-slack INC-12345
    #[command(verbatim_doc_comment)]
    Notify { name: String, incident: String },
    /// Send a plain-text message to a provider's default channel.
    ///
    /// Example: im chatops message production-slack "System maintenance starting in 10 minutes"
    #[command(verbatim_doc_comment)]
    Message { name: String, text: String },
    /// Send a plain-text message to every active provider's default channel at once; one line
    /// per provider as it completes; exits non-zero if any failed.
    ///
    /// Example: im chatops broadcast "Planned maintenance window: 2AM-4AM EST"
    #[command(verbatim_doc_comment)]
    Broadcast { text: String },
    /// Send one signed slash command to a provider's endpoint and print the reply.
    ///
    /// Example: im chatops slash --provider demo --url http://127.0.0.1:3000 declare --sev SEV-2 "Payment processing down"
    #[command(verbatim_doc_comment)]
    Slash {
        #[command(flatten)]
        target: Target,
        /// The command text, e.g. declare "Database down" --sev SEV-2
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Register `/im` with Discord for a provider (bulk overwrite: safe to run again).
    ///
    /// Example: im chatops register-commands team-discord --guild 123456789012345678
    #[command(name = "register-commands", verbatim_doc_comment)]
    RegisterCommands {
        /// The Discord provider.
        provider: String,
        /// Register in this server only (instant); defaults to the provider's guild_id, else global.
        #[arg(long)]
        guild: Option<String>,
    },
    /// Deliveries that could not be made: list them with their reasons, or replay them.
    #[command(subcommand)]
    Dlq(Dlq),
    /// Send signed sample commands to a provider's endpoint and print ✓/✗ for each.
    ///
    /// Example: im chatops test-commands --provider company-slack --url https://api.example.com
    #[command(verbatim_doc_comment)]
    TestCommands {
        #[command(flatten)]
        target: Target,
        /// Against a non-local URL, also run the state-changing commands beyond one [TEST] incident.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Dlq {
    /// Show dead-lettered deliveries (job, channel, attempts, reason).
    ///
    /// Example: im chatops dlq list --output json
    #[command(verbatim_doc_comment)]
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Same as `--output json`.
        #[arg(long)]
        json: bool,
    },
    /// Send dead-lettered deliveries back to the deliveries queue with a fresh retry budget.
    ///
    /// Example: im chatops dlq redrive --max 100
    #[command(verbatim_doc_comment)]
    Redrive {
        #[arg(long, default_value_t = 1000)]
        max: usize,
    },
}

#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Provider name.
    #[arg(long)]
    pub provider: String,
    /// Endpoint base URL (default: the local server, http://127.0.0.1:3000).
    #[arg(long, env = "IM_URL")]
    pub url: Option<String>,
    /// Slack user id to act as.
    #[arg(long, default_value = "U0IMCLI")]
    pub user: String,
    /// Slack channel id to act in.
    #[arg(long, default_value = "C0IMCLI")]
    pub channel: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command a person runs shows an example in its `--help`.
    #[test]
    fn every_command_help_shows_an_example() {
        fn walk(command: &mut clap::Command, path: String, missing: &mut Vec<String>) {
            let mut subcommands: Vec<clap::Command> = command.get_subcommands().cloned().collect();
            if subcommands.is_empty() {
                let help = command.render_long_help().to_string();
                if !help.contains("Example") {
                    missing.push(path);
                }
                return;
            }
            for sub in &mut subcommands {
                let name = format!("{path} {}", sub.get_name());
                walk(sub, name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&mut super::Cli::command(), "im".into(), &mut missing);
        assert!(missing.is_empty(), "no example in: {missing:?}");
    }
}
