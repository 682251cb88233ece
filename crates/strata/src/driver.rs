//! The one task that runs a peer connection: it owns negotiation, ICE, DTLS, SCTP and the
//! media plane (SRTP and the RTP/RTCP session), takes commands from the handles, and
//! reports events.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;

use strata_datachannel::{
    self as dc, Association, AssociationConfig, AssociationEvent, AssociationEvents,
};
use strata_dtls_srtp::SrtpStats;
use strata_dtls_srtp::{Certificate, DtlsConfig, DtlsStats, DtlsTransport, handshake};
use strata_ice::{
    CandidatePair, Credentials, IceAgent, IceConnectionState, IceEvent, IceRole, IceStats,
    PacketChannel,
};
use strata_media::{Mid, Sample, SessionStats};
use strata_sdp::{
    Description, IceCredentials, Negotiated, NegotiatedDataChannel, Negotiator, NegotiatorStats,
    SignalingState, TransportParameters, TrickledCandidate,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Configuration;
use crate::data_channel::{Binder, ChannelOptions, DataChannel};
use crate::description::{IceCandidateInit, SessionDescription};
use crate::error::Error;
use crate::events::{Failure, IceGatheringState, PeerConnectionEvent, PeerConnectionState};
use crate::media::{MediaDeliveryStats, MediaPlane, TrackId};
use crate::setup::{SetupStep, SetupTimeline};
use crate::track::{TrackKind, TrackLocal, TrackLocalInit};

/// How long closing waits for the layers below before abandoning them.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// Samples and keyframe requests waiting for the driver, from every track of a connection.
/// A full queue makes [`TrackLocal::write_sample`] wait: the application paces itself to
/// what the connection sends, and nothing is dropped.
const MEDIA_COMMAND_QUEUE: usize = 256;

/// Panics of the connection's tasks waiting for the driver. The first one fails the
/// connection; later ones, should the queue be full, add nothing and are dropped.
const FAILURE_QUEUE: usize = 4;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// What a handle asks the driver to do.
///
/// Payloads larger than a few words are boxed: a command queue allocates room for 32
/// commands when it is created, and every connection keeps one, idle or not.
pub(crate) enum Command {
    CreateOffer(Reply<SessionDescription>),
    CreateAnswer(Reply<SessionDescription>),
    SetLocalDescription(Option<Box<SessionDescription>>, Reply<()>),
    SetRemoteDescription(Box<SessionDescription>, Reply<()>),
    AddIceCandidate(Box<IceCandidateInit>, Reply<()>),
    CreateDataChannel(Box<(String, ChannelOptions)>, Reply<DataChannel>),
    AddTrack(Box<TrackLocalInit>, Reply<TrackLocal>),
    RemoveTrack(TrackId, Reply<()>),
    RestartIce(Reply<()>),
    LocalDescription(Reply<Option<SessionDescription>>),
    RemoteDescription(Reply<Option<SessionDescription>>),
    Stats(Reply<PeerConnectionStats>),
    Close(Reply<()>),
    /// Panics inside the driver itself, or inside a task it spawns (tests only).
    #[cfg(test)]
    InjectPanic(PanicSite),
}

/// Where [`Command::InjectPanic`] panics.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum PanicSite {
    Driver,
    SpawnedTask,
}

/// What a track handle asks the driver to do: on a queue of its own, so that media never
/// holds up signaling commands. The sample is boxed so that the queue every connection
/// keeps, media or not, stays small while idle.
pub(crate) enum MediaCommand {
    WriteSample(TrackId, Box<Sample>, Reply<()>),
    RequestKeyframe(Mid, Reply<bool>),
}

/// Counters of every layer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PeerConnectionStats {
    /// ICE socket and demultiplexer.
    pub ice: IceStats,
    /// The selected candidate pair, if any.
    pub selected_pair: Option<CandidatePair>,
    /// DTLS, once established.
    pub dtls: Option<DtlsStats>,
    /// SCTP and data channels, once the association exists.
    pub sctp: Option<dc::AssociationStats>,
    /// What negotiation dropped (bounded candidate queues, refused sections).
    pub negotiation: NegotiatorStats,
    /// Every audio and video stream, shaped like the W3C `inbound-rtp`, `outbound-rtp`
    /// and `remote-inbound-rtp` stats, with the RTP/RTCP session's drop counters.
    pub media: SessionStats,
    /// SRTP, once keyed: packets protected and unprotected, and every refusal by reason.
    pub srtp: Option<SrtpStats>,
    /// What the media plane dropped between the network, SRTP, the session and the
    /// track handles.
    pub media_delivery: MediaDeliveryStats,
    /// When each step of the connection's setup happened.
    pub setup: SetupTimeline,
}

/// States the handles read without asking the driver.
#[derive(Debug)]
pub(crate) struct States {
    pub(crate) connection: PeerConnectionState,
    pub(crate) ice_connection: IceConnectionState,
    pub(crate) ice_gathering: IceGatheringState,
    pub(crate) signaling: SignalingState,
}

pub(crate) struct Shared {
    pub(crate) states: Mutex<States>,
    /// Follows the gathering state, for waiting on completion.
    pub(crate) gathering: watch::Sender<IceGatheringState>,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            states: Mutex::new(States {
                connection: PeerConnectionState::New,
                ice_connection: IceConnectionState::New,
                ice_gathering: IceGatheringState::New,
                signaling: SignalingState::Stable,
            }),
            gathering: watch::channel(IceGatheringState::New).0,
        }
    }

    pub(crate) fn states(&self) -> std::sync::MutexGuard<'_, States> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

enum Dtls {
    Idle,
    Handshaking(oneshot::Receiver<Result<DtlsTransport, strata_dtls_srtp::Error>>),
    Established(Arc<DtlsTransport>),
    Failed,
}

