//! Checking the peer's descriptions against the offer/answer rules and reading the
//! negotiated result off them.

use std::collections::HashSet;

use crate::error::{Error, Incompatibility, ProtocolViolation};
use crate::limits::MAX_TRANSCEIVERS;
use crate::media::{self, Transceiver, TransceiverId};
use crate::model::{MediaDescription, MediaKind, Mid, SessionDescription, Setup};
use crate::negotiation::Config;
use crate::negotiation::plan::{Plan, Section, SectionContent};
use crate::negotiation::summary::{
    DtlsRole, IceRole, MaxMessageSize, Negotiated, NegotiatedDataChannel, TransportParameters,
};

/// What applying a remote description decided.
#[derive(Debug, Clone)]
pub(crate) struct RemoteAnalysis {
    /// For an offer: the plan of our answer. For an answer: our offer's plan with the
    /// sections the answer rejected marked rejected.
    pub(crate) plan: Plan,
    /// The section whose ICE/DTLS parameters carry the one transport.
    pub(crate) transport_index: Option<usize>,
    /// The peer's `a=setup` for the transport (section-level, else session-level).
    pub(crate) remote_setup: Option<Setup>,
    /// The peer changed its ICE credentials.
    pub(crate) ice_restart: bool,
    /// Sections refused because [`MAX_TRANSCEIVERS`] transceivers exist.
    pub(crate) refused_sections: u64,
}

/// Structural checks every remote description must pass.
pub(crate) fn validate(sdp: &SessionDescription) -> Result<(), Error> {
    let mut mids = HashSet::new();
    for media in &sdp.media {
        if let Some(mid) = &media.mid
            && !mids.insert(mid)
        {
            return Err(Error::Protocol(ProtocolViolation::DuplicateMid(
                mid.clone(),
            )));
        }
    }
    for group in &sdp.groups {
        for mid in &group.mids {
            if !mids.contains(mid) {
                return Err(Error::Protocol(ProtocolViolation::UnknownBundleMid(
                    mid.clone(),
                )));
            }
        }
    }
    Ok(())
}

fn rejected(media: &MediaDescription) -> SectionContent {
    SectionContent::Rejected {
        kind: media.kind.clone(),
        proto: media.proto.clone(),
        formats: media.formats.clone(),
    }
}

/// The transport section's checks: credentials, a verifiable fingerprint, a usable
/// setup.
fn check_transport(
    sdp: &SessionDescription,
    index: usize,
    is_answer: bool,
) -> Result<Option<Setup>, Error> {
    let media = &sdp.media[index];
    if sdp.ice_credentials_for(media).is_none() {
        return Err(Error::Protocol(ProtocolViolation::MissingIceCredentials {
            index,
        }));
    }
    let fingerprints = sdp.fingerprints_for(media);
    if fingerprints.is_empty() {
        return Err(Error::Protocol(ProtocolViolation::MissingFingerprint {
            index,
        }));
    }
    if !fingerprints.iter().any(|f| f.algorithm.is_verifiable()) {
        return Err(Error::Incompatible(Incompatibility::NoSupportedFingerprint));
    }
    let setup = sdp.setup_for(media);
    match setup {
        Some(Setup::Holdconn) => Err(Error::Incompatible(Incompatibility::SetupHoldconn)),
        Some(Setup::Actpass) if is_answer => {
            Err(Error::Protocol(ProtocolViolation::AnswerSetupActpass))
        }
        _ => Ok(setup),
    }
}

fn restarted(
    sdp: &SessionDescription,
    index: Option<usize>,
    negotiated: Option<&Negotiated>,
) -> bool {
    let (Some(index), Some(transport)) = (index, negotiated.and_then(|n| n.transport.as_ref()))
    else {
        return false;
    };
    sdp.ice_credentials_for(&sdp.media[index])
        .is_some_and(|remote| remote != transport.remote_ice)
}

/// How a remote offer's media section gets its transceiver.
enum Binding {
    Existing(TransceiverId),
    New(MediaKind, Mid),
}

