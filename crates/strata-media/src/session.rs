//! The media session: every track of one connection, its RTP and RTCP.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::codec::depacketize;
use crate::config::{LocalTrackConfig, RemoteTrackConfig, SessionConfig};
use crate::event::{Event, KeyframeRequestKind, MediaData, Output, StreamEndReason};
use crate::local::{Sample, TrackLocal, TrackSeeds};
use crate::remote::{ReceiveStats, TrackRemote};
use crate::rng::Rng;
use crate::rtcp::{
    Bye, DlrrItem, ExtendedReport, Fir, FirEntry, Nack, NtpTime, Pli, ReceiverReport, ReportBlock,
    RtcpPacket, Sdes, SdesChunk, SdesItem, SenderReport, XrBlock, compact_duration, parse_compound,
    serialize_compound,
};
use crate::rtp::{AbsSendTime, ExtensionIds, HeaderExtensions, RtpPacket, TransportSeq};
use crate::stats::SessionStats;
use crate::twcc::{TwccReceiver, TwccSender};
use crate::{Error, Mid, SeqNo, Ssrc};

/// Remote SSRCs (media and RTX) a session tracks at most. A new SSRC beyond this evicts
/// the least recently seen unconfirmed one (fewer than two packets, not signalled), or is
/// dropped (counted in [`SessionStats::remote_ssrcs_rejected`]).
pub const MAX_REMOTE_SSRCS: usize = 64;
/// Outputs queued for [`MediaSession::poll_output`] at most. Beyond it, outputs caused by
/// the network are dropped (counted in [`SessionStats::outputs_dropped`]) and
/// [`MediaSession::write_sample`] fails with [`Error::OutputQueueFull`].
pub const MAX_QUEUED_OUTPUTS: usize = 8192;
/// Report blocks per RTCP report packet; more make further compounds (keeps each within
/// an MTU).
const REPORT_BLOCKS_PER_PACKET: usize = 20;
/// Receiver reference times (RFC 3611 §4.4) awaiting our DLRR answer at most, one per
/// sender of them; RRTRs from further sources before the next report are dropped (counted
/// in [`SessionStats::rrtrs_dropped`]). Also the most DLRR sub-blocks one report carries.
pub const MAX_PENDING_RRTRS: usize = 16;
/// A remote SSRC not heard from for this long is forgotten (swept at report time).
const ROUTE_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteKind {
    Media,
    /// An RTX stream; its media SSRC once known.
    Rtx {
        media: Option<Ssrc>,
    },
}

#[derive(Debug, Clone)]
struct Route {
    mid: Mid,
    kind: RouteKind,
    signalled: bool,
    packets: u64,
    last_seen: Instant,
}

/// The sans-IO RTP/RTCP core of one connection: local tracks we send, remote tracks we
/// receive, and the RTCP that ties them together (reports, NACK + RTX, PLI/FIR,
/// transport-wide feedback, BYE).
///
/// It sees plain RTP and RTCP: the driver unprotects SRTP before `handle_rtp` /
/// `handle_rtcp` and protects what `poll_output` returns.
///
/// # Calling convention
///
/// - **Inputs**: [`handle_rtp`](Self::handle_rtp), [`handle_rtcp`](Self::handle_rtcp),
///   [`handle_timeout`](Self::handle_timeout), and commands
///   ([`add_local_track`](Self::add_local_track), [`write_sample`](Self::write_sample),
///   [`request_keyframe`](Self::request_keyframe), [`close`](Self::close), ...). Each takes
///   the current time; time only moves forward (an earlier `now` is treated as the latest
///   seen, and counted).
/// - **Drain rule**: after any input, call [`poll_output`](Self::poll_output) until it
///   returns `None` — send `Rtp`/`Rtcp` outputs, hand `Event`s to the application — then
///   wait until [`poll_timeout`](Self::poll_timeout) (or the next packet or command) and
///   call [`handle_timeout`](Self::handle_timeout). `handle_timeout` is idempotent: calling
///   it early or twice does nothing wrong.
/// - **Randomness** comes from [`SessionConfig::seed`]; the same seed and inputs give the
///   same outputs.
#[derive(Debug)]
pub struct MediaSession {
    config: SessionConfig,
    epoch: Instant,
    latest: Instant,
    rng: Rng,
    rtcp_ssrc: Ssrc,
    local: BTreeMap<Mid, TrackLocal>,
    local_by_ssrc: HashMap<Ssrc, Mid>,
    remote: BTreeMap<Mid, TrackRemote>,
    routes: HashMap<Ssrc, Route>,
    inbound_extensions: ExtensionIds,
    twcc_rx: TwccReceiver,
    twcc_tx: TwccSender,
    outputs: VecDeque<Output>,
    next_report: Instant,
    /// Receiver reference times to answer in the next report.
    rrtrs: Vec<PendingRrtr>,
    closed: bool,
    stats: SessionStats,
}

