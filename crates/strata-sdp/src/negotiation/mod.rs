//! JSEP offer/answer (RFC 8829) and the signaling state machine.
//!
//! [`Negotiator`] holds one side of a peer connection's negotiation. It is a plain state
//! machine: every call takes its input and returns its result; it reads no clock, draws
//! no randomness (the session id and ICE credentials are inputs) and does no I/O.

use std::fmt;

use crate::candidate::{Candidate, TrickledCandidate};
use crate::error::{Error, Misuse, Operation};
use crate::limits::{
    MAX_CANDIDATES_PER_SECTION, MAX_LOCAL_CANDIDATES, MAX_QUEUED_REMOTE_CANDIDATES,
};
use crate::media::{MediaCapabilities, Transceiver, TransceiverId, TransceiverInit};
use crate::model::{Fingerprint, IceCredentials, SessionDescription};

mod plan;
mod remote;
mod summary;

pub use summary::{
    DtlsRole, IceRole, MaxMessageSize, Negotiated, NegotiatedDataChannel, TransportParameters,
};

use plan::Plan;
use remote::RemoteAnalysis;

/// The signaling state (W3C `RTCSignalingState`, RFC 8829 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalingState {
    /// No exchange in progress.
    Stable,
    /// We applied our offer and wait for an answer.
    HaveLocalOffer,
    /// We applied the peer's offer and owe an answer.
    HaveRemoteOffer,
    /// We applied our provisional answer.
    HaveLocalPranswer,
    /// We applied the peer's provisional answer.
    HaveRemotePranswer,
    /// The negotiator was closed; every call fails.
    Closed,
}

impl fmt::Display for SignalingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        })
    }
}

/// The type of a session description (W3C `RTCSdpType`, without `rollback`, which is
/// [`Negotiator::rollback`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
}

impl SdpType {
    /// `offer`, `pranswer` or `answer`, as in the JSON signaling format.
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
        }
    }

    /// From `offer`, `pranswer` or `answer`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "offer" => SdpType::Offer,
            "pranswer" => SdpType::Pranswer,
            "answer" => SdpType::Answer,
            _ => return None,
        })
    }
}

impl fmt::Display for SdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed session description: what `RTCSessionDescriptionInit` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Offer, pranswer or answer.
    pub kind: SdpType,
    /// The description.
    pub sdp: SessionDescription,
}

impl Description {
    /// Parses `text` as a description of type `kind`.
    pub fn parse(kind: SdpType, text: &str) -> Result<Self, Error> {
        Ok(Description {
            kind,
            sdp: SessionDescription::parse(text)?,
        })
    }

    /// The SDP text, CRLF line endings.
    pub fn to_sdp_string(&self) -> String {
        self.sdp.to_string()
    }
}

/// The data channel section's local parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannelConfig {
    /// `a=sctp-port` (5000, the value every browser uses).
    pub sctp_port: u16,
    /// `a=max-message-size` we accept (262144 = 256 KiB, as Chromium and libdatachannel
    /// advertise).
    pub max_message_size: u64,
}

impl Default for DataChannelConfig {
    fn default() -> Self {
        DataChannelConfig {
            sctp_port: 5000,
            max_message_size: 262_144,
        }
    }
}

/// The local parameters a [`Negotiator`] writes into its descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `o=` session id: a random number below 2^63 drawn by the caller (JSEP
    /// §5.2.1).
    pub session_id: u64,
    /// Our first ICE credentials (later ones come through [`Negotiator::restart_ice`]).
    pub ice_credentials: IceCredentials,
    /// Our certificate fingerprints (at least one).
    pub fingerprints: Vec<Fingerprint>,
    /// Announce `a=ice-options:trickle` (default true).
    pub trickle: bool,
    /// We are an ICE lite agent (default false).
    pub ice_lite: bool,
    /// The data channel section's parameters.
    pub data_channel: DataChannelConfig,
    /// The codecs and header extensions we offer and accept for audio and video.
    pub media: MediaCapabilities,
}

impl Config {
    /// A configuration with the defaults: trickle on, full ICE, SCTP port 5000,
    /// max-message-size 256 KiB, the default codecs.
    pub fn new(session_id: u64, ice_credentials: IceCredentials, fingerprint: Fingerprint) -> Self {
        Config {
            session_id: session_id & (u64::MAX >> 1),
            ice_credentials,
            fingerprints: vec![fingerprint],
            trickle: true,
            ice_lite: false,
            data_channel: DataChannelConfig::default(),
            media: MediaCapabilities::default(),
        }
    }
}

/// What [`Negotiator::set_local_description`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalApplied {
    /// The new signaling state.
    pub state: SignalingState,
    /// For an answer or pranswer: the completed exchange, for the layers below.
    pub negotiated: Option<Negotiated>,
}

/// What [`Negotiator::set_remote_description`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct RemoteApplied {
    /// The new signaling state.
    pub state: SignalingState,
    /// The peer's offer changed its ICE credentials: an ICE restart. Before answering,
    /// call [`Negotiator::restart_ice`] with fresh local credentials.
    pub ice_restart: bool,
    /// The offer arrived while our own offer was pending, so ours was rolled back first
    /// (W3C implicit rollback, as perfect negotiation's polite peer relies on).
    pub rolled_back_local_offer: bool,
    /// For an answer or pranswer: the completed exchange, for the layers below.
    pub negotiated: Option<Negotiated>,
}