/// Decides our answer to a remote offer (JSEP §5.3.1, §5.10): one data section, the
/// audio/video sections we share a codec with, everything else rejected; only bundled
/// sections (or, without BUNDLE, only the first usable one) since we run one transport.
#[allow(clippy::too_many_lines)] // one decision per m-line, in JSEP's order
pub(crate) fn analyse_offer(
    sdp: &SessionDescription,
    config: &Config,
    current: &Plan,
    negotiated: Option<&Negotiated>,
    transceivers: &mut Vec<Transceiver>,
) -> Result<RemoteAnalysis, Error> {
    if sdp.media.len() < current.sections.len() {
        return Err(Error::Protocol(ProtocolViolation::SectionsRemoved {
            negotiated: current.sections.len(),
            offered: sdp.media.len(),
        }));
    }
    for (index, (section, media)) in current.sections.iter().zip(&sdp.media).enumerate() {
        let recycled = matches!(section.content, SectionContent::Rejected { .. });
        if !recycled && section.mid != media.mid {
            return Err(Error::Protocol(ProtocolViolation::SectionMismatch {
                index,
            }));
        }
    }
    let group = sdp.bundle_group();
    let mut plan = Plan::default();
    let mut bindings: Vec<(usize, Binding)> = Vec::new();
    let mut claimed: HashSet<TransceiverId> = HashSet::new();
    let mut data_taken = false;
    let mut accepted_unbundled = false;
    let mut new_transceivers = 0usize;
    let mut refused_sections = 0u64;
    for (index, media) in sdp.media.iter().enumerate() {
        let eligible = !media.is_rejected()
            && match group {
                Some(group) => media.mid.as_ref().is_some_and(|m| group.contains(m)),
                None => !accepted_unbundled,
            };
        let existing = current.sections.get(index);
        let content = if !eligible {
            rejected(media)
        } else if media.is_data_channel() && !data_taken {
            data_taken = true;
            SectionContent::Data {
                proto: media.proto.clone(),
                legacy: media.proto == crate::model::Proto::DtlsSctp,
            }
        } else if matches!(media.kind, MediaKind::Audio | MediaKind::Video)
            && media.proto.is_dtls_srtp()
            && media::has_common_codec(media, &config.media)
        {
            let bound = match existing.map(|s| &s.content) {
                Some(SectionContent::Media { transceiver, .. }) => Some(*transceiver),
                _ => transceivers
                    .iter()
                    .find(|t| {
                        !t.is_stopped()
                            && t.kind() == &media.kind
                            && !current.has_transceiver(t.id())
                            && !claimed.contains(&t.id())
                    })
                    .map(Transceiver::id),
            };
            match bound {
                Some(id)
                    if transceivers.get(id.0 as usize).is_some_and(|t| {
                        t.is_stopped() || !media::shares_codec(media, t.codecs(&config.media))
                    }) =>
                {
                    rejected(media)
                }
                Some(id) => {
                    claimed.insert(id);
                    bindings.push((index, Binding::Existing(id)));
                    SectionContent::Media {
                        transceiver: id,
                        kind: media.kind.clone(),
                    }
                }
                None if transceivers.len() + new_transceivers >= MAX_TRANSCEIVERS => {
                    // A peer that keeps recycling sections cannot grow our transceiver
                    // list without bound: the section is refused.
                    refused_sections += 1;
                    rejected(media)
                }
                None => {
                    let id = TransceiverId((transceivers.len() + new_transceivers) as u32);
                    new_transceivers += 1;
                    let Some(mid) = media.mid.clone() else {
                        return Err(Error::Protocol(ProtocolViolation::MissingMid { index }));
                    };
                    bindings.push((index, Binding::New(media.kind.clone(), mid)));
                    SectionContent::Media {
                        transceiver: id,
                        kind: media.kind.clone(),
                    }
                }
            }
        } else {
            rejected(media)
        };
        let accepted = !matches!(content, SectionContent::Rejected { .. });
        if accepted {
            if media.mid.is_none() {
                return Err(Error::Protocol(ProtocolViolation::MissingMid { index }));
            }
            if group.is_none() {
                accepted_unbundled = true;
            }
        }
        plan.sections.push(Section {
            mid: media.mid.clone(),
            content,
        });
    }
    let transport_index = transport_index(sdp, &plan, group);
    let remote_setup = match transport_index {
        Some(index) => check_transport(sdp, index, false)?,
        None => None,
    };
    let ice_restart = restarted(sdp, transport_index, negotiated);
    // Nothing fails past this point: bind transceivers.
    for (index, binding) in bindings {
        match binding {
            Binding::Existing(id) => {
                if let Some(transceiver) = transceivers.get_mut(id.0 as usize) {
                    transceiver.mid.clone_from(&sdp.media[index].mid);
                }
            }
            Binding::New(kind, mid) => {
                let id = TransceiverId(transceivers.len() as u32);
                transceivers.push(Transceiver::for_remote_offer(id, kind, mid));
            }
        }
    }
    plan.local_is_offerer = false;
    Ok(RemoteAnalysis {
        plan,
        transport_index,
        remote_setup,
        ice_restart,
        refused_sections,
    })
}

