//! Logging: JSON lines in Lambda (CloudWatch), compact text locally.
//! `RUST_LOG` sets the filter; `CHATOPS_DEBUG=true` turns on debug logging for our crates.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let debug = std::env::var("CHATOPS_DEBUG").is_ok_and(|v| v == "true" || v == "1");
    let default = if debug {
        "info,im=debug,im_core=debug,im_aws=debug,slack_webhook=debug"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder.json().without_time().try_init()
    } else {
        builder.compact().try_init()
    };
    // Already initialised (tests, or a host that set its own): keep that one.
    let _ = result;
}

/// For tests: output goes through the test harness's capture (shown only for failing tests).
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_test_writer()
        .compact()
        .try_init();
}