/// What became of a trickled remote candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum CandidateOutcome {
    /// Hand it to the ICE agent now.
    Deliver(Candidate),
    /// The peer signalled end-of-candidates: tell the ICE agent now.
    EndOfCandidates,
    /// Held until the exchange completes: it will be in the next [`Negotiated`]'s
    /// `remote_candidates` (or its end-of-candidates flag).
    Held,
    /// Not for our transport (a rejected or unbundled section, or an older ICE
    /// generation): dropped and counted.
    Ignored,
}

/// Counters of what bounded queues dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NegotiatorStats {
    /// Remote candidates dropped: queue full, older ICE generation, unknown section.
    pub dropped_remote_candidates: u64,
    /// Local candidates dropped because [`MAX_LOCAL_CANDIDATES`] were already held.
    pub dropped_local_candidates: u64,
    /// Media sections of remote offers rejected because
    /// [`MAX_TRANSCEIVERS`](crate::limits::MAX_TRANSCEIVERS) transceivers existed.
    pub refused_media_sections: u64,
}

/// A remote description applied but not yet part of a completed exchange, with what it
/// will negotiate.
#[derive(Debug, Clone)]
struct PendingRemote {
    sdp: SessionDescription,
    analysis: RemoteAnalysis,
}

/// One side of JSEP offer/answer: builds offers and answers from local parameters,
/// applies the peer's, runs the signaling state machine, and summarises each completed
/// exchange as [`Negotiated`].
///
/// # Calling convention
///
/// Every method runs to completion and returns its result: there is no event queue to
/// drain and nothing happens between calls. The sequence is JSEP's:
///
/// - offerer: [`create_offer`](Self::create_offer) →
///   [`set_local_description`](Self::set_local_description) → send →
///   [`set_remote_description`](Self::set_remote_description) with the answer, which
///   returns the [`Negotiated`] summary;
/// - answerer: [`set_remote_description`](Self::set_remote_description) with the offer →
///   [`create_answer`](Self::create_answer) →
///   [`set_local_description`](Self::set_local_description), which returns the summary;
/// - trickle: [`add_local_candidate`](Self::add_local_candidate) /
///   [`local_candidates_complete`](Self::local_candidates_complete) as the ICE agent
///   gathers (then [`local_description`](Self::local_description) includes them, for
///   peers that do not trickle); [`add_remote_candidate`](Self::add_remote_candidate)
///   at any time, before or after the remote description;
/// - glare: [`set_remote_description`](Self::set_remote_description) with an offer in
///   `have-local-offer` rolls our offer back first (W3C implicit rollback);
///   [`rollback`](Self::rollback) does so explicitly;
///   [`set_local_description_implicit`](Self::set_local_description_implicit) is the
///   W3C no-argument `setLocalDescription()` perfect negotiation uses;
/// - when to negotiate: [`needs_negotiation`](Self::needs_negotiation) after
///   [`want_data_channel`](Self::want_data_channel),
///   [`add_transceiver`](Self::add_transceiver), direction changes, stops and
///   [`restart_ice`](Self::restart_ice).
///
/// The layers below take the summary's values as text or as the same enums:
/// [`Candidate`]'s `Display` is the `candidate:...` string ICE agents parse, a
/// [`Fingerprint`]'s `Display` is the `sha-256 AB:CD:...` form, and [`DtlsRole`] /
/// [`IceRole`] name the same roles as the DTLS and ICE adapters.
///
/// Calls made in the wrong state fail with [`Error::InvalidState`] and change nothing;
/// a remote description that fails to apply changes nothing either.
#[derive(Debug, Clone)]
pub struct Negotiator {
    config: Config,
    state: SignalingState,
    session_version: u64,
    local_ice: IceCredentials,
    restart_credentials: Option<IceCredentials>,
    current_local: Option<SessionDescription>,
    current_remote: Option<SessionDescription>,
    pending_local: Option<SessionDescription>,
    pending_remote: Option<PendingRemote>,
    created_offer: Option<(SessionDescription, Plan)>,
    created_answer: Option<(SessionDescription, Plan)>,
    pending_local_plan: Option<Plan>,
    plan: Plan,
    data_wanted: bool,
    transceivers: Vec<Transceiver>,
    local_candidates: Vec<Candidate>,
    local_candidates_complete: bool,
    queued_remote: Vec<TrickledCandidate>,
    negotiated: Option<Negotiated>,
    dtls_role: Option<DtlsRole>,
    ice_role: Option<IceRole>,
    stats: NegotiatorStats,
}