/// The first accepted section in BUNDLE order (the BUNDLE tag), or the only accepted
/// section without BUNDLE.
fn transport_index(sdp: &SessionDescription, plan: &Plan, group: Option<&[Mid]>) -> Option<usize> {
    let accepted = |index: usize| {
        plan.sections
            .get(index)
            .is_some_and(|s| !matches!(s.content, SectionContent::Rejected { .. }))
    };
    match group {
        Some(group) => group
            .iter()
            .filter_map(|mid| sdp.media_by_mid(mid).map(|(i, _)| i))
            .find(|&i| accepted(i)),
        None => (0..sdp.media.len()).find(|&i| accepted(i)),
    }
}

/// Checks a remote answer against our offer (RFC 3264 §6, RFC 9143 §7.3).
pub(crate) fn analyse_answer(
    sdp: &SessionDescription,
    offer: &SessionDescription,
    offer_plan: &Plan,
    config: &Config,
    negotiated: Option<&Negotiated>,
    transceivers: &mut [Transceiver],
) -> Result<RemoteAnalysis, Error> {
    if sdp.media.len() != offer.media.len() {
        return Err(Error::Protocol(ProtocolViolation::SectionCount {
            offered: offer.media.len(),
            answered: sdp.media.len(),
        }));
    }
    let mut plan = offer_plan.clone();
    for (index, (answer, offered)) in sdp.media.iter().zip(&offer.media).enumerate() {
        if answer.kind != offered.kind
            || (offered.mid.is_some() && answer.mid.is_some() && answer.mid != offered.mid)
        {
            return Err(Error::Protocol(ProtocolViolation::SectionMismatch {
                index,
            }));
        }
        if offered.is_rejected() && answer.port != 0 {
            return Err(Error::Protocol(ProtocolViolation::AcceptsRejected {
                index,
            }));
        }
        let Some(section) = plan.sections.get_mut(index) else {
            continue;
        };
        let no_codec = matches!(section.content, SectionContent::Media { .. })
            && !media::has_common_codec(answer, &config.media);
        if answer.is_rejected() || no_codec {
            section.content = rejected(offered);
        }
    }
    let offered_group = offer.bundle_group().unwrap_or_default();
    let group = sdp.bundle_group().filter(|g| !g.is_empty());
    if let Some(group) = group {
        for mid in group {
            if !offered_group.contains(mid) {
                return Err(Error::Protocol(
                    ProtocolViolation::AnswerBundlesUnofferedMid(mid.clone()),
                ));
            }
        }
    }
    let accepted: Vec<usize> = plan
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| !matches!(s.content, SectionContent::Rejected { .. }))
        .map(|(i, _)| i)
        .collect();
    let transport_index = if let Some(group) = group {
        for &index in &accepted {
            if !plan.sections[index]
                .mid
                .as_ref()
                .is_some_and(|m| group.contains(m))
            {
                return Err(Error::Incompatible(Incompatibility::Unbundled));
            }
        }
        transport_index(sdp, &plan, Some(group))
    } else {
        if accepted.len() > 1 {
            return Err(Error::Incompatible(Incompatibility::Unbundled));
        }
        accepted.first().copied()
    };
    let remote_setup = match transport_index {
        Some(index) => check_transport(sdp, index, true)?,
        None => None,
    };
    let ice_restart = restarted(sdp, transport_index, negotiated);
    let _ = transceivers;
    Ok(RemoteAnalysis {
        plan,
        transport_index,
        remote_setup,
        ice_restart,
        refused_sections: 0,
    })
}

/// Our `a=setup` in an answer (RFC 8842 §5.2, §5.3): the opposite of an active or passive
/// offer; for `actpass`, the role we already have (a subsequent exchange keeps the DTLS
/// association) or else `active`. An offer without `a=setup` means `active` (RFC 4145
/// §4.1), so we answer `passive`.
pub(crate) fn answer_setup(offered: Option<Setup>, previous: Option<DtlsRole>) -> Setup {
    match offered {
        Some(Setup::Active) | None => Setup::Passive,
        Some(Setup::Passive) => Setup::Active,
        Some(Setup::Actpass | Setup::Holdconn) => match previous {
            Some(DtlsRole::Server) => Setup::Passive,
            Some(DtlsRole::Client) | None => Setup::Active,
        },
    }
}

pub(crate) struct SummaryInput<'a> {
    pub(crate) local: &'a SessionDescription,
    pub(crate) remote: &'a SessionDescription,
    pub(crate) plan: &'a Plan,
    pub(crate) analysis: &'a RemoteAnalysis,
    pub(crate) config: &'a Config,
    pub(crate) local_is_offerer: bool,
    pub(crate) previous_ice_role: Option<IceRole>,
    pub(crate) transceivers: &'a [Transceiver],
}