struct Sctp {
    association: Arc<Association>,
    events: AssociationEvents,
}

pub(crate) struct Driver {
    config: Configuration,
    certificate: Certificate,
    shared: Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    /// Boxed events: the queue allocates room for 32 when created, and most events are
    /// a word or two while the largest carry a candidate's strings.
    events: mpsc::Sender<Box<PeerConnectionEvent>>,
    ice: IceAgent,
    ice_events: mpsc::Receiver<IceEvent>,
    negotiator: Negotiator,
    ice_started: bool,
    transport: Option<TransportParameters>,
    data_channel: Option<NegotiatedDataChannel>,
    dtls: Dtls,
    sctp: Option<Sctp>,
    pending_channels: Vec<Binder>,
    media: MediaPlane,
    media_commands: mpsc::Receiver<MediaCommand>,
    /// Handed to new local tracks.
    media_commands_tx: mpsc::Sender<MediaCommand>,
    /// RTP and RTCP datagrams from the ICE agent's demultiplexer.
    media_channel: PacketChannel,
    tasks: TaskTracker,
    /// Cancelled when the connection closes: stops the tasks, and is the closed flag.
    cancel: CancellationToken,
    /// Panics of spawned tasks, reported by [`Driver::spawn_guarded`].
    failures: mpsc::Receiver<Failure>,
    failures_tx: mpsc::Sender<Failure>,
    /// Why the connection failed, once a task panicked.
    failure: Option<Failure>,
    setup: SetupTimeline,
}

impl Drop for Driver {
    /// However the driver ends (closed, or unwinding from a panic), the tasks it spawned
    /// stop with it.
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The SCTP association runs over the DTLS transport through this adapter.
struct DtlsDatagrams(Arc<DtlsTransport>);

impl dc::DatagramTransport for DtlsDatagrams {
    async fn send(&self, datagram: &[u8]) -> std::io::Result<()> {
        self.0.send(datagram).await.map_err(std::io::Error::other)
    }

    async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.recv(buf).await.map_err(|error| match error {
            strata_dtls_srtp::Error::Closed => {
                std::io::Error::from(std::io::ErrorKind::ConnectionAborted)
            }
            other => std::io::Error::other(other),
        })
    }

    async fn close(&self) -> std::io::Result<()> {
        self.0.close().await;
        Ok(())
    }
}

impl Driver {
    pub(crate) async fn new(
        mut config: Configuration,
        shared: Arc<Shared>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<Box<PeerConnectionEvent>>,
    ) -> Result<Self, Error> {
        if config.max_message_size == 0 {
            return Err(Error::InvalidConfig("max_message_size must be positive"));
        }
        if config.dtls_retransmit_interval.is_zero() {
            return Err(Error::InvalidConfig(
                "dtls_retransmit_interval must be positive",
            ));
        }
        if config
            .playout_delay
            .as_ref()
            .is_some_and(|delay| delay.validate().is_err())
        {
            return Err(Error::InvalidConfig(
                "playout_delay is out of range: a fixed delay at most 10 s; an adaptive one \
                 with min <= max <= 10 s, margin and initial <= 10 s, quantile in (0.5, 1], \
                 window 1 to 60 s",
            ));
        }
        let certificate = match config.certificate.take() {
            Some(certificate) => certificate,
            None => Certificate::generate()?,
        };
        let (ice, ice_events) = IceAgent::new(config.ice.clone()).await?;
        let local = ice.local_credentials();
        let fingerprint: strata_sdp::Fingerprint =
            certificate.fingerprint().to_string().parse().map_err(|_| {
                Error::InvalidConfig("the certificate fingerprint cannot be written in SDP")
            })?;
        let mut sdp_config = strata_sdp::Config::new(
            rand::random::<u64>(),
            IceCredentials::new(local.ufrag, local.pwd)?,
            fingerprint,
        );
        sdp_config.data_channel.max_message_size = config.max_message_size as u64;
        let negotiator = Negotiator::new(sdp_config)?;
        let (media_commands_tx, media_commands) = mpsc::channel(MEDIA_COMMAND_QUEUE);
        let media = MediaPlane::new(
            Instant::now(),
            media_commands_tx.downgrade(),
            // Only the media plane reads it: boxed there, not kept twice.
            config.playout_delay.take().map(Box::new),
        )?;
        let media_channel = ice.media_channel();
        let (failures_tx, failures) = mpsc::channel(FAILURE_QUEUE);
        Ok(Self {
            config,
            certificate,
            shared,
            commands,
            events,
            ice,
            ice_events,
            negotiator,
            ice_started: false,
            transport: None,
            data_channel: None,
            dtls: Dtls::Idle,
            sctp: None,
            pending_channels: Vec::new(),
            media,
            media_commands,
            media_commands_tx,
            media_channel,
            tasks: TaskTracker::new(),
            cancel: CancellationToken::new(),
            failures,
            failures_tx,
            failure: None,
            setup: SetupTimeline::default(),
        })
    }

    /// Runs until closed or until every handle is dropped. A panic of the driver itself
    /// does not end the connection silently: the state becomes
    /// [`Failed`](PeerConnectionState::Failed), [`PeerConnectionEvent::Failed`] says why,
    /// and the layers are dropped (their tasks cancelled, the socket released).
    pub(crate) fn run(self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        let events = self.events.clone();
        // Boxed before the task starts: the loop's state is large (one allocation per
        // connection), and the task's own future then holds the box, not a second,
        // moved-from copy of the driver beside it.
        // The loop borrows the driver: a by-value `self` would be stored twice in the
        // loop's state (the argument, and the binding it is moved into).
        let mut driver = self;
        let until_closed = Box::pin(async move { driver.run_until_closed().await });
        async move {
            if let Err(payload) = AssertUnwindSafe(until_closed).catch_unwind().await {
                let failure = Failure::Panicked {
                    task: "driver",
                    message: panic_message(payload.as_ref()),
                };
                tracing::error!(%failure, "peer connection failed");
                {
                    let mut states = shared.states();
                    states.connection = PeerConnectionState::Failed;
                    states.ice_connection = IceConnectionState::Failed;
                }
                let _ = events
                    .send(Box::new(PeerConnectionEvent::ConnectionStateChange(
                        PeerConnectionState::Failed,
                    )))
                    .await;
                let _ = events
                    .send(Box::new(PeerConnectionEvent::Failed(failure)))
                    .await;
            }
        }
    }