impl Negotiator {
    /// A negotiator in `stable` with nothing negotiated.
    pub fn new(config: Config) -> Result<Self, Error> {
        if config.fingerprints.is_empty() {
            return Err(Error::InvalidArgument(Misuse::NoFingerprint));
        }
        Ok(Negotiator {
            local_ice: config.ice_credentials.clone(),
            config,
            state: SignalingState::Stable,
            session_version: 1,
            restart_credentials: None,
            current_local: None,
            current_remote: None,
            pending_local: None,
            pending_remote: None,
            created_offer: None,
            created_answer: None,
            pending_local_plan: None,
            plan: Plan::default(),
            data_wanted: false,
            transceivers: Vec::new(),
            local_candidates: Vec::new(),
            local_candidates_complete: false,
            queued_remote: Vec::new(),
            negotiated: None,
            dtls_role: None,
            ice_role: None,
            stats: NegotiatorStats::default(),
        })
    }

    // ----- getters -----

    /// The signaling state.
    pub fn signaling_state(&self) -> SignalingState {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The last completed exchange's summary.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Our DTLS role, once an exchange has decided it.
    pub fn dtls_role(&self) -> Option<DtlsRole> {
        self.dtls_role
    }

    /// Our ICE role, once an exchange has decided it.
    pub fn ice_role(&self) -> Option<IceRole> {
        self.ice_role
    }

    /// Our ICE credentials in use (the pending restart's, once its description is
    /// applied).
    pub fn local_ice_credentials(&self) -> &IceCredentials {
        &self.local_ice
    }

    /// Drop counters of the bounded queues.
    pub fn stats(&self) -> NegotiatorStats {
        self.stats
    }

    /// The local description in effect (pending, else current), with the local
    /// candidates gathered so far and `a=end-of-candidates` once gathering completed:
    /// what to send to a peer that does not trickle.
    pub fn local_description(&self) -> Option<Description> {
        let (sdp, kind) = match (&self.pending_local, &self.current_local) {
            (Some(pending), _) => (
                pending,
                if self.state == SignalingState::HaveLocalPranswer {
                    SdpType::Pranswer
                } else {
                    SdpType::Offer
                },
            ),
            (None, Some(current)) => (current, self.current_local_type()),
            (None, None) => return None,
        };
        Some(Description {
            kind,
            sdp: plan::with_candidates(sdp, &self.local_candidates, self.local_candidates_complete),
        })
    }

    /// The remote description in effect (pending, else current), including candidates
    /// trickled into it.
    pub fn remote_description(&self) -> Option<Description> {
        if let Some(pending) = &self.pending_remote {
            let kind = match self.state {
                SignalingState::HaveRemotePranswer => SdpType::Pranswer,
                _ => SdpType::Offer,
            };
            return Some(Description {
                kind,
                sdp: pending.sdp.clone(),
            });
        }
        self.current_remote.as_ref().map(|sdp| Description {
            kind: if self.current_local_type() == SdpType::Offer {
                SdpType::Answer
            } else {
                SdpType::Offer
            },
            sdp: sdp.clone(),
        })
    }

    fn current_local_type(&self) -> SdpType {
        if self.plan.local_is_offerer {
            SdpType::Offer
        } else {
            SdpType::Answer
        }
    }

    /// Whether local changes wait for an offer/answer exchange (W3C "negotiation
    /// needed"): a data channel or transceiver not yet negotiated, a stopped
    /// transceiver still negotiated, or a pending ICE restart.
    pub fn needs_negotiation(&self) -> bool {
        if self.state == SignalingState::Closed {
            return false;
        }
        if self.restart_credentials.is_some() {
            return true;
        }
        if self.data_wanted && !self.plan.has_data() {
            return true;
        }
        self.transceivers
            .iter()
            .any(|t| self.plan.transceiver_needs_negotiation(t))
    }

    // ----- mutators -----

    /// Asks for a data channel section in the next offer (the first
    /// `createDataChannel`). Once negotiated it stays.
    pub fn want_data_channel(&mut self) {
        self.data_wanted = true;
    }

    /// Adds an audio or video transceiver; the next offer carries a section for it.
    ///
    /// At most [`MAX_TRANSCEIVERS`](crate::limits::MAX_TRANSCEIVERS) exist per negotiator
    /// (stopped ones included).
    pub fn add_transceiver(&mut self, init: TransceiverInit) -> Result<TransceiverId, Error> {
        if self.transceivers.len() >= crate::limits::MAX_TRANSCEIVERS {
            return Err(Error::InvalidArgument(Misuse::TooManyTransceivers));
        }
        let id = TransceiverId(self.transceivers.len() as u32);
        self.transceivers.push(Transceiver::new(id, init));
        Ok(id)
    }

    /// The transceivers, in creation order (including those the peer's offers created).
    pub fn transceivers(&self) -> &[Transceiver] {
        &self.transceivers
    }

    /// Changes a transceiver's direction; takes effect with the next exchange.
    pub fn set_transceiver_direction(
        &mut self,
        id: TransceiverId,
        direction: crate::model::Direction,
    ) -> Result<(), Error> {
        let transceiver = self.transceiver_mut(id)?;
        transceiver.direction = direction;
        Ok(())
    }

    /// Gives a transceiver a new local track (the W3C `addTrack` reusing a transceiver a
    /// remote offer created, or `replaceTrack` with new SSRCs); the kind must match.
    /// Takes effect with the next description.
    pub fn set_transceiver_track(
        &mut self,
        id: TransceiverId,
        init: TransceiverInit,
    ) -> Result<(), Error> {
        let transceiver = self.transceiver_mut(id)?;
        if transceiver.kind() != &init.kind {
            return Err(Error::InvalidArgument(Misuse::TransceiverKind));
        }
        transceiver.direction = init.direction;
        transceiver.replace_init(init);
        Ok(())
    }

    /// Sets the codecs a transceiver's sections carry, most preferred first (W3C
    /// `setCodecPreferences`): offers list only these, in this order; answers keep only
    /// these, in this order, and reject the section when the offer has none of them. Each
    /// must be one of the configured [`MediaCapabilities`] of
    /// the transceiver's kind; an empty list restores the default (all of them). Takes
    /// effect with the next description.
    pub fn set_codec_preferences(
        &mut self,
        id: TransceiverId,
        codecs: Vec<crate::media::Codec>,
    ) -> Result<(), Error> {
        let capabilities = match self.transceiver_mut(id)?.kind() {
            crate::model::MediaKind::Audio => &self.config.media.audio,
            crate::model::MediaKind::Video => &self.config.media.video,
            _ => return Err(Error::InvalidArgument(Misuse::UnknownCodec)),
        };
        if codecs.iter().any(|codec| !capabilities.contains(codec)) {
            return Err(Error::InvalidArgument(Misuse::UnknownCodec));
        }
        let transceiver = self.transceiver_mut(id)?;
        transceiver.codec_preferences = (!codecs.is_empty()).then_some(codecs);
        Ok(())
    }

    /// Stops a transceiver: the next offer or answer rejects its section, and the mid can
    /// then be recycled.
    pub fn stop_transceiver(&mut self, id: TransceiverId) -> Result<(), Error> {
        let transceiver = self.transceiver_mut(id)?;
        transceiver.stopped = true;
        Ok(())
    }

    fn transceiver_mut(&mut self, id: TransceiverId) -> Result<&mut Transceiver, Error> {
        self.transceivers
            .get_mut(id.0 as usize)
            .ok_or(Error::InvalidArgument(Misuse::UnknownTransceiver))
    }

    /// Starts an ICE restart with fresh local credentials: the next offer carries them,
    /// or, when the peer's offer restarted ICE, the answer does. Local candidates of the
    /// old generation are forgotten; add the new generation's as they are gathered.
    pub fn restart_ice(&mut self, credentials: IceCredentials) -> Result<(), Error> {
        self.check_open(Operation::CreateOffer)?;
        if credentials == self.local_ice {
            return Err(Error::InvalidArgument(Misuse::SameIceCredentials));
        }
        self.restart_credentials = Some(credentials);
        self.local_candidates.clear();
        self.local_candidates_complete = false;
        Ok(())
    }

    /// Whether an ICE restart asked for with [`restart_ice`](Self::restart_ice) waits for
    /// its exchange to complete: its credentials then also answer a restarting offer of
    /// the peer.
    pub fn ice_restart_pending(&self) -> bool {
        self.restart_credentials.is_some()
    }

    /// Records a gathered local candidate so that [`local_description`] includes it.
    ///
    /// [`local_description`]: Self::local_description
    pub fn add_local_candidate(&mut self, candidate: Candidate) -> Result<(), Error> {
        if candidate.component != 1 {
            return Err(Error::InvalidArgument(Misuse::CandidateComponent));
        }
        if self.local_candidates.len() >= MAX_LOCAL_CANDIDATES {
            self.stats.dropped_local_candidates += 1;
            return Ok(());
        }
        if !self.local_candidates.contains(&candidate) {
            self.local_candidates.push(candidate);
        }
        Ok(())
    }

    /// Records that local gathering completed: descriptions carry
    /// `a=end-of-candidates`.
    pub fn local_candidates_complete(&mut self) {
        self.local_candidates_complete = true;
    }

    /// Closes the negotiator; every later call fails with [`Error::InvalidState`].
    pub fn close(&mut self) {
        self.state = SignalingState::Closed;
        self.pending_local = None;
        self.pending_remote = None;
        self.queued_remote.clear();
    }

    fn check_open(&self, operation: Operation) -> Result<(), Error> {
        if self.state == SignalingState::Closed {
            return Err(Error::InvalidState {
                operation,
                state: SignalingState::Closed,
            });
        }
        Ok(())
    }

    fn invalid(&self, operation: Operation) -> Error {
        Error::InvalidState {
            operation,
            state: self.state,
        }
    }

    fn next_version(&mut self) -> u64 {
        self.session_version += 1;
        self.session_version
    }

    /// Creates an offer from the current local state (JSEP §5.2): every section
    /// negotiated so far, plus a data channel section if one is wanted, plus one per new
    /// transceiver. Allowed in `stable` and `have-local-offer`.
    pub fn create_offer(&mut self) -> Result<Description, Error> {
        self.check_open(Operation::CreateOffer)?;
        if !matches!(
            self.state,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(self.invalid(Operation::CreateOffer));
        }
        let plan = self
            .plan
            .offer_plan(self.data_wanted, &mut self.transceivers);
        let credentials = self
            .restart_credentials
            .clone()
            .unwrap_or_else(|| self.local_ice.clone());
        let version = self.next_version();
        let sdp = plan::render(&plan::RenderInput {
            config: &self.config,
            plan: &plan,
            credentials: &credentials,
            version,
            setup_for_answer: None,
            remote_offer: None,
            negotiated: self.current_remote.as_ref(),
            transceivers: &self.transceivers,
        });
        self.created_offer = Some((sdp.clone(), plan));
        Ok(Description {
            kind: SdpType::Offer,
            sdp,
        })
    }

    /// Creates an answer to the applied remote offer (JSEP §5.3). Allowed in
    /// `have-remote-offer` and `have-local-pranswer`.
    pub fn create_answer(&mut self) -> Result<Description, Error> {
        self.check_open(Operation::CreateAnswer)?;
        if !matches!(
            self.state,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(self.invalid(Operation::CreateAnswer));
        }
        let Some(pending) = &self.pending_remote else {
            return Err(self.invalid(Operation::CreateAnswer));
        };
        if pending.analysis.ice_restart && self.restart_credentials.is_none() {
            return Err(Error::InvalidArgument(Misuse::RestartNeedsCredentials));
        }
        // Only an offer restarts ICE (RFC 8839 §4.4.1.1): a restart we asked for waits for
        // our next offer unless the peer's offer restarts anyway.
        let credentials = match (&self.restart_credentials, pending.analysis.ice_restart) {
            (Some(fresh), true) => fresh.clone(),
            _ => self.local_ice.clone(),
        };
        let setup = remote::answer_setup(pending.analysis.remote_setup, self.dtls_role);
        let plan = pending.analysis.plan.clone();
        let version = self.session_version + 1;
        let sdp = plan::render(&plan::RenderInput {
            config: &self.config,
            plan: &plan,
            credentials: &credentials,
            version,
            setup_for_answer: Some(setup),
            remote_offer: Some(&pending.sdp),
            negotiated: None,
            transceivers: &self.transceivers,
        });
        self.session_version = version;
        self.created_answer = Some((sdp.clone(), plan));
        Ok(Description {
            kind: SdpType::Answer,
            sdp,
        })
    }

    /// Applies a description this negotiator created (an offer from
    /// [`create_offer`](Self::create_offer), an answer or pranswer from
    /// [`create_answer`](Self::create_answer)); candidates added to it since are
    /// ignored in the comparison.
    pub fn set_local_description(
        &mut self,
        description: &Description,
    ) -> Result<LocalApplied, Error> {
        let operation = match description.kind {
            SdpType::Offer => Operation::SetLocalOffer,
            SdpType::Pranswer => Operation::SetLocalPranswer,
            SdpType::Answer => Operation::SetLocalAnswer,
        };
        self.check_open(operation)?;
        let sdp = plan::without_candidates(&description.sdp);
        match description.kind {
            SdpType::Offer => {
                if !matches!(
                    self.state,
                    SignalingState::Stable | SignalingState::HaveLocalOffer
                ) {
                    return Err(self.invalid(operation));
                }
                let Some((created, plan)) = &self.created_offer else {
                    return Err(Error::InvalidArgument(Misuse::NotCreatedLocally));
                };
                if *created != sdp {
                    return Err(Error::InvalidArgument(Misuse::NotCreatedLocally));
                }
                self.pending_local_plan = Some(plan.clone());
                self.pending_local = Some(sdp);
                self.state = SignalingState::HaveLocalOffer;
                Ok(LocalApplied {
                    state: self.state,
                    negotiated: None,
                })
            }
            SdpType::Pranswer | SdpType::Answer => {
                if !matches!(
                    self.state,
                    SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
                ) {
                    return Err(self.invalid(operation));
                }
                let Some((created, plan)) = &self.created_answer else {
                    return Err(Error::InvalidArgument(Misuse::NotCreatedLocally));
                };
                if *created != sdp {
                    return Err(Error::InvalidArgument(Misuse::NotCreatedLocally));
                }
                let plan = plan.clone();
                let Some(pending) = self.pending_remote.take() else {
                    return Err(self.invalid(operation));
                };
                let provisional = description.kind == SdpType::Pranswer;
                let negotiated = match self.complete(
                    &sdp,
                    &pending.sdp,
                    &plan,
                    &pending.analysis,
                    false,
                    provisional,
                ) {
                    Ok(negotiated) => negotiated,
                    Err(error) => {
                        self.pending_remote = Some(pending);
                        return Err(error);
                    }
                };
                if provisional {
                    self.pending_local = Some(sdp);
                    self.pending_remote = Some(pending);
                    self.state = SignalingState::HaveLocalPranswer;
                } else {
                    self.current_local = Some(sdp);
                    self.current_remote = Some(pending.sdp);
                    self.pending_local = None;
                    self.pending_remote = None;
                    self.plan = plan;
                    self.created_answer = None;
                    self.state = SignalingState::Stable;
                }
                Ok(LocalApplied {
                    state: self.state,
                    negotiated: Some(negotiated),
                })
            }
        }
    }

    /// W3C `setLocalDescription()` without arguments: creates and applies an offer in
    /// `stable` or `have-local-offer`, an answer in `have-remote-offer` or
    /// `have-local-pranswer`. Returns what was applied (send its SDP to the peer) and
    /// the result.
    pub fn set_local_description_implicit(&mut self) -> Result<(Description, LocalApplied), Error> {
        let description = match self.state {
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer => {
                self.create_answer()?
            }
            _ => self.create_offer()?,
        };
        let applied = self.set_local_description(&description)?;
        Ok((description, applied))
    }

    /// Applies the peer's description. An offer is allowed in `stable` and
    /// `have-remote-offer`, and in `have-local-offer` after an implicit rollback of our
    /// offer; an answer or pranswer in `have-local-offer` and `have-remote-pranswer`.
    /// On error nothing changes.
    pub fn set_remote_description(
        &mut self,
        description: Description,
    ) -> Result<RemoteApplied, Error> {
        let operation = match description.kind {
            SdpType::Offer => Operation::SetRemoteOffer,
            SdpType::Pranswer => Operation::SetRemotePranswer,
            SdpType::Answer => Operation::SetRemoteAnswer,
        };
        self.check_open(operation)?;
        let mut sdp = description.sdp;
        remote::validate(&sdp)?;
        match description.kind {
            SdpType::Offer => {
                let rolled_back = match self.state {
                    SignalingState::Stable | SignalingState::HaveRemoteOffer => false,
                    SignalingState::HaveLocalOffer => true,
                    _ => return Err(self.invalid(operation)),
                };
                // Work on a copy so that a description that fails to apply changes
                // nothing; with an implicit rollback, mids our abandoned offer gave to
                // transceivers are free again.
                let mut transceivers = self.transceivers.clone();
                if rolled_back {
                    self.release_unnegotiated_mids(&mut transceivers);
                }
                let analysis = remote::analyse_offer(
                    &sdp,
                    &self.config,
                    &self.plan,
                    self.negotiated.as_ref(),
                    &mut transceivers,
                )?;
                if rolled_back {
                    self.rollback_local();
                }
                self.transceivers = transceivers;
                self.stats.refused_media_sections += analysis.refused_sections;
                self.release_queued(&mut sdp, analysis.transport_index);
                let ice_restart = analysis.ice_restart;
                self.pending_remote = Some(PendingRemote { sdp, analysis });
                self.state = SignalingState::HaveRemoteOffer;
                Ok(RemoteApplied {
                    state: self.state,
                    ice_restart,
                    rolled_back_local_offer: rolled_back,
                    negotiated: None,
                })
            }
            SdpType::Pranswer | SdpType::Answer => {
                if !matches!(
                    self.state,
                    SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer
                ) {
                    return Err(self.invalid(operation));
                }
                let (Some(local), Some(plan)) = (&self.pending_local, &self.pending_local_plan)
                else {
                    return Err(self.invalid(operation));
                };
                let (local, plan) = (local.clone(), plan.clone());
                let analysis = remote::analyse_answer(
                    &sdp,
                    &local,
                    &plan,
                    &self.config,
                    self.negotiated.as_ref(),
                    &mut self.transceivers,
                )?;
                self.release_queued(&mut sdp, analysis.transport_index);
                let provisional = description.kind == SdpType::Pranswer;
                let negotiated =
                    self.complete(&local, &sdp, &analysis.plan, &analysis, true, provisional)?;
                let ice_restart = negotiated.ice_restart;
                if provisional {
                    self.pending_remote = Some(PendingRemote { sdp, analysis });
                    self.state = SignalingState::HaveRemotePranswer;
                } else {
                    self.current_local = Some(local);
                    self.current_remote = Some(sdp);
                    self.pending_local = None;
                    self.pending_local_plan = None;
                    self.pending_remote = None;
                    self.plan = analysis.plan;
                    self.created_offer = None;
                    self.state = SignalingState::Stable;
                }
                Ok(RemoteApplied {
                    state: self.state,
                    ice_restart,
                    rolled_back_local_offer: false,
                    negotiated: Some(negotiated),
                })
            }
        }
    }

    /// Abandons the exchange in progress (JSEP §4.1.8.2): in `have-local-offer` our
    /// offer, in `have-remote-offer` the peer's; back to `stable` with what was
    /// negotiated before. Perfect negotiation's polite peer does this on glare (or lets
    /// [`set_remote_description`](Self::set_remote_description) do it implicitly).
    pub fn rollback(&mut self) -> Result<SignalingState, Error> {
        self.check_open(Operation::Rollback)?;
        match self.state {
            SignalingState::HaveLocalOffer => self.rollback_local(),
            SignalingState::HaveRemoteOffer => {
                self.pending_remote = None;
                self.created_answer = None;
                self.state = SignalingState::Stable;
                // Transceivers the rolled-back offer created are stopped and detached;
                // others it bound give their mid back.
                for transceiver in &mut self.transceivers {
                    if transceiver.created_by_remote_offer_pending {
                        transceiver.created_by_remote_offer_pending = false;
                        transceiver.stopped = true;
                        transceiver.mid = None;
                    } else if transceiver.mid.is_some()
                        && !self.plan.has_transceiver(transceiver.id())
                    {
                        transceiver.mid = None;
                    }
                }
            }
            _ => return Err(self.invalid(Operation::Rollback)),
        }
        Ok(self.state)
    }

    fn rollback_local(&mut self) {
        self.pending_local = None;
        self.pending_local_plan = None;
        self.created_offer = None;
        self.state = SignalingState::Stable;
        let mut transceivers = std::mem::take(&mut self.transceivers);
        self.release_unnegotiated_mids(&mut transceivers);
        self.transceivers = transceivers;
    }

    /// Mids that only an unapplied or rolled-back offer gave to transceivers are
    /// released.
    fn release_unnegotiated_mids(&self, transceivers: &mut [Transceiver]) {
        for transceiver in transceivers {
            if transceiver.mid.is_some() && !self.plan.has_transceiver(transceiver.id()) {
                transceiver.mid = None;
            }
        }
    }

    /// Completes an exchange: derives roles and the summary, and commits roles.
    fn complete(
        &mut self,
        local: &SessionDescription,
        remote: &SessionDescription,
        plan: &Plan,
        analysis: &RemoteAnalysis,
        local_is_offerer: bool,
        provisional: bool,
    ) -> Result<Negotiated, Error> {
        let local_restart = self.restart_credentials.is_some()
            && plan::section_credentials(local, plan) == self.restart_credentials;
        let ice_restart = analysis.ice_restart || local_restart;
        let summary = remote::summarise(&remote::SummaryInput {
            local,
            remote,
            plan,
            analysis,
            config: &self.config,
            local_is_offerer,
            previous_ice_role: if ice_restart { None } else { self.ice_role },
            transceivers: &self.transceivers,
        })?;
        let negotiated = Negotiated {
            ice_restart,
            provisional,
            ..summary
        };
        if let Some(transport) = &negotiated.transport {
            self.dtls_role = Some(transport.dtls_role);
            self.ice_role = Some(transport.ice_role);
            if local_restart && !provisional {
                self.local_ice = transport.local_ice.clone();
                self.restart_credentials = None;
            }
        }
        if !provisional {
            for transceiver in &mut self.transceivers {
                transceiver.created_by_remote_offer_pending = false;
                transceiver.negotiated_wish = Some(transceiver.direction);
                transceiver.current_direction = negotiated
                    .media
                    .iter()
                    .find(|m| m.transceiver == transceiver.id())
                    .map(|m| m.direction);
            }
            let mut plan = plan.clone();
            plan.local_is_offerer = local_is_offerer;
            plan.sync_transceivers(&mut self.transceivers);
        }
        self.negotiated = Some(negotiated.clone());
        Ok(negotiated)
    }

    /// Moves queued trickled candidates into a newly applied remote description.
    fn release_queued(&mut self, sdp: &mut SessionDescription, transport_index: Option<usize>) {
        for trickled in std::mem::take(&mut self.queued_remote) {
            match attach(sdp, &trickled, transport_index) {
                Attach::Attached => {}
                Attach::Ignored | Attach::Full | Attach::UnknownTarget => {
                    self.stats.dropped_remote_candidates += 1;
                }
            }
        }
    }

    /// Adds a candidate the peer trickled (RFC 8838), before or after its description.
    ///
    /// - No remote description yet: queued (at most [`MAX_QUEUED_REMOTE_CANDIDATES`];
    ///   more fail with [`Error::CandidateQueueFull`]) and released into the
    ///   description when it arrives.
    /// - An exchange in progress: held in the pending description; the next
    ///   [`Negotiated`] carries it.
    /// - Otherwise: [`CandidateOutcome::Deliver`] (or `EndOfCandidates`) for the ICE
    ///   agent.
    ///
    /// Candidates of another ICE generation (their `ufrag` differs) and those for
    /// sections outside our transport are [`CandidateOutcome::Ignored`] and counted.
    pub fn add_remote_candidate(
        &mut self,
        trickled: TrickledCandidate,
    ) -> Result<CandidateOutcome, Error> {
        self.check_open(Operation::AfterClose)?;
        // An exchange in progress whose remote side is known: hold it there.
        if self.state == SignalingState::HaveRemoteOffer
            && let Some(pending) = &mut self.pending_remote
        {
            let index = pending.analysis.transport_index;
            // During a renegotiation that keeps the ICE generation, the agent already
            // runs with these credentials: deliver at once.
            let live = self
                .negotiated
                .as_ref()
                .is_some_and(|n| n.transport.is_some())
                && !pending.analysis.ice_restart;
            let attached = attach(&mut pending.sdp, &trickled, index);
            return match attached {
                Attach::Attached if live => Ok(match trickled.candidate {
                    Some(candidate) => CandidateOutcome::Deliver(candidate),
                    None => CandidateOutcome::EndOfCandidates,
                }),
                Attach::Attached => Ok(CandidateOutcome::Held),
                Attach::Ignored => {
                    self.stats.dropped_remote_candidates += 1;
                    Ok(CandidateOutcome::Ignored)
                }
                Attach::Full => {
                    self.stats.dropped_remote_candidates += 1;
                    Err(Error::CandidateQueueFull {
                        pending: MAX_CANDIDATES_PER_SECTION,
                    })
                }
                Attach::UnknownTarget => Err(Error::Protocol(
                    crate::error::ProtocolViolation::CandidateTarget,
                )),
            };
        }
        let Some(negotiated) = &self.negotiated else {
            if self.queued_remote.len() >= MAX_QUEUED_REMOTE_CANDIDATES {
                self.stats.dropped_remote_candidates += 1;
                return Err(Error::CandidateQueueFull {
                    pending: self.queued_remote.len(),
                });
            }
            self.queued_remote.push(trickled);
            return Ok(CandidateOutcome::Held);
        };
        let Some(transport) = &negotiated.transport else {
            self.stats.dropped_remote_candidates += 1;
            return Ok(CandidateOutcome::Ignored);
        };
        let current_ufrag = transport.remote_ice.ufrag.as_str().to_owned();
        if let Some(ufrag) = &trickled.username_fragment
            && *ufrag != current_ufrag
        {
            // Another generation: the peer's next description will carry it, if any.
            if self.state == SignalingState::HaveLocalOffer
                && self.queued_remote.len() < MAX_QUEUED_REMOTE_CANDIDATES
            {
                self.queued_remote.push(trickled);
                return Ok(CandidateOutcome::Held);
            }
            self.stats.dropped_remote_candidates += 1;
            return Ok(CandidateOutcome::Ignored);
        }
        let transport_mid = transport.mid.clone();
        let bundle = transport.bundle_mids.clone();
        let remote = match (&mut self.pending_remote, &mut self.current_remote) {
            (Some(pending), _) => &mut pending.sdp,
            (None, Some(current)) => current,
            (None, None) => {
                self.stats.dropped_remote_candidates += 1;
                return Ok(CandidateOutcome::Ignored);
            }
        };
        let index = remote.media_by_mid(&transport_mid).map(|(i, _)| i);
        let target = resolve_target(remote, &trickled, index).ok_or(Error::Protocol(
            crate::error::ProtocolViolation::CandidateTarget,
        ))?;
        let target_mid = remote.media[target].mid.clone();
        if !target_mid.is_some_and(|m| bundle.contains(&m)) {
            self.stats.dropped_remote_candidates += 1;
            return Ok(CandidateOutcome::Ignored);
        }
        match attach(remote, &trickled, index) {
            Attach::Attached | Attach::Full => {}
            Attach::Ignored | Attach::UnknownTarget => {
                self.stats.dropped_remote_candidates += 1;
                return Ok(CandidateOutcome::Ignored);
            }
        }
        Ok(match trickled.candidate {
            Some(candidate) => CandidateOutcome::Deliver(candidate),
            None => CandidateOutcome::EndOfCandidates,
        })
    }
}

enum Attach {
    Attached,
    Ignored,
    Full,
    UnknownTarget,
}

/// The index of the section a trickled candidate names (mid first, then index).
fn resolve_target(
    sdp: &SessionDescription,
    trickled: &TrickledCandidate,
    transport_index: Option<usize>,
) -> Option<usize> {
    if let Some(mid) = &trickled.sdp_mid {
        return sdp.media_by_mid(mid).map(|(i, _)| i);
    }
    match trickled.sdp_m_line_index {
        Some(index) => (usize::from(index) < sdp.media.len()).then_some(usize::from(index)),
        // An end-of-candidates naming no section applies to all of them (W3C
        // `addIceCandidate`): with BUNDLE, to the transport's.
        None if trickled.candidate.is_none() => transport_index,
        None => None,
    }
}

/// Adds a trickled candidate to the transport section of `sdp`.
fn attach(
    sdp: &mut SessionDescription,
    trickled: &TrickledCandidate,
    transport_index: Option<usize>,
) -> Attach {
    let Some(target) = resolve_target(sdp, trickled, transport_index) else {
        return Attach::UnknownTarget;
    };
    let Some(transport_index) = transport_index else {
        return Attach::Ignored;
    };
    // With BUNDLE every accepted section shares the transport: a candidate for any
    // bundled section belongs to the transport section.
    let bundled = match (sdp.bundle_group(), &sdp.media[target].mid) {
        (Some(group), Some(mid)) => {
            group.contains(mid)
                && sdp.media[transport_index]
                    .mid
                    .as_ref()
                    .is_some_and(|t| group.contains(t))
        }
        _ => false,
    };
    if target != transport_index && !bundled {
        return Attach::Ignored;
    }
    if sdp.media[target].is_rejected() && target != transport_index {
        return Attach::Ignored;
    }
    let section_ufrag = sdp
        .ice_credentials_for(&sdp.media[transport_index])
        .map(|c| c.ufrag.as_str().to_owned());
    if let (Some(ufrag), Some(section_ufrag)) = (&trickled.username_fragment, section_ufrag)
        && *ufrag != section_ufrag
    {
        return Attach::Ignored;
    }
    let section = &mut sdp.media[transport_index];
    match &trickled.candidate {
        None => section.end_of_candidates = true,
        Some(candidate) => {
            if section.candidates.contains(candidate) {
                return Attach::Attached;
            }
            if section.candidates.len() >= MAX_CANDIDATES_PER_SECTION {
                return Attach::Full;
            }
            section.candidates.push(candidate.clone());
        }
    }
    Attach::Attached
}