impl MediaSession {
    /// A session with no tracks, starting at `now`.
    pub fn new(config: SessionConfig, now: Instant) -> Result<Self, Error> {
        config.validate()?;
        let mut rng = Rng::new(config.seed);
        let rtcp_ssrc = Ssrc(rng.next_u32());
        let mut session = Self {
            epoch: now,
            latest: now,
            rtcp_ssrc,
            local: BTreeMap::new(),
            local_by_ssrc: HashMap::new(),
            remote: BTreeMap::new(),
            routes: HashMap::new(),
            inbound_extensions: ExtensionIds::default(),
            twcc_rx: TwccReceiver::default(),
            twcc_tx: TwccSender::default(),
            outputs: VecDeque::new(),
            next_report: now,
            rrtrs: Vec::new(),
            closed: false,
            stats: SessionStats::default(),
            rng,
            config,
        };
        // The first report goes out after half an interval on average (RFC 3550 §6.2).
        session.next_report = now + session.report_interval().mul_f64(0.5);
        Ok(session)
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The SSRC our receiver reports and feedback come from.
    pub fn rtcp_ssrc(&self) -> Ssrc {
        self.rtcp_ssrc
    }

    /// The latest round-trip time measured: from a report block echoing one of our SRs,
    /// or, when we send nothing, from a DLRR answering our receiver reference time
    /// (RFC 3611).
    pub fn rtt(&self) -> Option<Duration> {
        self.stats.round_trip_time
    }

    /// The media SSRC and RTX SSRC of a local track.
    pub fn local_ssrcs(&self, mid: &Mid) -> Option<(Ssrc, Option<Ssrc>)> {
        self.local.get(mid).map(|t| (t.ssrc, t.rtx.map(|(_, s)| s)))
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // ---- commands ----------------------------------------------------------------------

    /// Adds a track to send. Returns its media SSRC.
    pub fn add_local_track(&mut self, config: LocalTrackConfig) -> Result<Ssrc, Error> {
        self.check_open()?;
        let seeds = TrackSeeds {
            ssrc: self.fresh_ssrc(),
            rtx_ssrc: self.fresh_ssrc(),
            seq: self.rng.next_u32() as u16,
            rtx_seq: self.rng.next_u32() as u16,
            timestamp: self.rng.next_u32(),
        };
        let duplicate = Error::DuplicateTrack {
            direction: "local",
            mid: config.mid.to_string(),
        };
        if self.local.contains_key(&config.mid) {
            return Err(duplicate);
        }
        let track = TrackLocal::new(config, &seeds, self.config.retransmission_cache_packets);
        if track
            .ssrcs()
            .any(|s| self.local_by_ssrc.contains_key(&s) || self.local_uses(s))
            || track.rtx.is_some_and(|(_, s)| s == track.ssrc)
        {
            return Err(duplicate);
        }
        let ssrc = track.ssrc;
        self.local_by_ssrc.insert(ssrc, track.config.mid.clone());
        self.local.insert(track.config.mid.clone(), track);
        Ok(ssrc)
    }

    /// Removes a local track and sends an RTCP BYE for its SSRCs.
    pub fn remove_local_track(&mut self, now: Instant, mid: &Mid) -> Result<(), Error> {
        self.check_open()?;
        self.advance(now);
        let track = self
            .local
            .remove(mid)
            .ok_or_else(|| unknown("local", mid))?;
        self.local_by_ssrc.remove(&track.ssrc);
        self.send_bye(track.ssrcs().collect());
        Ok(())
    }

    /// Adds a track to receive.
    pub fn add_remote_track(&mut self, config: RemoteTrackConfig) -> Result<(), Error> {
        self.check_open()?;
        if self.remote.contains_key(&config.mid) {
            return Err(Error::DuplicateTrack {
                direction: "remote",
                mid: config.mid.to_string(),
            });
        }
        let signalled = config
            .ssrcs
            .iter()
            .copied()
            .chain(config.rtx_ssrcs.iter().map(|&(_, rtx)| rtx));
        if signalled
            .clone()
            .any(|s| self.routes.get(&s).is_some_and(|r| r.signalled))
        {
            return Err(Error::DuplicateTrack {
                direction: "remote",
                mid: config.mid.to_string(),
            });
        }
        let track = TrackRemote::new(config)?;
        let config = &track.config;
        let mid = config.mid.clone();
        for &ssrc in &config.ssrcs {
            self.insert_signalled(ssrc, &mid, RouteKind::Media);
        }
        for &(media, rtx) in &config.rtx_ssrcs {
            self.insert_signalled(rtx, &mid, RouteKind::Rtx { media: Some(media) });
        }
        let ext = config.extensions;
        let ids = &mut self.inbound_extensions;
        ids.mid = ext.mid.or(ids.mid);
        ids.abs_send_time = ext.abs_send_time.or(ids.abs_send_time);
        ids.transport_cc = ext.transport_cc.or(ids.transport_cc);
        self.remote.insert(mid, track);
        Ok(())
    }

    /// Removes a remote track and forgets its streams.
    pub fn remove_remote_track(&mut self, mid: &Mid) -> Result<(), Error> {
        self.remote
            .remove(mid)
            .ok_or_else(|| unknown("remote", mid))?;
        self.routes.retain(|_, route| route.mid != *mid);
        Ok(())
    }

    /// Packetizes and sends one encoded sample on a local track.
    pub fn write_sample(&mut self, now: Instant, mid: &Mid, sample: &Sample) -> Result<(), Error> {
        self.check_open()?;
        let now = self.advance(now);
        let mtu = self.config.mtu;
        let track = self
            .local
            .get_mut(mid)
            .ok_or_else(|| unknown("local", mid))?;
        let room = header_room(track.config.extensions, mid);
        // Refuse before numbering packets, so that a refused sample leaves no gap: at most
        // one packet per (payload room - descriptor) bytes, plus slack for H.264 units
        // that do not fill their packets.
        let per_packet = mtu.saturating_sub(12 + room + 2 + 4).max(1);
        let estimate = sample.data.len().div_ceil(per_packet) + 16;
        if self.outputs.len() + estimate > MAX_QUEUED_OUTPUTS {
            return Err(Error::OutputQueueFull);
        }
        let packets = track.packetize(now, sample, mtu, room)?;
        for packet in packets {
            self.send_rtp(now, mid, packet, false);
        }
        Ok(())
    }

    /// Asks the sender of a remote track for a keyframe: a PLI, or a FIR when only FIR was
    /// negotiated. Returns whether one was sent: requests closer together than
    /// [`SessionConfig::keyframe_request_interval`], or before any stream of the track has
    /// arrived, are not.
    pub fn request_keyframe(&mut self, now: Instant, mid: &Mid) -> Result<bool, Error> {
        self.check_open()?;
        let now = self.advance(now);
        self.keyframe_request(now, mid, None)
    }

    /// Sends an RTCP BYE for every local SSRC and stops the session: later inputs are
    /// refused with [`Error::Closed`]. Outputs already queued (the BYE among them) can
    /// still be drained.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.advance(now);
        let ssrcs: Vec<Ssrc> = self.local.values().flat_map(TrackLocal::ssrcs).collect();
        if !ssrcs.is_empty() {
            self.send_bye(ssrcs);
        }
        self.closed = true;
        self.routes.clear();
    }

    // ---- inputs ------------------------------------------------------------------------

    /// Takes in one plain (unprotected) RTP packet.
    ///
    /// A packet that does not parse is an [`Error::Malformed`] (and counted). Well-formed
    /// packets that no track wants (unknown SSRC or payload type, padding, SSRC floods)
    /// are counted in [`stats`](Self::stats) and dropped.
    pub fn handle_rtp(&mut self, now: Instant, data: &Bytes) -> Result<(), Error> {
        self.check_open()?;
        let now = self.advance(now);
        let packet = match RtpPacket::parse(data) {
            Ok(packet) => packet,
            Err(error) => {
                self.stats.malformed_rtp += 1;
                return Err(error);
            }
        };
        let arrival = self.micros(now);
        let ssrc = packet.header.ssrc;
        let Some((mid, kind)) = self.route(now, &packet) else {
            return Ok(());
        };
        let transport_cc = self
            .remote
            .get(&mid)
            .is_some_and(|t| t.config.feedback.transport_cc);
        if transport_cc
            && let Some(seq) = self
                .inbound_extensions
                .transport_seq_of(&packet.header.extensions)
            && !self.twcc_rx.record(seq, arrival, ssrc)
        {
            self.stats.transport_feedback_dropped += 1;
        }
        match kind {
            RouteKind::Media => self.receive_media(now, &mid, &packet, data.len(), false),
            RouteKind::Rtx { media } => self.receive_rtx(now, &mid, packet, media, data.len()),
        }
        self.pump(now);
        while self.twcc_rx.is_full() {
            if !self.send_transport_feedback(now) {
                break;
            }
        }
        Ok(())
    }

    /// Takes in one plain (unprotected) RTCP packet, compound or reduced-size.
    pub fn handle_rtcp(&mut self, now: Instant, data: &Bytes) -> Result<(), Error> {
        self.check_open()?;
        let now = self.advance(now);
        let packets = match parse_compound(data) {
            Ok(packets) => packets,
            Err(error) => {
                self.stats.malformed_rtcp += 1;
                return Err(error);
            }
        };
        for packet in packets {
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    let route = self
                        .routes
                        .get(&sr.ssrc)
                        .filter(|r| r.kind == RouteKind::Media);
                    if let Some(stats) = route
                        .and_then(|r| self.remote.get_mut(&r.mid))
                        .and_then(|t| t.streams.get_mut(&sr.ssrc))
                    {
                        stats.last_sr = Some((sr.ntp.compact(), now));
                    }
                    for block in &sr.reports {
                        self.report_block_received(now, block);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    for block in &rr.reports {
                        self.report_block_received(now, block);
                    }
                }
                RtcpPacket::Bye(bye) => {
                    for ssrc in bye.sources {
                        self.end_remote_stream(ssrc, StreamEndReason::Bye);
                    }
                }
                RtcpPacket::Nack(nack) => self.nack_received(now, &nack),
                RtcpPacket::Pli(pli) => {
                    if let Some(track) = self.local_track_mut(pli.media_ssrc) {
                        track.stats.pli_count += 1;
                        let mid = track.config.mid.clone();
                        self.push_event(Event::KeyframeRequested {
                            mid,
                            kind: KeyframeRequestKind::Pli,
                        });
                    }
                }
                RtcpPacket::Fir(fir) => {
                    for entry in fir.entries {
                        if let Some(track) = self.local_track_mut(entry.ssrc)
                            && track.fir_is_new(entry.seq_nr)
                        {
                            track.stats.fir_count += 1;
                            let mid = track.config.mid.clone();
                            self.push_event(Event::KeyframeRequested {
                                mid,
                                kind: KeyframeRequestKind::Fir,
                            });
                        }
                    }
                }
                RtcpPacket::TransportFeedback(feedback) => {
                    let report = self.twcc_tx.report(&feedback);
                    self.push_event(Event::TransportFeedback(report));
                }
                RtcpPacket::ExtendedReport(xr) => self.extended_report_received(now, &xr),
                RtcpPacket::Sdes(_) => {}
                RtcpPacket::Remb(_) | RtcpPacket::Unknown { .. } => self.stats.rtcp_ignored += 1,
            }
        }
        Ok(())
    }

