//! Every interop scenario, in the order `cargo xtask interop` runs them.

use std::time::Duration;

use strata_interop::runner::{Requirement, Scenario};

mod in_page_datachannel;
mod libdatachannel_echo;
mod signal_demo_chat;

/// Pages the scenarios load, by name.
pub(crate) const PAGES: &[(&str, &str)] = &[
    (
        "in_page_datachannel",
        include_str!("../../pages/in_page_datachannel.html"),
    ),
    (
        "signal_demo_chat",
        include_str!("../../pages/signal_demo_chat.html"),
    ),
];

pub(crate) const ALL: &[Scenario] = &[
    Scenario {
        name: "chromium_in_page_datachannel",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(1),
        run: in_page_datachannel::run,
    },
    Scenario {
        name: "chromium_signal_demo_chat",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(1),
        run: signal_demo_chat::run,
    },
    Scenario {
        name: "libdatachannel_echo",
        needs: &[Requirement::NodeDatachannel, Requirement::StrataExamples],
        timeout: Duration::from_mins(2),
        run: libdatachannel_echo::run,
    },
];