    async fn run_until_closed(&mut self) {
        let close_reply = loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Close(reply)) => break Some(reply),
                    // Boxed, as is closing below: commands are rare, and their futures
                    // (negotiation, ICE restarts) would otherwise make every idle
                    // connection's loop state as large as the largest of them.
                    Some(command) => Box::pin(self.handle_command(command)).await,
                    None => break None,
                },
                Some(event) = self.ice_events.recv() => self.handle_ice_event(event).await,
                result = handshake_result(&mut self.dtls) => self.handshake_done(result).await,
                event = association_event(&mut self.sctp) => self.handle_association_event(event).await,
                Some(command) = self.media_commands.recv() => self.handle_media_command(command),
                Some(datagram) = media_datagram(&self.media_channel, self.media.has_keys()) => {
                    self.media.handle_datagram(Instant::now(), datagram);
                }
                () = media_timer(self.media.poll_timeout()) => self.media.handle_timeout(Instant::now()),
                Some(failure) = self.failures.recv() => self.fail(failure).await,
            }
            self.flush_media().await;
        };
        Box::pin(self.shut_down()).await;
        if let Some(reply) = close_reply {
            let _ = reply.send(Ok(()));
        }
    }

    /// Records a step of the connection's first setup (once), and logs it.
    fn step(&mut self, step: SetupStep) {
        if self.setup.mark(step, Instant::now()) {
            tracing::debug!(?step, port = self.ice.local_addr().port(), "setup step");
        }
    }

    async fn emit(&self, event: PeerConnectionEvent) {
        let _ = self.events.send(Box::new(event)).await;
    }

    // ----- commands -----

    async fn handle_command(&mut self, command: Command) {
        match command {
            Command::CreateOffer(reply) => {
                let offer = self
                    .negotiator
                    .create_offer()
                    .map(|d| SessionDescription::from_sdp(&d));
                let _ = reply.send(offer.map_err(Error::from));
            }
            Command::CreateAnswer(reply) => {
                let answer = self
                    .negotiator
                    .create_answer()
                    .map(|d| SessionDescription::from_sdp(&d));
                let _ = reply.send(answer.map_err(Error::from));
            }
            Command::SetLocalDescription(description, reply) => {
                let result = self.set_local_description(description.map(|d| *d)).await;
                let _ = reply.send(result);
            }
            Command::SetRemoteDescription(description, reply) => {
                let result = self.set_remote_description(*description).await;
                let _ = reply.send(result);
            }
            Command::AddIceCandidate(candidate, reply) => {
                let _ = reply.send(self.add_ice_candidate(&candidate));
            }
            Command::CreateDataChannel(request, reply) => {
                let (label, options) = *request;
                let result = self.create_data_channel(label, options).await;
                let _ = reply.send(result);
            }
            Command::AddTrack(init, reply) => {
                let result = self.add_track(*init).await;
                let _ = reply.send(result);
            }
            Command::RemoveTrack(id, reply) => {
                let result = self.remove_track(id).await;
                let _ = reply.send(result);
            }
            Command::RestartIce(reply) => {
                let result = self.restart_ice().await;
                let _ = reply.send(result);
            }
            Command::LocalDescription(reply) => {
                let _ = reply.send(Ok(self
                    .negotiator
                    .local_description()
                    .map(|d| SessionDescription::from_sdp(&d))));
            }
            Command::RemoteDescription(reply) => {
                let _ = reply.send(Ok(self
                    .negotiator
                    .remote_description()
                    .map(|d| SessionDescription::from_sdp(&d))));
            }
            Command::Stats(reply) => {
                let _ = reply.send(Ok(self.stats()));
            }
            Command::Close(reply) => {
                // Handled by the run loop; a stray one is answered.
                let _ = reply.send(Ok(()));
            }
            #[cfg(test)]
            Command::InjectPanic(site) => match site {
                PanicSite::Driver => panic!("injected into the driver"),
                PanicSite::SpawnedTask => self.spawn_guarded("injected", async {
                    panic!("injected into a spawned task");
                }),
            },
        }
    }

    /// Spawns one of the connection's tasks: tracked, and watched for panics, which fail
    /// the connection with the task's name and the panic message.
    fn spawn_guarded(&self, task: &'static str, future: impl Future<Output = ()> + Send + 'static) {
        let failures = self.failures_tx.clone();
        self.tasks.spawn(async move {
            if let Err(payload) = AssertUnwindSafe(future).catch_unwind().await {
                let _ = failures.try_send(Failure::Panicked {
                    task,
                    message: panic_message(payload.as_ref()),
                });
            }
        });
    }

    /// A task panicked: the connection fails (once) and says why.
    async fn fail(&mut self, failure: Failure) {
        if self.failure.is_some() {
            return;
        }
        tracing::error!(%failure, "peer connection failed");
        self.failure = Some(failure.clone());
        self.update_connection_state().await;
        self.emit(PeerConnectionEvent::Failed(failure)).await;
    }

    async fn set_local_description(
        &mut self,
        description: Option<SessionDescription>,
    ) -> Result<(), Error> {
        let description = match description {
            Some(description) => {
                let Some(kind) = description.kind.to_sdp() else {
                    self.negotiator.rollback()?;
                    self.signaling_changed().await;
                    return Ok(());
                };
                Description::parse(kind, &description.sdp)?
            }
            // Implicit (W3C `setLocalDescription()`): an answer when the peer offered.
            None if self.negotiator.signaling_state() == SignalingState::HaveRemoteOffer => {
                self.negotiator.create_answer()?
            }
            None => self.negotiator.create_offer()?,
        };
        // Whole descriptions, for interop diagnosis (they carry this session's ICE
        // password, hence trace level only).
        tracing::trace!(kind = ?description.kind, sdp = %description.sdp, "local description");
        let applied = self.negotiator.set_local_description(&description)?;
        self.step(SetupStep::LocalDescription);
        self.signaling_changed().await;
        if self.shared.states().ice_gathering == IceGatheringState::New {
            self.ice.gather()?;
            self.gathering_changed(IceGatheringState::Gathering).await;
        }
        if let Some(negotiated) = applied.negotiated {
            self.apply_negotiated(negotiated).await;
        }
        Ok(())
    }

    async fn set_remote_description(
        &mut self,
        description: SessionDescription,
    ) -> Result<(), Error> {
        let Some(kind) = description.kind.to_sdp() else {
            self.negotiator.rollback()?;
            self.signaling_changed().await;
            return Ok(());
        };
        tracing::trace!(?kind, sdp = %description.sdp, "remote description");
        let parsed = Description::parse(kind, &description.sdp)?;
        let applied = self.negotiator.set_remote_description(parsed)?;
        self.step(SetupStep::RemoteDescription);
        self.signaling_changed().await;
        // Only an offer restarts ICE (RFC 8839 §4.4.1.1): an answer with new credentials
        // completes our own restart. A restart of ours still waiting for its exchange
        // (the peer's offer won a collision) answers with the credentials our agent
        // already uses.
        if applied.ice_restart
            && kind == strata_sdp::SdpType::Offer
            && !self.negotiator.ice_restart_pending()
        {
            // The peer restarted ICE: our answer needs fresh credentials too.
            let fresh = self.ice.restart().await?;
            tracing::debug!(local_ufrag = %fresh.ufrag, "the peer restarts ICE");
            self.negotiator
                .restart_ice(IceCredentials::new(fresh.ufrag, fresh.pwd)?)?;
            self.gathering_changed(IceGatheringState::Gathering).await;
        }
        if let Some(negotiated) = applied.negotiated {
            self.apply_negotiated(negotiated).await;
        }
        Ok(())
    }

    fn add_ice_candidate(&mut self, init: &IceCandidateInit) -> Result<(), Error> {
        let trickled = TrickledCandidate::parse(
            &init.candidate,
            init.sdp_mid.as_deref(),
            init.sdp_mline_index,
            init.username_fragment.as_deref(),
        )?;
        match self.negotiator.add_remote_candidate(trickled)? {
            strata_sdp::CandidateOutcome::Deliver(candidate) => {
                self.ice.add_remote_candidate(&candidate.to_string())?;
            }
            strata_sdp::CandidateOutcome::EndOfCandidates
            | strata_sdp::CandidateOutcome::Held
            | strata_sdp::CandidateOutcome::Ignored => {}
        }
        Ok(())
    }

    async fn create_data_channel(
        &mut self,
        label: String,
        options: ChannelOptions,
    ) -> Result<DataChannel, Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Closed);
        }
        if options.max_retransmits.is_some() && options.max_packet_life_time.is_some() {
            return Err(Error::DataChannel(dc::Error::ConflictingReliability));
        }
        let (channel, binder) = DataChannel::pending(label, options);
        let first = self.data_channel.is_none() && !self.negotiator.needs_negotiation();
        self.negotiator.want_data_channel();
        match &self.sctp {
            Some(sctp) => self.spawn_create(Arc::clone(&sctp.association), binder),
            None => self.pending_channels.push(binder),
        }
        if first && self.negotiator.needs_negotiation() {
            self.emit(PeerConnectionEvent::NegotiationNeeded).await;
        }
        Ok(channel)
    }

    /// Adds a local track: a transceiver for the next offer (or, as W3C `addTrack` does,
    /// one a remote offer created that has nothing to send yet), and the track's entry in
    /// the media plane.
    async fn add_track(&mut self, init: TrackLocalInit) -> Result<TrackLocal, Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Closed);
        }
        if init.codecs.is_empty() {
            return Err(Error::InvalidConfig("a track needs at least one codec"));
        }
        if init
            .codecs
            .iter()
            .any(|codec| codec.is_video() != (init.kind == TrackKind::Video))
        {
            return Err(Error::InvalidConfig(
                "every codec of a track must be of its kind",
            ));
        }
        let was_needed = self.negotiator.needs_negotiation();
        let ssrcs = self.media.draw_ssrcs();
        let transceiver_init = strata_sdp::TransceiverInit {
            kind: init.kind.sdp(),
            direction: strata_sdp::Direction::SendRecv,
            stream_id: if init.stream_id.is_empty() {
                "-".to_owned()
            } else {
                init.stream_id.clone()
            },
            track_id: init.track_id.clone(),
            ssrc: Some(strata_sdp::Ssrc(ssrcs.0.0)),
            rtx_ssrc: Some(strata_sdp::Ssrc(ssrcs.1.0)),
            cname: self.media.cname().to_owned(),
        };
        let ours: Vec<_> = self.media.local_transceivers().collect();
        let reusable = self
            .negotiator
            .transceivers()
            .iter()
            .find(|t| {
                t.kind() == &transceiver_init.kind
                    && !t.is_stopped()
                    && t.mid().is_some()
                    && t.init().ssrc.is_none()
                    && !ours.contains(&t.id())
            })
            .map(strata_sdp::Transceiver::id);
        let preferences = self.codec_preferences(&init)?;
        // A section already bound to the peer's offer keeps the codecs the offer brought:
        // the track sends with the first of its own the answer carries.
        let transceiver = if let Some(id) = reusable {
            self.negotiator
                .set_transceiver_track(id, transceiver_init)?;
            id
        } else {
            let id = self.negotiator.add_transceiver(transceiver_init)?;
            self.negotiator.set_codec_preferences(id, preferences)?;
            id
        };
        let id = MediaPlane::next_track_id();
        let (track, link) = TrackLocal::new(id, init, self.media_commands_tx.clone());
        self.media.add_local(id, transceiver, link, ssrcs);
        if !was_needed && self.negotiator.needs_negotiation() {
            self.emit(PeerConnectionEvent::NegotiationNeeded).await;
        }
        Ok(track)
    }

    /// The configured SDP codecs of a track's preference, in its order (H.264 in
    /// packetization mode 1 only, the one Strata packetizes).
    fn codec_preferences(&self, init: &TrackLocalInit) -> Result<Vec<strata_sdp::Codec>, Error> {
        let capabilities = &self.negotiator.config().media;
        let configured = match init.kind {
            TrackKind::Audio => &capabilities.audio,
            TrackKind::Video => &capabilities.video,
        };
        let preferences: Vec<strata_sdp::Codec> = init
            .codecs
            .iter()
            .flat_map(|codec| {
                configured.iter().filter(move |c| {
                    c.encoding.eq_ignore_ascii_case(codec.encoding_name())
                        && c.clock_rate == codec.clock_rate()
                        && (*codec != strata_media::Codec::H264
                            || c.fmtp
                                .as_deref()
                                .is_some_and(|f| f.contains("packetization-mode=1")))
                })
            })
            .cloned()
            .collect();
        if preferences.is_empty() {
            return Err(Error::InvalidConfig(
                "none of the track's codecs is among the connection's media capabilities",
            ));
        }
        Ok(preferences)
    }

    /// Removes a local track: BYE for its streams now, its section stopped with the next
    /// exchange.
    async fn remove_track(&mut self, id: TrackId) -> Result<(), Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Closed);
        }
        let transceiver = self
            .media
            .remove_local(Instant::now(), id)
            .ok_or(Error::InvalidState("the track was already removed"))?;
        let was_needed = self.negotiator.needs_negotiation();
        self.negotiator.stop_transceiver(transceiver)?;
        if !was_needed && self.negotiator.needs_negotiation() {
            self.emit(PeerConnectionEvent::NegotiationNeeded).await;
        }
        Ok(())
    }

    fn handle_media_command(&mut self, command: MediaCommand) {
        let now = Instant::now();
        match command {
            MediaCommand::WriteSample(id, sample, reply) => {
                let _ = reply.send(self.media.write_sample(now, id, &sample));
            }
            MediaCommand::RequestKeyframe(mid, reply) => {
                let _ = reply.send(self.media.request_keyframe(now, &mid));
            }
        }
    }

    /// Sends what the media plane has to send and reports its events.
    async fn flush_media(&mut self) {
        while let Some(datagram) = self.media.poll_transmit() {
            if let Err(error) = self.media_channel.send(datagram).await {
                tracing::trace!(%error, "media datagram not sent");
            }
        }
        while let Some(event) = self.media.poll_event() {
            self.emit(event).await;
        }
    }

    fn spawn_create(&self, association: Arc<Association>, binder: Binder) {
        self.spawn_guarded("data channel creation", async move {
            if binder.abandoned() {
                return;
            }
            let (label, options) = binder.request();
            let created = association
                .create_channel(label, options.clone())
                .await
                .map_err(Error::from);
            binder.bind(created);
        });
    }

    async fn restart_ice(&mut self) -> Result<(), Error> {
        let fresh: Credentials = self.ice.restart().await?;
        tracing::debug!(local_ufrag = %fresh.ufrag, "restarting ICE");
        self.negotiator
            .restart_ice(IceCredentials::new(fresh.ufrag, fresh.pwd)?)?;
        self.gathering_changed(IceGatheringState::Gathering).await;
        self.emit(PeerConnectionEvent::NegotiationNeeded).await;
        Ok(())
    }

    fn stats(&self) -> PeerConnectionStats {
        PeerConnectionStats {
            ice: self.ice.stats(),
            selected_pair: self.ice.selected_pair(),
            dtls: match &self.dtls {
                Dtls::Established(transport) => Some(transport.stats()),
                _ => None,
            },
            sctp: self.sctp.as_ref().map(|sctp| sctp.association.stats()),
            negotiation: self.negotiator.stats(),
            media: self.media.session_stats(),
            srtp: self.media.srtp_stats(),
            media_delivery: self.media.delivery_stats(),
            setup: self.setup,
        }
    }

    // ----- negotiation results -----

    async fn apply_negotiated(&mut self, negotiated: Negotiated) {
        self.media
            .apply_negotiated(Instant::now(), &negotiated.media);
        if let Some(transport) = negotiated.transport {
            for candidate in &transport.remote_candidates {
                if let Err(error) = self.ice.add_remote_candidate(&candidate.to_string()) {
                    tracing::debug!(%error, "remote candidate refused by ICE");
                }
            }
            let remote = Credentials {
                ufrag: transport.remote_ice.ufrag.as_str().to_owned(),
                pwd: transport.remote_ice.pwd.as_str().to_owned(),
            };
            let role = match transport.ice_role {
                strata_sdp::IceRole::Controlling => IceRole::Controlling,
                strata_sdp::IceRole::Controlled => IceRole::Controlled,
            };
            let started = if self.ice_started {
                if negotiated.ice_restart {
                    tracing::debug!(remote_ufrag = %remote.ufrag, "ICE restart negotiated");
                    self.ice.set_remote_credentials(remote).await
                } else {
                    Ok(())
                }
            } else {
                self.ice_started = true;
                self.step(SetupStep::IceChecking);
                self.ice.start(role, remote)
            };
            if let Err(error) = started {
                tracing::warn!(%error, "ICE could not start");
            }
            self.transport = Some(transport);
        }
        if let Some(data) = negotiated.data_channel {
            if let Some(sctp) = &self.sctp {
                sctp.association
                    .set_remote_max_message_size(max_message_size(data.remote_max_message_size));
            }
            self.data_channel = Some(data);
        }
        self.advance().await;
    }

    /// Starts DTLS once ICE works and the peer's fingerprint is known, and SCTP once DTLS
    /// is established and a data channel section was negotiated; updates the aggregate
    /// state.
    async fn advance(&mut self) {
        let ice_up = matches!(
            self.ice_state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        );
        if ice_up
            && matches!(self.dtls, Dtls::Idle)
            && let Some(transport) = self.transport.clone()
        {
            self.start_dtls(&transport);
        }
        if let (Dtls::Established(dtls), None, Some(data)) =
            (&self.dtls, &self.sctp, &self.data_channel)
        {
            let dtls = Arc::clone(dtls);
            let data = data.clone();
            self.start_sctp(dtls, &data);
        }
        self.update_connection_state().await;
    }

    fn start_dtls(&mut self, transport: &TransportParameters) {
        let fingerprints = transport
            .remote_fingerprints
            .iter()
            .filter_map(|f| f.to_string().parse().ok())
            .collect();
        let role = match transport.dtls_role {
            strata_sdp::DtlsRole::Client => strata_dtls_srtp::DtlsRole::Client,
            strata_sdp::DtlsRole::Server => strata_dtls_srtp::DtlsRole::Server,
        };
        let mut config = DtlsConfig::new(self.certificate.clone(), role, fingerprints);
        config.handshake_timeout = self.config.dtls_handshake_timeout;
        config.retransmit_interval = self.config.dtls_retransmit_interval;
        let channel = self.ice.dtls_channel();
        let (done, result) = oneshot::channel();
        let cancel = self.cancel.clone();
        self.spawn_guarded("dtls handshake", async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                outcome = handshake(channel, config) => { let _ = done.send(outcome); }
            }
        });
        self.dtls = Dtls::Handshaking(result);
        self.step(SetupStep::DtlsStarted);
    }

    async fn handshake_done(&mut self, result: Result<DtlsTransport, strata_dtls_srtp::Error>) {
        match result {
            Ok(transport) => {
                tracing::debug!(role = ?transport.role(), "DTLS established");
                self.step(SetupStep::DtlsConnected);
                self.media.set_keys(transport.srtp_keying());
                self.dtls = Dtls::Established(Arc::new(transport));
            }
            Err(error) => {
                tracing::warn!(%error, "DTLS handshake failed");
                self.dtls = Dtls::Failed;
            }
        }
        self.advance().await;
    }

    fn start_sctp(&mut self, dtls: Arc<DtlsTransport>, data: &NegotiatedDataChannel) {
        let role = match dtls.role() {
            strata_dtls_srtp::DtlsRole::Client => dc::DtlsRole::Client,
            strata_dtls_srtp::DtlsRole::Server => dc::DtlsRole::Server,
        };
        let mut config = AssociationConfig::new(role);
        config.local_port = data.local_sctp_port;
        config.remote_port = data.remote_sctp_port;
        config.max_message_size = self.config.max_message_size;
        config.receive_window = config
            .receive_window
            .max(self.config.max_message_size as u32);
        config.channel_receive_buffer = config
            .channel_receive_buffer
            .max(self.config.max_message_size);
        config.remote_max_message_size = max_message_size(data.remote_max_message_size);
        match Association::new(DtlsDatagrams(dtls), config) {
            Ok((association, events)) => {
                self.step(SetupStep::SctpStarted);
                let association = Arc::new(association);
                for binder in std::mem::take(&mut self.pending_channels) {
                    self.spawn_create(Arc::clone(&association), binder);
                }
                self.sctp = Some(Sctp {
                    association,
                    events,
                });
            }
            Err(error) => tracing::warn!(%error, "SCTP association could not start"),
        }
    }

    async fn handle_association_event(&mut self, event: Option<AssociationEvent>) {
        match event {
            Some(AssociationEvent::ChannelOpened(inner)) => {
                self.emit(PeerConnectionEvent::DataChannel(
                    DataChannel::opened_by_peer(inner),
                ))
                .await;
            }
            Some(AssociationEvent::Established) => {
                self.step(SetupStep::SctpEstablished);
            }
            Some(AssociationEvent::Closed(reason)) => {
                tracing::debug!(?reason, "SCTP association closed");
                self.sctp = None;
            }
            Some(_) => {}
            // The association always reports `Closed` before its events end; their end
            // without it means its task died.
            None => {
                self.sctp = None;
                self.fail(Failure::LayerStopped {
                    layer: "data channel association",
                })
                .await;
            }
        }
    }

    // ----- ICE -----

    fn ice_state(&self) -> IceConnectionState {
        self.shared.states().ice_connection
    }

    async fn handle_ice_event(&mut self, event: IceEvent) {
        match event {
            IceEvent::LocalCandidate(line) => {
                match strata_sdp::Candidate::parse(&line) {
                    Ok(candidate) => {
                        if let Err(error) = self.negotiator.add_local_candidate(candidate) {
                            tracing::debug!(%error, "local candidate not kept in the description");
                        }
                    }
                    Err(error) => tracing::debug!(%error, %line, "local candidate does not parse"),
                }
                let sdp_mid = self.bundle_mid();
                let init = IceCandidateInit {
                    candidate: line,
                    sdp_mid,
                    sdp_mline_index: Some(0),
                    username_fragment: Some(self.ice.local_credentials().ufrag),
                };
                self.emit(PeerConnectionEvent::IceCandidate(init)).await;
            }
            IceEvent::GatheringComplete => {
                self.negotiator.local_candidates_complete();
                self.gathering_changed(IceGatheringState::Complete).await;
            }
            IceEvent::ServerUnreachable { server, reason } => {
                self.emit(PeerConnectionEvent::IceServerError { server, reason })
                    .await;
            }
            IceEvent::StateChanged(state) => {
                if matches!(
                    state,
                    IceConnectionState::Connected | IceConnectionState::Completed
                ) {
                    self.step(SetupStep::IceConnected);
                }
                self.shared.states().ice_connection = state;
                self.emit(PeerConnectionEvent::IceConnectionStateChange(state))
                    .await;
                self.advance().await;
            }
            IceEvent::SelectedPairChanged(pair) => {
                tracing::debug!(?pair, "selected candidate pair");
            }
        }
    }

    /// The mid of the first section of our local description: where a BUNDLE transport's
    /// candidates belong.
    fn bundle_mid(&self) -> Option<String> {
        let local = self.negotiator.local_description()?;
        local
            .sdp
            .media
            .iter()
            .find_map(|m| m.mid.as_ref().map(|mid| mid.as_str().to_owned()))
    }

    // ----- states -----

    async fn signaling_changed(&mut self) {
        let state = self.negotiator.signaling_state();
        let changed = {
            let mut states = self.shared.states();
            std::mem::replace(&mut states.signaling, state) != state
        };
        if changed {
            self.emit(PeerConnectionEvent::SignalingStateChange(state))
                .await;
        }
    }

    async fn gathering_changed(&mut self, state: IceGatheringState) {
        self.shared.states().ice_gathering = state;
        self.shared.gathering.send_replace(state);
        self.emit(PeerConnectionEvent::IceGatheringStateChange(state))
            .await;
    }

    fn aggregate(&self) -> PeerConnectionState {
        let ice = self.ice_state();
        if self.cancel.is_cancelled() {
            PeerConnectionState::Closed
        } else if self.failure.is_some()
            || matches!(self.dtls, Dtls::Failed)
            || ice == IceConnectionState::Failed
        {
            PeerConnectionState::Failed
        } else if ice == IceConnectionState::Disconnected {
            PeerConnectionState::Disconnected
        } else if matches!(
            ice,
            IceConnectionState::Connected | IceConnectionState::Completed
        ) && matches!(self.dtls, Dtls::Established(_))
        {
            PeerConnectionState::Connected
        } else if ice == IceConnectionState::New && matches!(self.dtls, Dtls::Idle) {
            PeerConnectionState::New
        } else {
            PeerConnectionState::Connecting
        }
    }

    async fn update_connection_state(&mut self) {
        let state = self.aggregate();
        let changed = {
            let mut states = self.shared.states();
            std::mem::replace(&mut states.connection, state) != state
        };
        if changed {
            self.emit(PeerConnectionEvent::ConnectionStateChange(state))
                .await;
        }
    }

    // ----- closing -----

    async fn shut_down(&mut self) {
        self.negotiator.close();
        self.cancel.cancel();
        // Channels still waiting for a stream end now.
        self.pending_channels.clear();
        // BYE for every stream we send, while the path is still up; remote tracks end.
        self.media.close(Instant::now());
        self.flush_media().await;
        let layers = async {
            if let Some(sctp) = self.sctp.take() {
                sctp.association.close().await;
            }
            if let Dtls::Established(dtls) = &self.dtls {
                dtls.close().await;
            }
            self.ice.close().await;
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, layers).await.is_err() {
            tracing::warn!("closing the layers below took too long; abandoned");
        }
        self.tasks.close();
        if tokio::time::timeout(CLOSE_TIMEOUT, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("peer connection tasks did not finish in time");
        }
        {
            let mut states = self.shared.states();
            states.connection = PeerConnectionState::Closed;
            states.ice_connection = IceConnectionState::Closed;
            states.signaling = SignalingState::Closed;
        }
        // The application may be gone; never wait for it here.
        let _ = self
            .events
            .try_send(Box::new(PeerConnectionEvent::ConnectionStateChange(
                PeerConnectionState::Closed,
            )));
    }
}