    /// Runs timers: jitter-buffer releases, NACKs, reports, transport-wide feedback.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        let now = self.advance(now);
        for track in self.remote.values_mut() {
            track.jitter.handle_timeout(now);
        }
        self.pump(now);
        if now >= self.next_report {
            self.send_reports(now);
            self.sweep_routes(now);
            self.next_report = now + self.report_interval();
        }
        if self.twcc_rx.has_pending()
            && self
                .twcc_rx
                .last_feedback
                .is_none_or(|t| now >= t + self.config.transport_feedback_interval)
        {
            self.send_transport_feedback(now);
        }
    }

    // ---- outputs -----------------------------------------------------------------------

    /// The next packet to send or event to handle; see the drain rule on [`MediaSession`].
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut next = self.next_report;
        for track in self.remote.values() {
            if let Some(t) = track.jitter.poll_timeout() {
                next = next.min(t);
            }
        }
        if self.twcc_rx.has_pending() {
            let due = self
                .twcc_rx
                .last_feedback
                .map_or(self.latest, |t| t + self.config.transport_feedback_interval);
            next = next.min(due);
        }
        Some(next.max(self.latest))
    }

    /// Counters and the stats of every stream.
    pub fn stats(&self) -> SessionStats {
        let mut stats = self.stats.clone();
        for track in self.remote.values() {
            for (&ssrc, s) in &track.streams {
                stats.inbound.push(track.inbound_stats(ssrc, s));
            }
        }
        for track in self.local.values() {
            stats.outbound.push(track.stats.clone());
            stats.remote_inbound.push(track.remote.clone());
        }
        stats
    }

    // ---- internals ---------------------------------------------------------------------

    fn check_open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn advance(&mut self, now: Instant) -> Instant {
        if now < self.latest {
            self.stats.time_regressions += 1;
            self.latest
        } else {
            self.latest = now;
            now
        }
    }

    fn micros(&self, now: Instant) -> i64 {
        i64::try_from(now.saturating_duration_since(self.epoch).as_micros()).unwrap_or(i64::MAX)
    }

    fn ntp_at(&self, now: Instant) -> NtpTime {
        NtpTime::from_unix(
            self.config.wallclock_at_start + now.saturating_duration_since(self.epoch),
        )
    }

    fn report_interval(&mut self) -> Duration {
        self.config.report_interval.mul_f64(0.5 + self.rng.unit())
    }

    fn local_uses(&self, ssrc: Ssrc) -> bool {
        ssrc == self.rtcp_ssrc || self.local.values().any(|t| t.ssrcs().any(|s| s == ssrc))
    }

    fn fresh_ssrc(&mut self) -> Ssrc {
        loop {
            let ssrc = Ssrc(self.rng.next_u32());
            if ssrc.0 != 0 && !self.local_uses(ssrc) && !self.routes.contains_key(&ssrc) {
                return ssrc;
            }
        }
    }

    fn local_track_mut(&mut self, ssrc: Ssrc) -> Option<&mut TrackLocal> {
        let Some(mid) = self.local_by_ssrc.get(&ssrc) else {
            self.stats.rtcp_unknown_ssrc += 1;
            return None;
        };
        self.local.get_mut(mid)
    }

    fn push_output(&mut self, output: Output) {
        if self.outputs.len() >= MAX_QUEUED_OUTPUTS {
            self.stats.outputs_dropped += 1;
        } else {
            self.outputs.push_back(output);
        }
    }

    fn push_event(&mut self, event: Event) {
        self.push_output(Output::Event(event));
    }

    fn insert_signalled(&mut self, ssrc: Ssrc, mid: &Mid, kind: RouteKind) {
        let route = Route {
            mid: mid.clone(),
            kind,
            signalled: true,
            packets: 0,
            last_seen: self.latest,
        };
        self.routes.insert(ssrc, route);
    }

    /// Finds (or learns) the track of a packet's SSRC: the signalled SSRC, else the MID
    /// header extension, else the one track that negotiated its payload type (as browsers
    /// route unsignalled streams).
    fn route(&mut self, now: Instant, packet: &RtpPacket) -> Option<(Mid, RouteKind)> {
        let ssrc = packet.header.ssrc;
        if let Some(route) = self.routes.get_mut(&ssrc) {
            route.packets += 1;
            route.last_seen = now;
            return Some((route.mid.clone(), route.kind));
        }
        let pt = packet.header.payload_type;
        let by_mid = self
            .inbound_extensions
            .mid_of(&packet.header.extensions)
            .filter(|m| self.remote.contains_key(m));
        let mid = by_mid.or_else(|| {
            let mut claiming = self.remote.values().filter(|t| t.claims_payload_type(pt));
            match (claiming.next(), claiming.next()) {
                (Some(track), None) => Some(track.config.mid.clone()),
                _ => None,
            }
        });
        let Some(mid) = mid else {
            self.stats.unknown_ssrc += 1;
            return None;
        };
        let track = &self.remote[&mid];
        let kind = if track.codec(pt).is_some() {
            RouteKind::Media
        } else if track.rtx_codec(pt).is_some() {
            RouteKind::Rtx { media: None }
        } else {
            self.stats.unknown_payload_type += 1;
            return None;
        };
        if self.routes.len() >= MAX_REMOTE_SSRCS && !self.evict_unconfirmed() {
            self.stats.remote_ssrcs_rejected += 1;
            return None;
        }
        self.routes.insert(
            ssrc,
            Route {
                mid: mid.clone(),
                kind,
                signalled: false,
                packets: 1,
                last_seen: now,
            },
        );
        Some((mid, kind))
    }

    /// Forgets the least recently seen unsignalled SSRC with fewer than two packets.
    fn evict_unconfirmed(&mut self) -> bool {
        let victim = self
            .routes
            .iter()
            .filter(|(_, r)| !r.signalled && r.packets < 2)
            .min_by_key(|(ssrc, r)| (r.last_seen, **ssrc))
            .map(|(&ssrc, _)| ssrc);
        let Some(ssrc) = victim else { return false };
        self.forget_remote_ssrc(ssrc);
        self.stats.remote_ssrcs_evicted += 1;
        true
    }

    /// Forgets a remote SSRC; returns its track when it had a stream there.
    fn forget_remote_ssrc(&mut self, ssrc: Ssrc) -> Option<Mid> {
        let route = self.routes.remove(&ssrc)?;
        let track = self.remote.get_mut(&route.mid)?;
        track.jitter.remove_stream(ssrc);
        track.streams.remove(&ssrc).map(|_| route.mid)
    }

    fn sweep_routes(&mut self, now: Instant) {
        let idle: Vec<Ssrc> = self
            .routes
            .iter()
            .filter(|(_, r)| {
                !r.signalled && now.saturating_duration_since(r.last_seen) >= ROUTE_IDLE_TIMEOUT
            })
            .map(|(&s, _)| s)
            .collect();
        for ssrc in idle {
            if let Some(mid) = self.forget_remote_ssrc(ssrc) {
                self.push_event(Event::RemoteStreamEnded {
                    mid,
                    ssrc,
                    reason: StreamEndReason::Timeout,
                });
            }
        }
    }

    fn receive_rtx(
        &mut self,
        now: Instant,
        mid: &Mid,
        mut packet: RtpPacket,
        media: Option<Ssrc>,
        wire_len: usize,
    ) {
        let Some(track) = self.remote.get(mid) else {
            return;
        };
        let Some(codec) = track.rtx_codec(packet.header.payload_type).copied() else {
            self.stats.unknown_payload_type += 1;
            return;
        };
        if packet.payload.len() <= 2 {
            // Padding-only RTX (bandwidth probes) or a bare OSN.
            if packet.payload.len() == 1 {
                self.stats.malformed_payloads += 1;
            } else {
                self.stats.padding_packets += 1;
            }
            return;
        }
        let media = media.or_else(|| {
            let mut streams = track.streams.keys();
            match (streams.next(), streams.next()) {
                (Some(&only), None) => Some(only),
                _ => None,
            }
        });
        let Some(media) = media else {
            self.stats.rtx_unmatched += 1;
            return;
        };
        if let Some(route) = self.routes.get_mut(&packet.header.ssrc) {
            route.kind = RouteKind::Rtx { media: Some(media) };
        }
        let osn = SeqNo(u16::from_be_bytes([packet.payload[0], packet.payload[1]]));
        packet.header.ssrc = media;
        packet.header.sequence_number = osn;
        packet.header.payload_type = codec.payload_type;
        packet.payload = packet.payload.slice(2..);
        self.receive_media(now, mid, &packet, wire_len - 2, true);
    }

    fn receive_media(
        &mut self,
        now: Instant,
        mid: &Mid,
        packet: &RtpPacket,
        wire_len: usize,
        retransmission: bool,
    ) {
        let arrival = self.micros(now);
        let Some(track) = self.remote.get_mut(mid) else {
            return;
        };
        let header = &packet.header;
        let Some(codec) = track.codec(header.payload_type).copied() else {
            self.stats.unknown_payload_type += 1;
            return;
        };
        if packet.payload.is_empty() {
            self.stats.padding_packets += 1;
            if !retransmission {
                self.padding_received(now, mid, packet, wire_len);
            }
            return;
        }
        let Ok(depacketized) = depacketize(codec.codec, &packet.payload) else {
            self.stats.malformed_payloads += 1;
            return;
        };
        let stream = track
            .streams
            .entry(header.ssrc)
            .or_insert_with(|| ReceiveStats::new(codec.codec));
        stream.codec = codec.codec;
        // Without RTX a resend travels as the original packet: one we NACKed counts as a
        // retransmission (and tells the jitter buffer so).
        let resent = !retransmission
            && codec.rtx_payload_type.is_none()
            && stream.take_nacked(header.sequence_number);
        if retransmission {
            stream.retransmission(packet.payload.len());
        } else {
            stream.original(
                header.sequence_number,
                header.timestamp,
                arrival,
                packet.payload.len(),
                wire_len - packet.payload.len(),
            );
            if resent {
                stream.retransmission(packet.payload.len());
            }
        }
        let retransmission = retransmission || resent;
        let mut jitter_packet = strata_jitter::Packet::new(
            header.ssrc,
            header.sequence_number.0,
            header.timestamp,
            depacketized.data,
        )
        .with_marker(header.marker);
        if depacketized.keyframe {
            jitter_packet = jitter_packet.starting_keyframe();
        } else if depacketized.frame_start {
            jitter_packet = jitter_packet.starting_frame();
        }
        if retransmission {
            jitter_packet = jitter_packet.retransmitted();
        }
        track.jitter.handle_packet(now, jitter_packet);
    }

    /// A padding-only packet on a media stream (a sender probing bandwidth without RTX)
    /// still takes a sequence number: counted as received (RFC 3550 counts every packet),
    /// and handed to the jitter buffer as an empty, complete unit of its own so that its
    /// number is not taken for a loss. Its empty "frame" is not delivered.
    fn padding_received(&mut self, now: Instant, mid: &Mid, packet: &RtpPacket, wire_len: usize) {
        let arrival = self.micros(now);
        let Some(track) = self.remote.get_mut(mid) else {
            return;
        };
        let header = &packet.header;
        // Only streams already started: padding cannot start a stream.
        let Some(stream) = track.streams.get_mut(&header.ssrc) else {
            return;
        };
        stream.original(
            header.sequence_number,
            header.timestamp,
            arrival,
            0,
            wire_len,
        );
        let unit = strata_jitter::Packet::new(
            header.ssrc,
            header.sequence_number.0,
            header.timestamp,
            Bytes::new(),
        )
        .starting_frame()
        .with_marker(true);
        track.jitter.handle_packet(now, unit);
    }

    /// Moves every jitter-buffer output into the session's outputs.
    fn pump(&mut self, now: Instant) {
        let mids: Vec<Mid> = self.remote.keys().cloned().collect();
        for mid in mids {
            let mut outputs = Vec::new();
            if let Some(track) = self.remote.get_mut(&mid) {
                while let Some(output) = track.jitter.poll_output() {
                    outputs.push(output);
                }
            }
            for output in outputs {
                self.jitter_output(now, &mid, output);
            }
        }
    }

    fn jitter_output(&mut self, now: Instant, mid: &Mid, output: strata_jitter::Output) {
        use strata_jitter::{Event as JitterEvent, Output as JitterOutput, RemoveReason};
        let Some(track) = self.remote.get_mut(mid) else {
            return;
        };
        match output {
            JitterOutput::Frame(frame) => {
                let Some(stream) = track.streams.get_mut(&frame.ssrc) else {
                    return;
                };
                if frame.payloads.iter().all(Bytes::is_empty) {
                    // Padding (see `padding_received`).
                    return;
                }
                stream.frames += 1;
                if frame.keyframe {
                    stream.keyframes += 1;
                }
                let data = concat(&frame.payloads);
                let codec = stream.codec;
                self.push_event(Event::Media(MediaData {
                    mid: mid.clone(),
                    ssrc: frame.ssrc,
                    codec,
                    rtp_timestamp: frame.timestamp.value(),
                    keyframe: frame.keyframe,
                    data,
                    playout_at: frame.playout_at,
                    late: frame.late,
                }));
            }
            JitterOutput::Audio(audio) => {
                let Some(stream) = track.streams.get(&audio.ssrc) else {
                    return;
                };
                if audio.payload.is_empty() {
                    // Padding (see `padding_received`).
                    return;
                }
                let codec = stream.codec;
                self.push_event(Event::Media(MediaData {
                    mid: mid.clone(),
                    ssrc: audio.ssrc,
                    codec,
                    rtp_timestamp: audio.timestamp.value(),
                    keyframe: false,
                    data: audio.payload,
                    playout_at: audio.playout_at,
                    late: false,
                }));
            }
            JitterOutput::Gap(gap) => self.push_event(Event::AudioGap {
                mid: mid.clone(),
                ssrc: gap.ssrc,
                rtp_timestamp: gap.timestamp.value(),
                packets: gap.count,
                playout_at: gap.playout_at,
            }),
            JitterOutput::Nack(nack) => self.send_nacks(mid, &nack),
            JitterOutput::KeyframeRequest(ssrc) => {
                // Rate-limited by the jitter buffer and again by the session; a track that
                // negotiated neither PLI nor FIR cannot ask.
                let _ = self.keyframe_request(now, mid, Some(ssrc));
            }
            JitterOutput::Event(JitterEvent::StreamStarted(ssrc)) => {
                self.push_event(Event::RemoteStreamStarted {
                    mid: mid.clone(),
                    ssrc,
                });
            }
            JitterOutput::Event(JitterEvent::StreamRemoved { ssrc, reason }) => {
                let reason = match reason {
                    RemoveReason::Idle => StreamEndReason::Timeout,
                    RemoveReason::Evicted => StreamEndReason::Evicted,
                    // The session removed it and reported why.
                    _ => return,
                };
                track.streams.remove(&ssrc);
                self.routes.retain(|s, r| {
                    *s != ssrc && r.kind != RouteKind::Rtx { media: Some(ssrc) } || r.signalled
                });
                self.push_event(Event::RemoteStreamEnded {
                    mid: mid.clone(),
                    ssrc,
                    reason,
                });
            }
            _ => {}
        }
    }

    /// Turns a jitter-buffer NACK list into RTCP generic NACKs, each within the MTU.
    fn send_nacks(&mut self, mid: &Mid, nack: &strata_jitter::Nack) {
        let Some(track) = self.remote.get_mut(mid) else {
            return;
        };
        if !track.config.feedback.nack {
            return;
        }
        let packet = Nack::from_seqs(
            self.rtcp_ssrc,
            nack.ssrc,
            nack.seqs.iter().map(|s| SeqNo(s.wire())),
        );
        // Each NACK packet within the MTU, beside the report and SDES of a compound.
        let per_packet = (self.config.mtu - 128) / 4;
        let packets: Vec<Nack> = packet
            .entries
            .chunks(per_packet)
            .map(|entries| Nack {
                sender_ssrc: packet.sender_ssrc,
                media_ssrc: packet.media_ssrc,
                entries: entries.to_vec(),
            })
            .collect();
        if let Some(stream) = track.streams.get_mut(&nack.ssrc) {
            stream.nacks_sent += packets.len() as u64;
            for seq in &nack.seqs {
                stream.remember_nacked(SeqNo(seq.wire()));
            }
        }
        for packet in packets {
            self.send_rtcp(vec![RtcpPacket::Nack(packet)]);
        }
    }

    fn end_remote_stream(&mut self, ssrc: Ssrc, reason: StreamEndReason) {
        let Some(route) = self.routes.get(&ssrc) else {
            return;
        };
        if route.kind != RouteKind::Media {
            return;
        }
        let mid = route.mid.clone();
        if let Some(track) = self.remote.get_mut(&mid) {
            track.streams.remove(&ssrc);
            // Its `StreamRemoved { Removed }` output is ignored by `jitter_output`: this
            // event says why.
            track.jitter.remove_stream(ssrc);
        }
        self.routes.retain(|s, r| {
            r.signalled || (*s != ssrc && r.kind != RouteKind::Rtx { media: Some(ssrc) })
        });
        self.push_event(Event::RemoteStreamEnded { mid, ssrc, reason });
    }

    fn keyframe_request(
        &mut self,
        now: Instant,
        mid: &Mid,
        ssrc: Option<Ssrc>,
    ) -> Result<bool, Error> {
        let interval = self.config.keyframe_request_interval;
        let rtcp_ssrc = self.rtcp_ssrc;
        let track = self
            .remote
            .get_mut(mid)
            .ok_or_else(|| unknown("remote", mid))?;
        let feedback = track.config.feedback;
        if !feedback.pli && !feedback.fir {
            return Err(Error::NotNegotiated("PLI or FIR"));
        }
        if track
            .last_keyframe_request
            .is_some_and(|last| now < last + interval)
        {
            return Ok(false);
        }
        let ssrcs: Vec<Ssrc> =
            ssrc.map_or_else(|| track.streams.keys().copied().collect(), |s| vec![s]);
        if ssrcs.is_empty() {
            return Ok(false);
        }
        track.last_keyframe_request = Some(now);
        let packets = if feedback.pli {
            ssrcs
                .iter()
                .map(|&media_ssrc| {
                    if let Some(stream) = track.streams.get_mut(&media_ssrc) {
                        stream.plis_sent += 1;
                    }
                    RtcpPacket::Pli(Pli {
                        sender_ssrc: rtcp_ssrc,
                        media_ssrc,
                    })
                })
                .collect()
        } else {
            let seq_nr = track.fir_seq;
            track.fir_seq = seq_nr.wrapping_add(1);
            for s in &ssrcs {
                if let Some(stream) = track.streams.get_mut(s) {
                    stream.firs_sent += 1;
                }
            }
            let entries = ssrcs
                .iter()
                .map(|&ssrc| FirEntry { ssrc, seq_nr })
                .collect();
            vec![RtcpPacket::Fir(Fir {
                sender_ssrc: rtcp_ssrc,
                entries,
            })]
        };
        self.send_rtcp(packets);
        Ok(true)
    }

    fn report_block_received(&mut self, now: Instant, block: &ReportBlock) {
        let now_compact = self.ntp_at(now).compact();
        let Some(mid) = self.local_by_ssrc.get(&block.ssrc) else {
            return;
        };
        let Some(track) = self.local.get_mut(mid) else {
            return;
        };
        let rtt = round_trip_time(now_compact, block.last_sr, block.delay_since_last_sr);
        track.report_received(block, rtt);
        if let Some(rtt) = rtt {
            self.rtt_measured(rtt);
        }
    }

    /// Receiver reference times are kept to be answered; DLRR answers to ours measure
    /// the round trip when we send nothing that reports could echo (RFC 3611 §4.4, §4.5).
    fn extended_report_received(&mut self, now: Instant, xr: &ExtendedReport) {
        let mut used = false;
        for block in &xr.blocks {
            match block {
                XrBlock::ReceiverReferenceTime(ntp) => {
                    used = true;
                    let last_rr = ntp.compact();
                    if let Some(pending) = self.rrtrs.iter_mut().find(|p| p.ssrc == xr.ssrc) {
                        pending.last_rr = last_rr;
                        pending.arrived = now;
                    } else if self.rrtrs.len() < MAX_PENDING_RRTRS {
                        self.rrtrs.push(PendingRrtr {
                            ssrc: xr.ssrc,
                            last_rr,
                            arrived: now,
                        });
                    } else {
                        self.stats.rrtrs_dropped += 1;
                    }
                }
                XrBlock::Dlrr(items) => {
                    used = true;
                    let now_compact = self.ntp_at(now).compact();
                    let us = self.rtcp_ssrc;
                    for item in items.iter().filter(|item| item.ssrc == us) {
                        let (sent, held) = (item.last_rr, item.delay_since_last_rr);
                        if let Some(rtt) = round_trip_time(now_compact, sent, held) {
                            self.stats.dlrr_rtt_measurements += 1;
                            self.rtt_measured(rtt);
                        }
                    }
                }
                XrBlock::Unknown { .. } => {}
            }
        }
        if !used {
            self.stats.rtcp_ignored += 1;
        }
    }

    /// The session's round-trip time, which the jitter buffers' NACK timing follows.
    fn rtt_measured(&mut self, rtt: Duration) {
        self.stats.round_trip_time = Some(rtt);
        for remote in self.remote.values_mut() {
            remote.jitter.set_rtt(rtt);
        }
    }

    fn nack_received(&mut self, now: Instant, nack: &Nack) {
        let min_interval = self.stats.round_trip_time.unwrap_or(Duration::ZERO);
        let Some(track) = self.local_track_mut(nack.media_ssrc) else {
            return;
        };
        track.stats.nack_count += 1;
        let mid = track.config.mid.clone();
        let packets: Vec<RtpPacket> = nack
            .lost()
            .filter_map(|seq| track.retransmission(seq, now, min_interval))
            .collect();
        for packet in packets {
            self.send_rtp(now, &mid, packet, true);
        }
    }

    /// Adds the session's header extensions, serializes, counts and queues a packet.
    fn send_rtp(&mut self, now: Instant, mid: &Mid, mut packet: RtpPacket, retransmission: bool) {
        let Some(track) = self.local.get(mid) else {
            return;
        };
        let ids = track.config.extensions;
        let ext = &mut packet.header.extensions;
        if let Some(id) = ids.mid {
            ext.set(id, Bytes::copy_from_slice(mid.as_str().as_bytes()));
        }
        if let Some(id) = ids.abs_send_time {
            let since_epoch =
                self.config.wallclock_at_start + now.saturating_duration_since(self.epoch);
            ext.set(id, AbsSendTime::from_duration(since_epoch).to_bytes());
        }
        if let Some(id) = ids.transport_cc {
            ext.set(id, TransportSeq(0).to_bytes());
            let seq = self.twcc_tx.stamp(now, packet.len());
            packet.header.extensions.set(id, seq.to_bytes());
        }
        let wire = packet.serialize();
        let len = wire.len();
        if let Some(track) = self.local.get_mut(mid) {
            if retransmission {
                track.retransmitted(&packet, len);
            } else {
                track.sent(&packet, len);
            }
        }
        self.push_output(Output::Rtp(wire));
    }

    /// Queues RTCP packets; unless reduced-size RTCP was negotiated, as a compound that
    /// starts with a receiver report and carries our CNAME (RFC 3550 §6.1).
    fn send_rtcp(&mut self, mut packets: Vec<RtcpPacket>) {
        let starts_with_report = matches!(
            packets.first(),
            Some(RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_))
        );
        if !self.config.rtcp_reduced_size && !starts_with_report {
            packets.insert(
                0,
                RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: self.rtcp_ssrc,
                    reports: Vec::new(),
                }),
            );
            packets.insert(1, self.sdes(&[self.rtcp_ssrc]));
        }
        self.push_output(Output::Rtcp(serialize_compound(&packets)));
    }

    fn sdes(&self, ssrcs: &[Ssrc]) -> RtcpPacket {
        let chunks = ssrcs
            .iter()
            .map(|&ssrc| SdesChunk {
                ssrc,
                items: vec![SdesItem::cname(&self.config.cname)],
            })
            .collect();
        RtcpPacket::Sdes(Sdes { chunks })
    }

    fn send_bye(&mut self, sources: Vec<Ssrc>) {
        let packets = vec![
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.rtcp_ssrc,
                reports: Vec::new(),
            }),
            self.sdes(&[self.rtcp_ssrc]),
            RtcpPacket::Bye(Bye {
                sources,
                reason: None,
            }),
        ];
        self.push_output(Output::Rtcp(serialize_compound(&packets)));
    }

    /// Sender reports for every local track that has sent, receiver report blocks for every
    /// remote stream, and SDES (RFC 3550 §6.4); then an extended report (RFC 3611) with
    /// our reference time when we only receive, and the answers to the peer's.
    fn send_reports(&mut self, now: Instant) {
        let mut blocks = Vec::new();
        for track in self.remote.values_mut() {
            for (&ssrc, stream) in &mut track.streams {
                blocks.push(stream.report_block(ssrc, now));
            }
        }
        let ntp = self.ntp_at(now);
        let mut senders: Vec<SenderReport> = self
            .local
            .values()
            .filter(|t| t.stats.packets_sent > 0)
            .map(|t| {
                // With RTX, retransmissions travel on another SSRC.
                let (packets, octets) = if t.rtx.is_some() {
                    (
                        t.stats.packets_sent - t.stats.retransmitted_packets_sent,
                        t.stats.bytes_sent - t.stats.retransmitted_bytes_sent,
                    )
                } else {
                    (t.stats.packets_sent, t.stats.bytes_sent)
                };
                SenderReport {
                    ssrc: t.ssrc,
                    ntp,
                    rtp_timestamp: t.rtp_time_at(now),
                    packet_count: packets as u32,
                    octet_count: octets as u32,
                    reports: Vec::new(),
                }
            })
            .collect();
        let answers: Vec<DlrrItem> = self
            .rrtrs
            .drain(..)
            .map(|pending| DlrrItem {
                ssrc: pending.ssrc,
                last_rr: pending.last_rr,
                delay_since_last_rr: compact_duration(
                    now.saturating_duration_since(pending.arrived),
                ),
            })
            .collect();
        let mut xr_blocks = Vec::new();
        if senders.is_empty() && !blocks.is_empty() {
            // Nothing we send can be echoed in a report block: ask for the DLRR answer.
            xr_blocks.push(XrBlock::ReceiverReferenceTime(ntp));
        }
        if !answers.is_empty() {
            xr_blocks.push(XrBlock::Dlrr(answers));
        }
        if senders.is_empty() && blocks.is_empty() && xr_blocks.is_empty() {
            return;
        }
        let mut groups = blocks.chunks(REPORT_BLOCKS_PER_PACKET);
        let first_blocks = groups
            .next()
            .map(<[ReportBlock]>::to_vec)
            .unwrap_or_default();
        let mut packets = Vec::new();
        let sdes_ssrcs: Vec<Ssrc>;
        if let Some(first) = senders.first_mut() {
            first.reports = first_blocks;
            sdes_ssrcs = senders.iter().map(|s| s.ssrc).collect();
            packets.extend(senders.into_iter().map(RtcpPacket::SenderReport));
        } else {
            sdes_ssrcs = vec![self.rtcp_ssrc];
            packets.push(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.rtcp_ssrc,
                reports: first_blocks,
            }));
        }
        packets.push(self.sdes(&sdes_ssrcs));
        if !xr_blocks.is_empty() {
            packets.push(RtcpPacket::ExtendedReport(ExtendedReport {
                // The RRTR's sender is the receiver a DLRR names: our receiver reports' SSRC.
                ssrc: sdes_ssrcs[0],
                blocks: xr_blocks,
            }));
        }
        let mut compounds = vec![serialize_compound(&packets)];
        for group in groups {
            let packets = [
                RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: self.rtcp_ssrc,
                    reports: group.to_vec(),
                }),
                self.sdes(&[self.rtcp_ssrc]),
            ];
            compounds.push(serialize_compound(&packets));
        }
        for compound in compounds {
            self.push_output(Output::Rtcp(compound));
        }
    }

    fn send_transport_feedback(&mut self, now: Instant) -> bool {
        self.twcc_rx.last_feedback = Some(now);
        let Some(feedback) = self.twcc_rx.build(self.rtcp_ssrc) else {
            return false;
        };
        self.stats.transport_feedback_sent += 1;
        self.send_rtcp(vec![RtcpPacket::TransportFeedback(feedback)]);
        true
    }
}

