//! The connection's media plane, as the driver runs it: one `strata-media` session for
//! every track, the SRTP session keyed from the DTLS export, and the links to the
//! application's track handles.
//!
//! It does no I/O itself: the driver hands it datagrams, samples and the time, sends the
//! datagrams [`poll_transmit`](MediaPlane::poll_transmit) returns and emits the events
//! [`poll_event`](MediaPlane::poll_event) returns. Drain both after every input.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use strata_dtls_srtp::srtp::{MAX_OVERHEAD, SrtpConfig, SrtpSession, is_rtcp};
use strata_dtls_srtp::{SrtpKeyingMaterial, SrtpStats};
use strata_media::jitter::DelayMode;
use strata_media::{
    Codec, Event, LocalTrackConfig, MediaData, MediaSession, Mid, Output, RemoteTrackConfig,
    Sample, SessionConfig, SessionStats, StreamEndReason,
};
use strata_sdp::{NegotiatedMedia, TransceiverId};
use tokio::sync::mpsc;

use crate::driver::MediaCommand;
use crate::error::Error;
use crate::events::PeerConnectionEvent;
use crate::track::{LocalNegotiation, LocalTrackLink, TrackKind, TrackRemote};

/// What the media plane dropped or refused, beside the counters of the media session and
/// the SRTP session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaDeliveryStats {
    /// Received samples dropped because a [`TrackRemote`]'s queue
    /// ([`TRACK_SAMPLE_QUEUE`](crate::TRACK_SAMPLE_QUEUE)) was full.
    pub samples_dropped: u64,
    /// Inbound RTP/RTCP datagrams dropped because no SRTP keys exist (DTLS not yet
    /// established, or the peer negotiated no SRTP profile).
    pub datagrams_without_keys: u64,
    /// Outbound packets dropped before SRTP keys existed.
    pub unsent_without_keys: u64,
    /// Inbound datagrams SRTP refused (the reason is counted in `srtp`).
    pub srtp_refused: u64,
    /// Unprotected packets the media session refused as malformed (counted there too).
    pub malformed: u64,
    /// Outbound packets SRTP refused to protect.
    pub protect_failures: u64,
    /// Negotiated sections no track could be configured from (no codec Strata carries).
    pub unusable_sections: u64,
}

struct LocalEntry {
    link: LocalTrackLink,
    /// Its transceiver in the negotiator.
    transceiver: TransceiverId,
    ssrc: strata_media::Ssrc,
    rtx_ssrc: strata_media::Ssrc,
    /// The mid it sends on, when the session has it.
    sending: Option<Mid>,
}

struct RemoteEntry {
    kind: TrackKind,
    /// What the session was configured with, to notice a renegotiation that changes it.
    config: RemoteTrackConfig,
    msids: Vec<strata_sdp::model::Msid>,
    /// The application's handle, once a stream started; dropped when the track ends.
    samples: Option<mpsc::Sender<MediaData>>,
}

/// Identifies a local track in its connection.
pub(crate) type TrackId = u64;

pub(crate) struct MediaPlane {
    session: MediaSession,
    srtp: Option<SrtpSession>,
    cname: String,
    local: HashMap<TrackId, LocalEntry>,
    remote: HashMap<Mid, RemoteEntry>,
    events: VecDeque<PeerConnectionEvent>,
    media_commands: mpsc::WeakSender<MediaCommand>,
    stats: MediaDeliveryStats,
    /// The datagram [`poll_transmit`](Self::poll_transmit) protects into, reused for
    /// every packet (it only grows, to the largest packet plus SRTP's overhead).
    transmit: Vec<u8>,
    /// The receiving tracks' playout delay when the application set one.
    playout_delay: Option<Box<DelayMode>>,
}

impl MediaPlane {
    pub(crate) fn new(
        now: Instant,
        media_commands: mpsc::WeakSender<MediaCommand>,
        playout_delay: Option<Box<DelayMode>>,
    ) -> Result<Self, Error> {
        let seed = rand::random::<u64>();
        let mut config = SessionConfig::with_seed(seed);
        config.cname = format!("{:016x}", rand::random::<u64>());
        config.wallclock_at_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let cname = config.cname.clone();
        let session = MediaSession::new(config, now)?;
        Ok(Self {
            session,
            srtp: None,
            cname,
            local: HashMap::new(),
            remote: HashMap::new(),
            events: VecDeque::new(),
            media_commands,
            stats: MediaDeliveryStats::default(),
            transmit: Vec::new(),
            playout_delay,
        })
    }

