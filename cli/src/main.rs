use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    im_aws::telemetry::init();
    let cli = im::cli::Cli::parse();
    match im::run(cli).await {
        Ok(code) => code,
        Err(im::Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