/// A receiver reference time awaiting its DLRR answer.
#[derive(Debug)]
struct PendingRrtr {
    /// Who sent it.
    ssrc: Ssrc,
    /// Its middle 32 bits.
    last_rr: u32,
    /// When it arrived.
    arrived: Instant,
}

/// The round trip from a compact NTP time we sent, echoed at `now` after the peer held it
/// for `held` (1/65536 s; RFC 3550 §6.4.1, RFC 3611 §4.5). `None` when nothing was echoed
/// (0) or the result is negative (a clock jump or a lying peer).
fn round_trip_time(now: u32, echoed: u32, held: u32) -> Option<Duration> {
    (echoed != 0)
        .then(|| now.wrapping_sub(echoed).wrapping_sub(held))
        .filter(|&units| units < 0x8000_0000)
        .map(|units| Duration::from_micros(u64::from(units) * 1_000_000 / 65_536))
}

fn unknown(direction: &'static str, mid: &Mid) -> Error {
    Error::UnknownTrack {
        direction,
        mid: mid.to_string(),
    }
}

/// Bytes the session's header extensions add to a packet of track `mid`.
fn header_room(ids: ExtensionIds, mid: &Mid) -> usize {
    let mut ext = HeaderExtensions::default();
    if let Some(id) = ids.mid {
        ext.set(id, Bytes::copy_from_slice(mid.as_str().as_bytes()));
    }
    if let Some(id) = ids.abs_send_time {
        ext.set(id, AbsSendTime(0).to_bytes());
    }
    if let Some(id) = ids.transport_cc {
        ext.set(id, TransportSeq(0).to_bytes());
    }
    ext.encoded_len()
}

fn concat(parts: &[Bytes]) -> Bytes {
    if let [one] = parts {
        return one.clone();
    }
    let mut out = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
    for part in parts {
        out.extend_from_slice(part);
    }
    out.freeze()
}
