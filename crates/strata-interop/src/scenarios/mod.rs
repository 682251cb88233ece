//! Every interop scenario, in the order `cargo xtask interop` runs them.

use std::time::Duration;

use strata_interop::runner::{Requirement, Scenario};

mod chromium_datachannel;
mod chromium_datachannel_under_loss;
mod in_page_datachannel;
mod libdatachannel_echo;
mod media_call;
mod signal_demo_chat;

/// Pages the scenarios load, by name.
pub(crate) const PAGES: &[(&str, &str)] = &[
    ("camera_call", include_str!("../../pages/camera_call.html")),
    (
        "chromium_peer",
        include_str!("../../pages/chromium_peer.html"),
    ),
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
        run: signal_demo_chat::pages,
    },
    Scenario {
        name: "chromium_signal_demo_chat_after_server_restart",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(2),
        run: signal_demo_chat::pages_rejoin_after_server_restart,
    },
    Scenario {
        name: "chromium_signal_demo_chat_with_strata_chat",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(2),
        run: signal_demo_chat::pages_and_strata_chat,
    },
    Scenario {
        name: "chromium_signal_demo_chat_with_strata_transport",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(2),
        run: signal_demo_chat::pages_and_strata_mesh_chat,
    },
    Scenario {
        name: "chromium_offers_strata_answers_trickle",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(1),
        run: chromium_datachannel::chromium_offers_trickle,
    },
    Scenario {
        name: "chromium_offers_strata_answers_non_trickle",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(1),
        run: chromium_datachannel::chromium_offers_non_trickle,
    },
    Scenario {
        name: "strata_offers_chromium_answers_trickle",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(1),
        run: chromium_datachannel::strata_offers_trickle,
    },
    Scenario {
        name: "strata_offers_chromium_answers_non_trickle",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(1),
        run: chromium_datachannel::strata_offers_non_trickle,
    },
    Scenario {
        name: "chromium_offers_strata_answers_under_loss",
        needs: &[Requirement::Chromium],
        timeout: Duration::from_mins(2),
        run: chromium_datachannel_under_loss::chromium_offers,
    },
    Scenario {
        name: "chromium_camera_echoed_by_strata_reflect",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(1),
        run: media_call::reflect_echoes_chromium,
    },
    Scenario {
        name: "chromium_adds_video_mid_call",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(1),
        run: media_call::chromium_adds_video_mid_call,
    },
    Scenario {
        name: "chromium_and_strata_recover_video_losses_with_nack",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(2),
        run: media_call::reflect_recovers_losses_both_ways,
    },
    Scenario {
        name: "strata_play_from_disk_to_chromium",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(1),
        run: media_call::play_from_disk_to_chromium,
    },
    Scenario {
        name: "chromium_camera_recorded_by_strata",
        needs: &[Requirement::Chromium, Requirement::StrataExamples],
        timeout: Duration::from_mins(1),
        run: media_call::chromium_camera_recorded_by_strata,
    },
    Scenario {
        name: "libdatachannel_echo",
        needs: &[Requirement::NodeDatachannel, Requirement::StrataExamples],
        timeout: Duration::from_mins(2),
        run: libdatachannel_echo::run,
    },
];