fn max_message_size(size: strata_sdp::MaxMessageSize) -> dc::MaxMessageSize {
    match size {
        strata_sdp::MaxMessageSize::Bytes(bytes) => {
            dc::MaxMessageSize::Bytes(usize::try_from(bytes).unwrap_or(usize::MAX))
        }
        strata_sdp::MaxMessageSize::Unlimited => dc::MaxMessageSize::Unlimited,
    }
}

/// What a panic carried, when it was a message.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// The handshake's outcome when one is running; never ready otherwise.
async fn handshake_result(dtls: &mut Dtls) -> Result<DtlsTransport, strata_dtls_srtp::Error> {
    match dtls {
        Dtls::Handshaking(result) => match result.await {
            Ok(outcome) => outcome,
            Err(_) => Err(strata_dtls_srtp::Error::Closed),
        },
        _ => std::future::pending().await,
    }
}

/// The association's next event when there is one; never ready otherwise.
async fn association_event(sctp: &mut Option<Sctp>) -> Option<AssociationEvent> {
    match sctp {
        Some(sctp) => sctp.events.recv().await,
        None => std::future::pending().await,
    }
}

/// The next RTP/RTCP datagram once SRTP is keyed; never ready before (datagrams wait in
/// the ICE agent's bounded lane, where overflow is counted).
async fn media_datagram(channel: &PacketChannel, keyed: bool) -> Option<bytes::Bytes> {
    if keyed {
        channel.recv().await
    } else {
        std::future::pending().await
    }
}