    /// Keys SRTP from the DTLS export. Without keying (the peer negotiated no SRTP
    /// profile) media stays off.
    pub(crate) fn set_keys(&mut self, keying: Option<&SrtpKeyingMaterial>) {
        let Some(keying) = keying else {
            return;
        };
        match SrtpSession::new(keying, SrtpConfig::default()) {
            Ok(srtp) => self.srtp = Some(srtp),
            Err(error) => tracing::warn!(%error, "SRTP session could not be keyed"),
        }
    }

    pub(crate) fn has_keys(&self) -> bool {
        self.srtp.is_some()
    }

    /// The CNAME our sections announce.
    pub(crate) fn cname(&self) -> &str {
        &self.cname
    }

    /// A fresh id for a local track, unique in the process: a handle of another
    /// connection never names one of ours.
    pub(crate) fn next_track_id() -> TrackId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// Draws a media and an RTX SSRC for a new local track, distinct from every SSRC we
    /// use.
    pub(crate) fn draw_ssrcs(&self) -> (strata_media::Ssrc, strata_media::Ssrc) {
        let draw = |taken: Option<strata_media::Ssrc>| loop {
            let ssrc = strata_media::Ssrc(rand::random::<u32>());
            if ssrc.0 != 0
                && Some(ssrc) != taken
                && ssrc != self.session.rtcp_ssrc()
                && self
                    .local
                    .values()
                    .all(|e| e.ssrc != ssrc && e.rtx_ssrc != ssrc)
            {
                break ssrc;
            }
        };
        let ssrc = draw(None);
        (ssrc, draw(Some(ssrc)))
    }

    /// Registers a local track on `transceiver`, sending with `ssrcs` once negotiated.
    pub(crate) fn add_local(
        &mut self,
        id: TrackId,
        transceiver: TransceiverId,
        link: LocalTrackLink,
        (ssrc, rtx_ssrc): (strata_media::Ssrc, strata_media::Ssrc),
    ) {
        self.local.insert(
            id,
            LocalEntry {
                link,
                transceiver,
                ssrc,
                rtx_ssrc,
                sending: None,
            },
        );
    }

