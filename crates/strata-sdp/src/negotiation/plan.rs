//! The m-line plan: which section carries what, and rendering a plan into an offer or
//! an answer.

use crate::candidate::{Candidate, CandidateAddress, CandidateTransport, CandidateType};
use crate::media::{self, Transceiver, TransceiverId};
use crate::model::{
    ConnectionData, Group, IceCredentials, MediaDescription, MediaKind, Mid, MsidSemantic, Origin,
    Proto, SctpMap, SessionDescription, Setup,
};
use crate::negotiation::Config;

/// What one m-line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SectionContent {
    /// The data channel section; `legacy` for `DTLS/SCTP <port>` + `a=sctpmap`.
    Data { proto: Proto, legacy: bool },
    /// An audio/video section bound to a transceiver; `offered` is the direction our
    /// last description of it stated.
    Media {
        transceiver: TransceiverId,
        kind: MediaKind,
    },
    /// A rejected section (port 0), kept so indices stay stable and its slot can be
    /// recycled.
    Rejected {
        kind: MediaKind,
        proto: Proto,
        formats: Vec<String>,
    },
}

/// One m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) mid: Option<Mid>,
    pub(crate) content: SectionContent,
}

/// The m-lines of a negotiation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub(crate) sections: Vec<Section>,
    /// Whether we were the offerer of the exchange that produced this plan.
    pub(crate) local_is_offerer: bool,
}

impl Plan {
    pub(crate) fn has_data(&self) -> bool {
        self.sections
            .iter()
            .any(|s| matches!(s.content, SectionContent::Data { .. }))
    }

    pub(crate) fn has_transceiver(&self, id: TransceiverId) -> bool {
        self.sections.iter().any(
            |s| matches!(s.content, SectionContent::Media { transceiver, .. } if transceiver == id),
        )
    }

    pub(crate) fn transceiver_needs_negotiation(&self, transceiver: &Transceiver) -> bool {
        let negotiated = self.has_transceiver(transceiver.id());
        if transceiver.is_stopped() {
            return negotiated;
        }
        !negotiated || transceiver.negotiated_wish != Some(transceiver.direction())
    }

    fn used_mids<'a>(&'a self, transceivers: &'a [Transceiver]) -> impl Iterator<Item = &'a Mid> {
        self.sections
            .iter()
            .filter_map(|s| s.mid.as_ref())
            .chain(transceivers.iter().filter_map(Transceiver::mid))
    }

    /// The smallest non-negative integer not used as a mid yet (JSEP §5.2.2: a recycled
    /// section gets a new mid).
    fn fresh_mid(&self, transceivers: &[Transceiver]) -> Mid {
        let mut n: u32 = 0;
        loop {
            let candidate = n.to_string();
            if !self
                .used_mids(transceivers)
                .any(|m| m.as_str() == candidate)
            {
                return Mid::numeric(n);
            }
            n += 1;
        }
    }

    /// Places `section` in the first rejected slot (recycling it, JSEP §5.2.2) or at the
    /// end.
    fn place(&mut self, section: Section) {
        if let Some(slot) = self
            .sections
            .iter_mut()
            .find(|s| matches!(s.content, SectionContent::Rejected { .. }))
        {
            *slot = section;
        } else {
            self.sections.push(section);
        }
    }

    /// The plan of a new offer built on this (negotiated) plan.
    pub(crate) fn offer_plan(&self, data_wanted: bool, transceivers: &mut [Transceiver]) -> Plan {
        let mut plan = self.clone();
        plan.local_is_offerer = true;
        for section in &mut plan.sections {
            if let SectionContent::Media { transceiver, kind } = &section.content
                && transceivers
                    .get(transceiver.0 as usize)
                    .is_none_or(Transceiver::is_stopped)
            {
                section.content = SectionContent::Rejected {
                    kind: kind.clone(),
                    proto: Proto::UdpTlsRtpSavpf,
                    formats: Vec::new(),
                };
            }
        }
        if data_wanted && !plan.has_data() {
            let mid = plan.fresh_mid(transceivers);
            plan.place(Section {
                mid: Some(mid),
                content: SectionContent::Data {
                    proto: Proto::UdpDtlsSctp,
                    legacy: false,
                },
            });
        }
        for index in 0..transceivers.len() {
            let transceiver = &transceivers[index];
            if transceiver.is_stopped() || plan.has_transceiver(transceiver.id()) {
                continue;
            }
            // Keep a mid a previous unapplied offer gave it, unless another section took it.
            let mid = match transceiver.mid() {
                Some(mid) if !plan.sections.iter().any(|s| s.mid.as_ref() == Some(mid)) => {
                    mid.clone()
                }
                _ => {
                    let others: Vec<Transceiver> = transceivers
                        .iter()
                        .filter(|t| t.id() != transceivers[index].id())
                        .cloned()
                        .collect();
                    plan.fresh_mid(&others)
                }
            };
            let transceiver = &mut transceivers[index];
            transceiver.mid = Some(mid.clone());
            plan.place(Section {
                mid: Some(mid),
                content: SectionContent::Media {
                    transceiver: transceiver.id(),
                    kind: transceiver.kind().clone(),
                },
            });
        }
        plan
    }

