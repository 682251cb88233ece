//! `strata-interop [--list] [FILTER...]`: runs the interop scenarios whose names contain
//! any FILTER (all when none is given) and prints a table. Exits non-zero when a scenario
//! fails or when the filters select nothing.

use std::process::ExitCode;

use strata_interop::runner;

mod scenarios;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for scenario in scenarios::ALL {
            println!("{}", scenario.name);
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<_> = scenarios::ALL
        .iter()
        .filter(|s| args.is_empty() || args.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    if selected.is_empty() {
        eprintln!("no interop scenario matches {args:?}; `--list` shows them");
        return ExitCode::FAILURE;
    }
    match runner::run_all(&selected) {
        Ok(outcomes) => {
            print!("{}", runner::table(&outcomes));
            if outcomes.iter().all(|o| o.result.is_ok()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("interop: cannot prepare scenarios: {error:#}");
            ExitCode::FAILURE
        }
    }
}