/// Reads the negotiated result off a matching local and remote description.
#[allow(clippy::too_many_lines)] // transport, data and media summaries in one pass
pub(crate) fn summarise(input: &SummaryInput<'_>) -> Result<Negotiated, Error> {
    let SummaryInput {
        local,
        remote,
        plan,
        analysis,
        config,
        local_is_offerer,
        previous_ice_role,
        transceivers,
    } = *input;
    let accepted: Vec<usize> = plan
        .sections
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            !matches!(s.content, SectionContent::Rejected { .. })
                && *i < local.media.len()
                && *i < remote.media.len()
        })
        .map(|(i, _)| i)
        .collect();
    let transport = match analysis.transport_index {
        Some(index) if index < remote.media.len() && index < local.media.len() => {
            let remote_media = &remote.media[index];
            let local_media = &local.media[index];
            let remote_ice = remote
                .ice_credentials_for(remote_media)
                .ok_or(Error::Protocol(ProtocolViolation::MissingIceCredentials {
                    index,
                }))?;
            let local_ice = local
                .ice_credentials_for(local_media)
                .unwrap_or_else(|| config.ice_credentials.clone());
            let dtls_role = if local_is_offerer {
                match analysis.remote_setup {
                    Some(Setup::Passive) => DtlsRole::Client,
                    _ => DtlsRole::Server,
                }
            } else {
                match local.setup_for(local_media) {
                    Some(Setup::Passive) => DtlsRole::Server,
                    _ => DtlsRole::Client,
                }
            };
            let ice_role = match (config.ice_lite, remote.ice_lite) {
                (false, true) => IceRole::Controlling,
                (true, false) => IceRole::Controlled,
                _ => previous_ice_role.unwrap_or(if local_is_offerer {
                    IceRole::Controlling
                } else {
                    IceRole::Controlled
                }),
            };
            let mut remote_candidates = Vec::new();
            let mut end_of_candidates = false;
            for &i in &accepted {
                let media = &remote.media[i];
                end_of_candidates |= media.end_of_candidates;
                for candidate in &media.candidates {
                    if candidate.component == 1 && !remote_candidates.contains(candidate) {
                        remote_candidates.push(candidate.clone());
                    }
                }
            }
            Some(TransportParameters {
                mid: remote_media
                    .mid
                    .clone()
                    .ok_or(Error::Protocol(ProtocolViolation::MissingMid { index }))?,
                bundle_mids: accepted
                    .iter()
                    .filter_map(|&i| plan.sections[i].mid.clone())
                    .collect(),
                local_ice,
                remote_ice,
                remote_ice_lite: remote.ice_lite,
                remote_trickle: remote.supports_trickle(remote_media),
                ice_role,
                remote_fingerprints: remote.fingerprints_for(remote_media).to_vec(),
                dtls_role,
                remote_candidates,
                remote_end_of_candidates: end_of_candidates,
            })
        }
        _ => None,
    };
    let mut data_channel = None;
    let mut negotiated_media = Vec::new();
    for &index in &accepted {
        let section = &plan.sections[index];
        let Some(mid) = section.mid.clone() else {
            continue;
        };
        match &section.content {
            SectionContent::Data { .. } if data_channel.is_none() => {
                let remote_media = &remote.media[index];
                data_channel = Some(NegotiatedDataChannel {
                    mid,
                    local_sctp_port: config.data_channel.sctp_port,
                    remote_sctp_port: remote_media.sctp_port_or_default(),
                    local_max_message_size: MaxMessageSize::from_attribute(Some(
                        config.data_channel.max_message_size,
                    )),
                    remote_max_message_size: MaxMessageSize::from_attribute(
                        remote_media.max_message_size,
                    ),
                });
            }
            SectionContent::Media { transceiver, .. } => {
                let answer = if local_is_offerer {
                    &remote.media[index]
                } else {
                    &local.media[index]
                };
                let answered = answer.direction.unwrap_or_default();
                let direction = if local_is_offerer {
                    answered.reversed()
                } else {
                    answered
                };
                if transceivers.get(transceiver.0 as usize).is_none() {
                    continue;
                }
                negotiated_media.push(media::negotiated_media(
                    mid,
                    *transceiver,
                    answer,
                    &remote.media[index],
                    direction,
                    &config.media,
                ));
            }
            _ => {}
        }
    }
    Ok(Negotiated {
        transport,
        data_channel,
        media: negotiated_media,
        ice_restart: analysis.ice_restart,
        provisional: false,
    })
}