    /// After an exchange completed with this plan: transceivers learn their mids;
    /// those whose section was rejected are stopped; mids of unapplied offers are
    /// released.
    pub(crate) fn sync_transceivers(&self, transceivers: &mut [Transceiver]) {
        for transceiver in transceivers.iter_mut() {
            if let Some(section) = self.sections.iter().find(|s| {
                matches!(s.content, SectionContent::Media { transceiver: id, .. } if id == transceiver.id())
            }) {
                transceiver.mid.clone_from(&section.mid);
                continue;
            }
            let rejected = transceiver.mid().is_some_and(|mid| {
                self.sections.iter().any(|s| {
                    s.mid.as_ref() == Some(mid)
                        && matches!(s.content, SectionContent::Rejected { .. })
                })
            });
            if rejected {
                transceiver.stopped = true;
                transceiver.current_direction = None;
            } else if transceiver.mid().is_some() {
                transceiver.mid = None;
            }
        }
    }
}

/// What rendering a description needs.
pub(crate) struct RenderInput<'a> {
    pub(crate) config: &'a Config,
    pub(crate) plan: &'a Plan,
    pub(crate) credentials: &'a IceCredentials,
    pub(crate) version: u64,
    /// `None` for an offer (`actpass`); our role's value for an answer.
    pub(crate) setup_for_answer: Option<Setup>,
    /// The offer being answered.
    pub(crate) remote_offer: Option<&'a SessionDescription>,
    /// For an offer: the peer's current description, whose header extension ids the
    /// offer keeps (the BUNDLE shares one id space, and peers refuse reassignments).
    pub(crate) negotiated: Option<&'a SessionDescription>,
    pub(crate) transceivers: &'a [Transceiver],
}

fn transport_attributes(media: &mut MediaDescription, input: &RenderInput<'_>) {
    media.connections = vec![ConnectionData::placeholder()];
    media.ice_ufrag = Some(input.credentials.ufrag.clone());
    media.ice_pwd = Some(input.credentials.pwd.clone());
    if input.config.trickle {
        media.ice_options = vec!["trickle".to_owned()];
    }
    media.fingerprints.clone_from(&input.config.fingerprints);
    media.setup = Some(input.setup_for_answer.unwrap_or(Setup::Actpass));
}