    /// The transceivers our local tracks use.
    pub(crate) fn local_transceivers(&self) -> impl Iterator<Item = TransceiverId> + '_ {
        self.local.values().map(|e| e.transceiver)
    }

    /// Removes a local track: an RTCP BYE for its SSRCs, and its handle learns it ended.
    /// Returns its transceiver.
    pub(crate) fn remove_local(&mut self, now: Instant, id: TrackId) -> Option<TransceiverId> {
        let entry = self.local.remove(&id)?;
        if let Some(mid) = &entry.sending {
            let _ = self.session.remove_local_track(now, mid);
        }
        Some(entry.transceiver)
    }

    /// Brings the session's tracks in line with a completed exchange: tracks for sections
    /// we now send or receive on, none for sections that were rejected or stopped. Tracks
    /// that stay are not touched.
    pub(crate) fn apply_negotiated(&mut self, now: Instant, media: &[NegotiatedMedia]) {
        // Sending.
        for entry in self.local.values_mut() {
            let section = media
                .iter()
                .find(|m| m.transceiver == entry.transceiver && m.direction.sends());
            match (section, &entry.sending) {
                // A track keeps sending as first configured: rebuilding it would restart
                // its sequence numbers on the same SSRC, and SRTP must never protect two
                // packets with one SSRC and index (RFC 3711 §9.1).
                (Some(section), Some(mid)) if mid.as_str() == section.mid.as_str() => {}
                (Some(section), sending) => {
                    if let Some(mid) = sending {
                        let _ = self.session.remove_local_track(now, mid);
                    }
                    entry.sending = None;
                    match local_config(section, entry) {
                        Ok(config) => {
                            let mid = config.mid.clone();
                            let codec = config.codec;
                            match self.session.add_local_track(config) {
                                Ok(_) => {
                                    entry.sending = Some(mid.clone());
                                    entry.link.negotiated.send_replace(LocalNegotiation {
                                        mid: Some(mid),
                                        codec: Some(codec),
                                    });
                                }
                                Err(error) => {
                                    tracing::warn!(%error, "local track refused by the media session");
                                    self.stats.unusable_sections += 1;
                                }
                            }
                        }
                        Err(error) => {
                            tracing::debug!(%error, mid = %section.mid, "no codec to send with");
                            self.stats.unusable_sections += 1;
                            entry.link.negotiated.send_replace(LocalNegotiation {
                                mid: Mid::new(section.mid.as_str()).ok(),
                                codec: None,
                            });
                        }
                    }
                }
                (None, Some(mid)) => {
                    let _ = self.session.remove_local_track(now, mid);
                    entry.sending = None;
                    entry.link.negotiated.send_modify(|n| n.codec = None);
                }
                (None, None) => {}
            }
        }
        // Receiving.
        let receiving: Vec<&NegotiatedMedia> =
            media.iter().filter(|m| m.direction.receives()).collect();
        let gone: Vec<Mid> = self
            .remote
            .keys()
            .filter(|mid| receiving.iter().all(|m| m.mid.as_str() != mid.as_str()))
            .cloned()
            .collect();
        for mid in gone {
            let _ = self.session.remove_remote_track(&mid);
            self.remote.remove(&mid);
        }
        for section in receiving {
            let Some(kind) = TrackKind::from_sdp(&section.kind) else {
                continue;
            };
            let Ok(mid) = Mid::new(section.mid.as_str()) else {
                continue;
            };
            let config = match self.remote_config(section) {
                Ok(config) => config,
                Err(error) => {
                    tracing::debug!(%error, mid = %section.mid, "no codec to receive with");
                    self.stats.unusable_sections += 1;
                    if self.remote.remove(&mid).is_some() {
                        let _ = self.session.remove_remote_track(&mid);
                    }
                    continue;
                }
            };
            if let Some(entry) = self.remote.get_mut(&mid) {
                entry.msids.clone_from(&section.remote_msids);
                if entry.config == config {
                    continue;
                }
                // New SSRCs, payload types or extension ids: the session's track is
                // rebuilt; the application's handle carries on.
                let _ = self.session.remove_remote_track(&mid);
            }
            if let Err(error) = self.session.add_remote_track(config.clone()) {
                tracing::debug!(%error, mid = %section.mid, "remote track refused");
                self.stats.unusable_sections += 1;
                self.remote.remove(&mid);
                continue;
            }
            let entry = self.remote.entry(mid).or_insert_with(|| RemoteEntry {
                kind,
                config: config.clone(),
                msids: section.remote_msids.clone(),
                samples: None,
            });
            entry.config = config;
        }
    }

    /// How a negotiated section is received: its codecs, SSRCs and extensions, and the
    /// application's playout delay when it fixed one.
    fn remote_config(
        &self,
        section: &NegotiatedMedia,
    ) -> Result<RemoteTrackConfig, strata_media::Error> {
        let mut config = RemoteTrackConfig::from_negotiated(section)?;
        if let Some(delay) = &self.playout_delay {
            let mut jitter = config.jitter_config()?;
            jitter.delay = (**delay).clone();
            config.jitter = Some(jitter);
        }
        Ok(config)
    }

    /// Packetizes a sample of a local track.
    pub(crate) fn write_sample(
        &mut self,
        now: Instant,
        id: TrackId,
        sample: &Sample,
    ) -> Result<(), Error> {
        let entry = self
            .local
            .get(&id)
            .ok_or(Error::InvalidState("the track was removed"))?;
        let mid = entry.sending.as_ref().ok_or(Error::InvalidState(
            "the track is not sending: negotiate it first (with a codec it offers)",
        ))?;
        if self.srtp.is_none() {
            return Err(Error::InvalidState("the connection is not established yet"));
        }
        self.session.write_sample(now, mid, sample)?;
        Ok(())
    }

    /// Asks the sender of a remote track for a keyframe.
    pub(crate) fn request_keyframe(&mut self, now: Instant, mid: &Mid) -> Result<bool, Error> {
        Ok(self.session.request_keyframe(now, mid)?)
    }

    /// Takes in one datagram the ICE agent classified as RTP or RTCP (RFC 7983).
    pub(crate) fn handle_datagram(&mut self, now: Instant, datagram: Bytes) {
        let Some(srtp) = &mut self.srtp else {
            self.stats.datagrams_without_keys += 1;
            return;
        };
        let mut buf = BytesMut::from(datagram);
        let rtcp = is_rtcp(&buf);
        let unprotected = if rtcp {
            srtp.unprotect_rtcp_in_place(&mut buf)
        } else {
            srtp.unprotect_rtp_in_place(&mut buf)
        };
        let len = match unprotected {
            Ok(len) => len,
            Err(error) => {
                tracing::trace!(%error, rtcp, "SRTP refused a datagram");
                self.stats.srtp_refused += 1;
                return;
            }
        };
        buf.truncate(len);
        let packet = buf.freeze();
        let handled = if rtcp {
            self.session.handle_rtcp(now, &packet)
        } else {
            self.session.handle_rtp(now, &packet)
        };
        if let Err(error) = handled {
            tracing::trace!(%error, rtcp, "media session refused a packet");
            self.stats.malformed += 1;
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// The next protected datagram to send. Handles the session's events on the way
    /// (they come out of [`poll_event`](Self::poll_event)).
    pub(crate) fn poll_transmit(&mut self) -> Option<&[u8]> {
        loop {
            let (packet, rtcp) = match self.session.poll_output()? {
                Output::Rtp(packet) => (packet, false),
                Output::Rtcp(packet) => (packet, true),
                Output::Event(event) => {
                    self.handle_event(event);
                    continue;
                }
                _ => continue,
            };
            let Some(srtp) = &mut self.srtp else {
                self.stats.unsent_without_keys += 1;
                continue;
            };
            let needed = packet.len() + MAX_OVERHEAD;
            if self.transmit.len() < needed {
                self.transmit.resize(needed, 0);
            }
            let protected = if rtcp {
                srtp.protect_rtcp(&packet, &mut self.transmit)
            } else {
                srtp.protect_rtp(&packet, &mut self.transmit)
            };
            match protected {
                Ok(len) => return Some(&self.transmit[..len]),
                Err(error) => {
                    tracing::debug!(%error, rtcp, "SRTP refused to protect a packet");
                    self.stats.protect_failures += 1;
                }
            }
        }
    }

    /// The next event for the application.
    pub(crate) fn poll_event(&mut self) -> Option<PeerConnectionEvent> {
        self.events.pop_front()
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::RemoteStreamStarted { mid, .. } => {
                let Some(entry) = self.remote.get_mut(&mid) else {
                    return;
                };
                if entry.samples.as_ref().is_some_and(|s| !s.is_closed()) {
                    return;
                }
                let (track, samples) =
                    TrackRemote::new(mid, entry.kind, &entry.msids, self.media_commands.clone());
                entry.samples = Some(samples);
                self.events.push_back(PeerConnectionEvent::Track(track));
            }
            Event::Media(data) => {
                let Some(samples) = self
                    .remote
                    .get(&data.mid)
                    .and_then(|entry| entry.samples.as_ref())
                else {
                    return;
                };
                // A closed queue means nobody holds the track any more.
                if let Err(mpsc::error::TrySendError::Full(_)) = samples.try_send(data) {
                    self.stats.samples_dropped += 1;
                }
            }
            Event::RemoteStreamEnded { mid, ssrc, reason } => {
                if reason == StreamEndReason::Bye
                    && let Some(srtp) = &mut self.srtp
                {
                    // The stream is over: its replay state need not hold a slot.
                    srtp.remove_remote_ssrc(strata_dtls_srtp::Ssrc(ssrc.0));
                }
                if matches!(reason, StreamEndReason::Bye | StreamEndReason::Removed)
                    && let Some(entry) = self.remote.get_mut(&mid)
                {
                    entry.samples = None;
                }
            }
            Event::KeyframeRequested { mid, kind } => {
                if let Some(entry) = self
                    .local
                    .values()
                    .find(|e| e.sending.as_ref() == Some(&mid))
                {
                    entry.link.keyframes.send_replace(Some(kind));
                }
            }
            // Audio gaps are concealed by the application's decoder from the timestamps;
            // transport-wide feedback waits for bandwidth estimation.
            _ => {}
        }
    }

    /// Sends BYE for every local stream and ends every track.
    pub(crate) fn close(&mut self, now: Instant) {
        self.session.close(now);
        self.remote.clear();
        self.local.clear();
    }

    pub(crate) fn session_stats(&self) -> SessionStats {
        self.session.stats()
    }

    pub(crate) fn srtp_stats(&self) -> Option<SrtpStats> {
        self.srtp.as_ref().map(SrtpSession::stats)
    }

    pub(crate) fn delivery_stats(&self) -> MediaDeliveryStats {
        self.stats
    }
}

/// The sending configuration of a local track from its negotiated section: the first
/// of the track's codecs the section carries.
fn local_config(
    section: &NegotiatedMedia,
    entry: &LocalEntry,
) -> Result<LocalTrackConfig, strata_media::Error> {
    let preferred = &entry.link.init.codecs;
    let mut ordered = section.clone();
    ordered.codecs = preferred
        .iter()
        .filter_map(|codec| {
            section.codecs.iter().find(|c| {
                c.rtpmap.encoding.eq_ignore_ascii_case(codec.encoding_name())
                    && c.rtpmap.clock_rate == codec.clock_rate()
                    // Strata packetizes H.264 in packetization mode 1 only.
                    && (*codec != Codec::H264
                        || c.fmtp.as_deref().is_some_and(|f| {
                            f.split(';')
                                .any(|p| p.trim().eq_ignore_ascii_case("packetization-mode=1"))
                        }))
            })
        })
        .cloned()
        .collect();
    LocalTrackConfig::from_negotiated(&ordered, Some(entry.ssrc), Some(entry.rtx_ssrc))
}
