//! Interop harness for Strata: real peers we did not write, run against Strata in a
//! private network namespace, each scenario reporting a verdict.
//!
//! A [`runner::Scenario`] runs on a thread of its own that first moves into a fresh
//! network namespace holding only `lo` ([`netns`]); the tokio runtime, every socket and
//! every browser started from there share that namespace. Browser scenarios start a
//! [`Browser`] — a [`page::PageServer`] on `127.0.0.1` plus a headless [`chromium`] — open
//! pages that import `/harness.js`, exchange JSON with them, and wait for their verdicts.
//!
//! Scenarios with peers that are programs of their own — libdatachannel through
//! [`node_datachannel`], Strata's `offer` and `answer` examples through
//! [`example_binaries`] — run them as [`piped_peer::PipedPeer`]s that speak JSON-line
//! signaling on stdin and stdout.
//!
//! `cargo xtask interop [FILTER]` runs every scenario and prints a table of results.

pub mod chromium;
pub mod coturn;
pub mod example_binaries;
pub mod netns;
pub mod node_datachannel;
pub mod page;
pub mod piped_peer;
pub mod runner;

mod browser;
mod log_tail;

pub use browser::Browser;
