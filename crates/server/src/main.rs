//! `aqueduct` — see `aqueduct --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Several TLS users (database drivers, later the AWS SDK) link rustls;
    // pick the provider once, first thing (see STACK.md, trap 1).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = aqueduct_server::cli::Cli::parse();
    let config = match cli.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("aqueduct: configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aqueduct: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Trace export sends from the runtime, so it starts inside it and
    // stops (flushing what is buffered) after the command has finished.
    let traces = {
        let _inside = runtime.enter();
        aqueduct_server::telemetry::init(&config.log, &config.otel)
    };
    let outcome = runtime.block_on(aqueduct_server::cli::run(cli, config));
    if let Some(traces) = traces {
        traces.shutdown();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "command failed");
            eprintln!("aqueduct: {e:#}");
            ExitCode::FAILURE
        }
    }
}