/// Renders `input.plan` as an offer (no `remote_offer`) or as an answer to
/// `remote_offer`.
#[allow(clippy::too_many_lines)] // one arm per section kind
pub(crate) fn render(input: &RenderInput<'_>) -> SessionDescription {
    let mut sdp = SessionDescription::new(Origin::new(input.config.session_id, input.version));
    sdp.ice_lite = input.config.ice_lite;
    let offered = |index: usize| input.remote_offer.and_then(|offer| offer.media.get(index));
    let mut has_media = false;
    for (index, section) in input.plan.sections.iter().enumerate() {
        let mut media = match &section.content {
            SectionContent::Rejected {
                kind,
                proto,
                formats,
            } => {
                let mut formats = formats.clone();
                if formats.is_empty() {
                    formats.push(
                        match kind {
                            MediaKind::Application => "webrtc-datachannel",
                            _ => "0",
                        }
                        .to_owned(),
                    );
                }
                MediaDescription::new(kind.clone(), 0, proto.clone(), formats)
            }
            SectionContent::Data { proto, legacy } => {
                let port = input.config.data_channel.sctp_port;
                let format = if *legacy {
                    port.to_string()
                } else {
                    "webrtc-datachannel".to_owned()
                };
                let mut media =
                    MediaDescription::new(MediaKind::Application, 9, proto.clone(), vec![format]);
                transport_attributes(&mut media, input);
                if *legacy {
                    media.sctpmap = Some(SctpMap {
                        port,
                        app: "webrtc-datachannel".to_owned(),
                        streams: Some(1024),
                    });
                } else {
                    media.sctp_port = Some(port);
                }
                media.max_message_size = Some(input.config.data_channel.max_message_size);
                media
            }
            SectionContent::Media { transceiver, kind } => {
                has_media = true;
                let proto = offered(index).map_or(Proto::UdpTlsRtpSavpf, |o| o.proto.clone());
                let mut media = MediaDescription::new(kind.clone(), 9, proto, Vec::new());
                transport_attributes(&mut media, input);
                if let Some(transceiver) = input.transceivers.get(transceiver.0 as usize) {
                    if let Some(offer_section) = offered(index) {
                        media::fill_answer_section(
                            &mut media,
                            offer_section,
                            transceiver,
                            &input.config.media,
                        );
                    } else {
                        let in_use: Vec<_> = input
                            .negotiated
                            .iter()
                            .flat_map(|remote| &remote.media)
                            .flat_map(|section| &section.extmaps)
                            .cloned()
                            .collect();
                        media::fill_offer_section(
                            &mut media,
                            transceiver,
                            &input.config.media,
                            &in_use,
                        );
                    }
                }
                if media.formats.is_empty() {
                    media.formats.push("0".to_owned());
                }
                media
            }
        };
        media.mid.clone_from(&section.mid);
        sdp.media.push(media);
    }
    let accepted: Vec<Mid> = input
        .plan
        .sections
        .iter()
        .filter(|s| !matches!(s.content, SectionContent::Rejected { .. }))
        .filter_map(|s| s.mid.clone())
        .collect();
    let bundle = match input.remote_offer {
        None => Some(accepted),
        Some(offer) => offer.bundle_group().map(|group| {
            group
                .iter()
                .filter(|mid| accepted.contains(mid))
                .cloned()
                .collect()
        }),
    };
    if let Some(mids) = bundle
        && !mids.is_empty()
    {
        sdp.groups.push(Group {
            semantics: "BUNDLE".to_owned(),
            mids,
        });
    }
    if has_media {
        sdp.msid_semantics.push(MsidSemantic {
            semantic: "WMS".to_owned(),
            identifiers: vec!["*".to_owned()],
        });
    }
    sdp
}

/// The candidate JSEP §5.2.1 puts in `m=`/`c=`: relay first, then server reflexive, then
/// host, UDP before TCP, highest priority; never an mDNS name.
fn default_candidate(candidates: &[Candidate]) -> Option<&Candidate> {
    let rank = |c: &Candidate| {
        let kind = match c.kind {
            CandidateType::Relay => 3,
            CandidateType::ServerReflexive => 2,
            CandidateType::PeerReflexive => 1,
            CandidateType::Host => 0,
        };
        (kind, c.transport == CandidateTransport::Udp, c.priority)
    };
    candidates
        .iter()
        .filter(|c| matches!(c.address, CandidateAddress::Ip(_)))
        .max_by_key(|c| rank(c))
}

/// `sdp` with `candidates` in every accepted section, `a=end-of-candidates` when
/// `complete`, and the default candidate in `m=`/`c=`.
pub(crate) fn with_candidates(
    sdp: &SessionDescription,
    candidates: &[Candidate],
    complete: bool,
) -> SessionDescription {
    let mut sdp = sdp.clone();
    let default = default_candidate(candidates);
    for media in sdp.media.iter_mut().filter(|m| !m.is_rejected()) {
        media.candidates = candidates.to_vec();
        media.end_of_candidates = complete;
        if let Some(candidate) = default
            && let CandidateAddress::Ip(ip) = candidate.address
        {
            media.port = candidate.port;
            media.connections = vec![ConnectionData {
                network_type: "IN".to_owned(),
                address_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
                address: ip.to_string(),
            }];
        }
    }
    sdp
}

/// `sdp` without candidates and with the placeholder port and address: the form
/// `create_*` returned, for comparing what the caller passes back.
pub(crate) fn without_candidates(sdp: &SessionDescription) -> SessionDescription {
    let mut sdp = sdp.clone();
    for media in &mut sdp.media {
        media.candidates.clear();
        media.end_of_candidates = false;
        if !media.is_rejected() && media.port != 0 {
            media.port = 9;
            media.connections = vec![ConnectionData::placeholder()];
        }
    }
    sdp
}

/// The ICE credentials of the first accepted section of a local description.
pub(crate) fn section_credentials(sdp: &SessionDescription, plan: &Plan) -> Option<IceCredentials> {
    plan.sections
        .iter()
        .zip(&sdp.media)
        .find(|(s, _)| !matches!(s.content, SectionContent::Rejected { .. }))
        .and_then(|(_, media)| sdp.ice_credentials_for(media))
}