/// Fires at the media session's next deadline; never without one.
async fn media_timer(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback host candidates only, IPv4, no mDNS: what the test namespace offers.
    pub(super) fn loopback_config() -> Configuration {
        let mut config = Configuration::default();
        config.ice.policy.include_loopback = true;
        config.ice.policy.ipv6 = false;
        config.ice.mdns = false;
        config
    }

    /// A driver on a loopback-only configuration, its command sender and its events.
    async fn driver() -> (
        Arc<Shared>,
        mpsc::Sender<Command>,
        mpsc::Receiver<Box<PeerConnectionEvent>>,
        tokio::task::JoinHandle<()>,
    ) {
        let config = loopback_config();
        let (commands_tx, commands) = mpsc::channel(8);
        let (events_tx, events) = mpsc::channel(64);
        let shared = Arc::new(Shared::new());
        let driver = Driver::new(config, Arc::clone(&shared), commands, events_tx)
            .await
            .expect("driver");
        let task = tokio::spawn(driver.run());
        (shared, commands_tx, events, task)
    }

    /// A driver whose panic at `site` has been reported: the state went to `Failed` before
    /// the `Failed` event carrying the reason, which is returned with the driver's handles.
    async fn failed_by(
        site: PanicSite,
    ) -> (
        Arc<Shared>,
        mpsc::Sender<Command>,
        mpsc::Receiver<Box<PeerConnectionEvent>>,
        tokio::task::JoinHandle<()>,
        Failure,
    ) {
        let (shared, commands, mut events, task) = driver().await;
        commands
            .send(Command::InjectPanic(site))
            .await
            .unwrap_or_else(|_| panic!("the driver takes commands"));
        let (state_failed, failure) = failure(&mut events).await;
        assert!(state_failed, "the state change comes before the reason");
        assert_eq!(shared.states().connection, PeerConnectionState::Failed);
        (shared, commands, events, task, failure)
    }

    /// The next `Failed` event, and whether the state change to `Failed` came first.
    async fn failure(events: &mut mpsc::Receiver<Box<PeerConnectionEvent>>) -> (bool, Failure) {
        let mut state_failed = false;
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("an event within ten seconds")
                .expect("events until the failure");
            match *event {
                PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Failed) => {
                    state_failed = true;
                }
                PeerConnectionEvent::Failed(failure) => return (state_failed, failure),
                _ => {}
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_the_driver_fails_the_connection_with_the_reason() {
        let (_shared, commands, _events, task, failure) = failed_by(PanicSite::Driver).await;
        assert_eq!(
            failure,
            Failure::Panicked {
                task: "driver",
                message: "injected into the driver".to_owned(),
            }
        );
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the driver task ends")
            .expect("the driver task ends without propagating the panic");
        // Commands now find the connection gone instead of waiting forever.
        let (reply, answer) = oneshot::channel();
        assert!(commands.send(Command::Stats(reply)).await.is_err());
        drop(answer);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_a_spawned_task_fails_the_connection_with_the_reason() {
        let (shared, commands, _events, task, failure) = failed_by(PanicSite::SpawnedTask).await;
        assert_eq!(
            failure,
            Failure::Panicked {
                task: "injected",
                message: "injected into a spawned task".to_owned(),
            }
        );

        // The driver itself lives on: it answers, and closes cleanly.
        let (reply, answer) = oneshot::channel();
        commands
            .send(Command::Stats(reply))
            .await
            .unwrap_or_else(|_| panic!("the driver takes commands"));
        assert!(answer.await.expect("an answer").is_ok());
        let (reply, answer) = oneshot::channel();
        commands
            .send(Command::Close(reply))
            .await
            .unwrap_or_else(|_| panic!("the driver takes commands"));
        answer.await.expect("closed").expect("closed cleanly");
        task.await.expect("the driver task ends");
        assert_eq!(shared.states().connection, PeerConnectionState::Closed);
    }
}

/// Every connection keeps its driver's state and its queues for its whole life, idle or
/// not, and a tokio queue reserves room for 32 entries when it is created: these bounds
/// fail when the types or futures grow back (the future bounds leave room for debug
/// builds, whose futures are larger).
#[cfg(test)]
mod idle_footprint {
    use super::*;

    #[test]
    fn queued_commands_stay_a_few_words() {
        assert!(size_of::<Command>() <= 24, "{}", size_of::<Command>());
        assert!(
            size_of::<MediaCommand>() <= 32,
            "{}",
            size_of::<MediaCommand>()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_driver_and_its_futures_stay_within_their_bounds() {
        let driver_size = size_of::<Driver>();
        assert!(driver_size <= 7 * 1024, "Driver is {driver_size} bytes");
        let new_driver = || async {
            let config = tests::loopback_config();
            let (_commands, commands_rx) = mpsc::channel(1);
            let (events, _events_rx) = mpsc::channel(1);
            Driver::new(config, Arc::new(Shared::new()), commands_rx, events)
                .await
                .expect("driver")
        };
        let mut driver = new_driver().await;
        // The loop, beside the driver it borrows (both live in one box per connection).
        let loop_size = size_of_val(&driver.run_until_closed());
        assert!(
            loop_size <= 4 * 1024,
            "the loop's state is {loop_size} bytes"
        );
        // The task's own future holds the box and what reporting a panic needs.
        let task = driver.run();
        let task_size = size_of_val(&task);
        assert!(task_size <= 1024, "the task's future is {task_size} bytes");
        drop(task);
    }
}
