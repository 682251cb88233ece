//! Runs scenarios one after another, each isolated and time-limited, and prints the table.

use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::example_binaries::{self, ExampleBinaries};
use crate::node_datachannel::{self, NodeDatachannel};
use crate::{chromium, netns};

/// What a scenario's body returns: a one-line summary of what it measured.
pub type ScenarioFuture = Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>>;

/// An external peer a scenario needs; prepared (found or installed) before isolation,
/// while the machine's network is still reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Headless Chromium.
    Chromium,
    /// libdatachannel through the `node-datachannel` npm package (node installed with
    /// apt-get and the package with npm when missing).
    NodeDatachannel,
    /// Strata's `offer`, `answer` and `chat` example binaries, built with Cargo.
    StrataExamples,
}

/// One interop scenario.
pub struct Scenario {
    /// Short `snake_case` name, shown in the table and matched by filters.
    pub name: &'static str,
    /// External peers it needs.
    pub needs: &'static [Requirement],
    /// Upper bound on its run time, setup included.
    pub timeout: Duration,
    /// The body, run inside a private network namespace.
    pub run: fn(Env) -> ScenarioFuture,
}

/// Resources prepared for scenarios before they are isolated.
#[derive(Debug, Clone, Default)]
pub struct Env {
    chromium: Option<PathBuf>,
    node_datachannel: Option<NodeDatachannel>,
    examples: Option<ExampleBinaries>,
}

impl Env {
    /// Path to the Chromium binary; present when the scenario declared
    /// [`Requirement::Chromium`].
    pub fn chromium(&self) -> anyhow::Result<&std::path::Path> {
        self.chromium
            .as_deref()
            .context("scenario uses Chromium without declaring Requirement::Chromium")
    }

    /// The libdatachannel peer; present when the scenario declared
    /// [`Requirement::NodeDatachannel`].
    pub fn node_datachannel(&self) -> anyhow::Result<&NodeDatachannel> {
        self.node_datachannel.as_ref().context(
            "scenario uses node-datachannel without declaring Requirement::NodeDatachannel",
        )
    }

    /// The example binaries; present when the scenario declared
    /// [`Requirement::StrataExamples`].
    pub fn examples(&self) -> anyhow::Result<&ExampleBinaries> {
        self.examples.as_ref().context(
            "scenario uses the example binaries without declaring Requirement::StrataExamples",
        )
    }
}

/// The outcome of one scenario.
#[derive(Debug)]
pub struct Outcome {
    /// Scenario name.
    pub name: &'static str,
    /// Wall-clock time, setup included.
    pub elapsed: Duration,
    /// Its summary, or why it failed.
    pub result: anyhow::Result<String>,
}

/// Prepares what the selected scenarios need, runs them in order, and returns outcomes.
pub fn run_all(scenarios: &[&Scenario]) -> anyhow::Result<Vec<Outcome>> {
    let mut env = Env::default();
    let needed = |requirement| scenarios.iter().any(|s| s.needs.contains(&requirement));
    if needed(Requirement::Chromium) {
        env.chromium = Some(chromium::find_or_install()?);
    }
    if needed(Requirement::NodeDatachannel) {
        env.node_datachannel = Some(node_datachannel::find_or_install()?);
    }
    if needed(Requirement::StrataExamples) {
        env.examples = Some(example_binaries::build()?);
    }
    Ok(scenarios
        .iter()
        .map(|scenario| run_one(scenario, env.clone()))
        .collect())
}

fn run_one(scenario: &Scenario, env: Env) -> Outcome {
    let started = Instant::now();
    let body = scenario.run;
    let timeout = scenario.timeout;
    let result = std::thread::Builder::new()
        .name(format!("scenario-{}", scenario.name))
        .spawn(move || -> anyhow::Result<String> {
            netns::isolate_current_thread()?;
            // Built after isolation: its worker threads inherit the namespace.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let result = runtime.block_on(async move {
                tokio::time::timeout(timeout, body(env))
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after {timeout:?}")))
            });
            runtime.shutdown_timeout(Duration::from_secs(5));
            result
        })
        .map_err(anyhow::Error::from)
        .and_then(|thread| {
            thread.join().unwrap_or_else(|panic| {
                let reason = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("non-string panic payload");
                Err(anyhow::anyhow!("panicked: {reason}"))
            })
        });
    Outcome {
        name: scenario.name,
        elapsed: started.elapsed(),
        result,
    }
}

/// Formats outcomes as a table (scenario, result, time, detail) followed by the full
/// error of every failure.
pub fn table(outcomes: &[Outcome]) -> String {
    let width = outcomes
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!(
        "{:<width$}  {:<6}  {:>8}  detail\n",
        "scenario", "result", "time"
    );
    for outcome in outcomes {
        let (result, detail) = match &outcome.result {
            Ok(summary) => ("pass", summary.clone()),
            Err(error) => (
                "FAIL",
                error
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        };
        let secs = outcome.elapsed.as_secs_f64();
        let _ = writeln!(
            out,
            "{:<width$}  {result:<6}  {secs:>6.2} s  {detail}",
            outcome.name
        );
    }
    for outcome in outcomes {
        if let Err(error) = &outcome.result {
            let _ = write!(out, "\n--- {} failed ---\n{error:?}\n", outcome.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passing(_: Env) -> ScenarioFuture {
        Box::pin(async {
            // The body runs isolated: only loopback exists.
            let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
            Ok(format!("bound {}", socket.local_addr()?))
        })
    }

    fn failing(_: Env) -> ScenarioFuture {
        Box::pin(async { anyhow::bail!("the peer said no") })
    }

    fn hanging(_: Env) -> ScenarioFuture {
        Box::pin(std::future::pending())
    }

    fn panicking(_: Env) -> ScenarioFuture {
        Box::pin(async { panic!("bug in scenario") })
    }

    const fn scenario(name: &'static str, run: fn(Env) -> ScenarioFuture) -> Scenario {
        Scenario {
            name,
            needs: &[],
            timeout: Duration::from_millis(300),
            run,
        }
    }

    #[test]
    fn outcomes_report_pass_failure_timeout_and_panic() {
        let all = [
            scenario("passes", passing),
            scenario("fails", failing),
            scenario("hangs", hanging),
            scenario("panics", panicking),
        ];
        let outcomes = run_all(&all.iter().collect::<Vec<_>>()).unwrap();
        let results: Vec<_> = outcomes
            .iter()
            .map(|o| o.result.as_ref().map_err(ToString::to_string))
            .collect();
        assert!(results[0].as_ref().unwrap().starts_with("bound 127.0.0.1:"));
        assert_eq!(results[1].as_ref().unwrap_err(), "the peer said no");
        assert!(results[2].as_ref().unwrap_err().starts_with("timed out"));
        assert_eq!(
            results[3].as_ref().unwrap_err(),
            "panicked: bug in scenario"
        );

        let table = table(&outcomes);
        let rows: Vec<_> = table.lines().take(5).collect();
        assert!(rows[1].starts_with("passes") && rows[1].contains("pass"));
        assert!(rows[2].starts_with("fails") && rows[2].contains("FAIL"));
        assert!(table.contains("--- hangs failed ---"));
    }
}
