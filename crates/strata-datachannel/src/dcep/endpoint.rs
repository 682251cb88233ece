//! The per-association DCEP state machine: every channel's life from OPEN to reset.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::ids::{DtlsRole, StreamId};
use super::message::{ChannelType, DataChannelOpen, DcepMessage, Reliability};
use super::ppid::PayloadKind;
use crate::error::{Error, ProtocolViolation};

/// Limits of a [`DcepEndpoint`].
#[derive(Debug, Clone)]
pub struct DcepConfig {
    /// Our DTLS role: decides the parity of the ids we allocate.
    pub role: DtlsRole,
    /// Channels open at once (any state but closed), ours and the peer's together. At
    /// most 65535 (every usable stream id).
    pub max_channels: usize,
    /// Streams carrying data before anyone claimed them (a pre-negotiated channel the
    /// application has not created yet) that are held at once.
    pub max_unclaimed_streams: usize,
    /// Bytes held across all unclaimed streams; beyond, new messages are dropped and
    /// counted.
    pub max_unclaimed_bytes: usize,
    /// How long an unclaimed stream waits for the application before it is reset.
    pub unclaimed_timeout: Duration,
    /// How long a channel we closed waits for the peer's stream reset before it is
    /// considered closed anyway.
    pub close_timeout: Duration,
}

impl DcepConfig {
    /// Defaults for `role`: 1024 channels (as in libwebrtc), 16 unclaimed streams holding
    /// at most 1 MiB for 5 s, 10 s to finish a close.
    pub fn new(role: DtlsRole) -> Self {
        Self {
            role,
            max_channels: 1024,
            max_unclaimed_streams: 16,
            max_unclaimed_bytes: 1 << 20,
            unclaimed_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(10),
        }
    }
}

/// What the application asks for when it creates a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRequest {
    /// Label, protocol, ordering, reliability and priority as sent in `DATA_CHANNEL_OPEN`.
    pub open: DataChannelOpen,
    /// `Some(id)` for a pre-negotiated channel (`negotiated: true, id`): no DCEP, both
    /// sides create it with the same id.
    pub negotiated: Option<StreamId>,
}

/// Where a channel came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrigin {
    /// We sent `DATA_CHANNEL_OPEN`.
    Local,
    /// The peer sent `DATA_CHANNEL_OPEN`.
    Remote,
    /// Pre-negotiated out of band; no DCEP.
    Negotiated,
}

/// A channel's state (W3C `RTCDataChannelState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// We sent `DATA_CHANNEL_OPEN` and wait for the ACK. Sending is allowed already; user
    /// messages go out ordered until the ACK (RFC 8832 §6).
    Connecting,
    /// Open.
    Open,
    /// We reset our outgoing stream and wait for the peer's reset.
    Closing,
    /// Both directions are reset (or the association is gone).
    Closed,
}

/// Why a channel closed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelCloseReason {
    /// We closed it, and the peer reset its side (or did not answer in time).
    Local,
    /// The peer closed it by resetting its outgoing stream.
    Remote,
    /// The peer reset the stream before acknowledging our OPEN: it refused the channel
    /// (RFC 8832 §6).
    OpenRefused,
    /// The peer broke the protocol on this channel; we reset the stream.
    PeerMisbehaved(ProtocolViolation),
    /// The application did not read a reliable channel fast enough and its bounded
    /// receive queue overflowed; we reset the stream rather than drop data silently.
    ReceiveBufferOverflow,
    /// The association ended.
    AssociationClosed,
}

/// A user message the adapter should hand to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMessage {
    /// PPID 51/56 (text) rather than 53/57 (binary).
    pub text: bool,
    /// The payload; empty for PPIDs 56/57.
    pub data: Bytes,
}

/// Something the adapter must do or report, drained with [`DcepEndpoint::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepOutput {
    /// Send user data on `id` with this ordering and reliability from now on. The first
    /// one for a stream also means "open the outgoing stream".
    ConfigureStream {
        /// The stream.
        id: StreamId,
        /// In-order delivery.
        ordered: bool,
        /// Retransmission policy.
        reliability: Reliability,
    },
    /// Send this DCEP message on `id` (PPID 50, ordered, reliable).
    SendDcep {
        /// The stream.
        id: StreamId,
        /// The message.
        message: DcepMessage,
    },
    /// Reset the outgoing stream `id` (RFC 8831 §6.7).
    ResetStream {
        /// The stream.
        id: StreamId,
    },
    /// The peer opened a channel.
    RemoteChannel {
        /// The stream.
        id: StreamId,
        /// What the peer asked for.
        open: DataChannelOpen,
    },
    /// A channel of ours was acknowledged (or the peer's first message implied it).
    ChannelOpen {
        /// The stream.
        id: StreamId,
    },
    /// Deliver a message that was held before its channel existed.
    Deliver {
        /// The stream.
        id: StreamId,
        /// The message.
        message: UserMessage,
    },
    /// A channel closed.
    ChannelClosed {
        /// The stream.
        id: StreamId,
        /// Why.
        reason: ChannelCloseReason,
    },
    /// A `DATA_CHANNEL_OPEN` (or data on a stream nobody claimed) was refused; the stream
    /// is reset.
    OpenRefused {
        /// The stream.
        id: StreamId,
        /// Why.
        error: Error,
    },
}

/// Counters of what the endpoint refused or dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DcepStats {
    /// Channels opened, ours and the peer's.
    pub channels_opened: u64,
    /// `DATA_CHANNEL_OPEN` messages refused (limit, parity, malformed, in use).
    pub refused_opens: u64,
    /// Protocol violations seen (each also refuses or closes something).
    pub protocol_violations: u64,
    /// `DATA_CHANNEL_ACK` messages nobody waited for (ignored).
    pub unexpected_acks: u64,
    /// Messages dropped because they arrived on a channel we were closing.
    pub dropped_after_close: u64,
    /// Messages on unclaimed streams dropped (bounds or timeout).
    pub unclaimed_dropped: u64,
    /// Messages that arrived before their stream's `DATA_CHANNEL_OPEN`.
    pub data_before_open: u64,
}

#[derive(Debug)]
struct Channel {
    origin: ChannelOrigin,
    state: ChannelState,
    kind: ChannelType,
    /// For `Closing`: when we stop waiting for the peer's reset.
    deadline: Option<Instant>,
    /// Reason to report when the close completes.
    close_reason: ChannelCloseReason,
}

#[derive(Debug)]
enum Slot {
    Channel(Channel),
    /// Data arrived on a stream nobody claimed yet.
    Unclaimed {
        messages: VecDeque<UserMessage>,
        bytes: usize,
        deadline: Instant,
    },
    /// We reset a stream we refused; it stays reserved until the peer resets its side.
    Refused {
        deadline: Instant,
    },
}

/// The DCEP state machine of one association (RFC 8832 §6 and RFC 8831 §6.7).
///
/// Sans-IO: it never reads a clock, never sleeps and owns no I/O. The calling
/// convention, as in quinn-proto's `Connection`:
///
/// 1. feed it — [`open_channel`](Self::open_channel), [`close_channel`](Self::close_channel),
///    [`handle_message`](Self::handle_message), [`handle_stream_reset`](Self::handle_stream_reset),
///    [`handle_timeout`](Self::handle_timeout) — with the current time;
/// 2. drain [`poll_output`](Self::poll_output) until it returns `None`, carrying out
///    each output in order;
/// 3. wait for new input or until [`poll_timeout`](Self::poll_timeout).
///
/// Time only moves forward. Everything input can grow is bounded by [`DcepConfig`].
#[derive(Debug)]
pub struct DcepEndpoint {
    config: DcepConfig,
    slots: BTreeMap<StreamId, Slot>,
    channels: usize,
    unclaimed_streams: usize,
    unclaimed_bytes: usize,
    next_local_id: u16,
    outputs: VecDeque<DcepOutput>,
    stats: DcepStats,
}

impl DcepEndpoint {
    /// An endpoint with no channels.
    pub fn new(config: DcepConfig) -> Self {
        let next_local_id = config.role.parity();
        Self {
            config,
            slots: BTreeMap::new(),
            channels: 0,
            unclaimed_streams: 0,
            unclaimed_bytes: 0,
            next_local_id,
            outputs: VecDeque::new(),
            stats: DcepStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DcepConfig {
        &self.config
    }

    /// Counters of refusals and drops.
    pub fn stats(&self) -> DcepStats {
        self.stats
    }

    /// Channels currently counted against [`DcepConfig::max_channels`].
    pub fn channel_count(&self) -> usize {
        self.channels
    }

    /// The state of channel `id`, `None` when there is none.
    pub fn channel_state(&self, id: StreamId) -> Option<ChannelState> {
        match self.slots.get(&id) {
            Some(Slot::Channel(channel)) => Some(channel.state),
            _ => None,
        }
    }

    /// Creates a channel: allocates an id of our parity (or takes the negotiated one)
    /// and queues the outputs that open it.
    pub fn open_channel(
        &mut self,
        _now: Instant,
        request: ChannelRequest,
    ) -> Result<StreamId, Error> {
        if self.channels >= self.max_channels() {
            return Err(Error::TooManyChannels {
                limit: self.max_channels(),
            });
        }
        let channel_type = request.open.channel_type;
        if let Some(id) = request.negotiated {
            let held = match self.slots.remove(&id) {
                None => VecDeque::new(),
                Some(Slot::Unclaimed {
                    messages, bytes, ..
                }) => {
                    self.unclaimed_streams -= 1;
                    self.unclaimed_bytes -= bytes;
                    messages
                }
                Some(other) => {
                    self.slots.insert(id, other);
                    return Err(Error::StreamIdInUse { id });
                }
            };
            self.insert_channel(
                id,
                ChannelOrigin::Negotiated,
                ChannelState::Open,
                channel_type,
            );
            self.outputs.push_back(DcepOutput::ConfigureStream {
                id,
                ordered: channel_type.ordered,
                reliability: channel_type.reliability,
            });
            for message in held {
                self.outputs.push_back(DcepOutput::Deliver { id, message });
            }
            return Ok(id);
        }
        let id = self.allocate_id()?;
        self.insert_channel(
            id,
            ChannelOrigin::Local,
            ChannelState::Connecting,
            channel_type,
        );
        // RFC 8832 §6: until the ACK, user messages go out ordered so that none can
        // overtake the OPEN.
        self.outputs.push_back(DcepOutput::ConfigureStream {
            id,
            ordered: true,
            reliability: channel_type.reliability,
        });
        self.outputs.push_back(DcepOutput::SendDcep {
            id,
            message: DcepMessage::Open(request.open),
        });
        Ok(id)
    }

    /// Forgets a channel we just allocated because the SCTP layer could not open its
    /// stream (it still holds the id from an earlier channel). The next allocation moves
    /// past it.
    pub fn abandon_open(&mut self, id: StreamId) {
        if let Some(Slot::Channel(_)) = self.slots.get(&id) {
            self.slots.remove(&id);
            self.channels -= 1;
        }
        self.outputs.retain(|output| !matches!(output,
            DcepOutput::ConfigureStream { id: i, .. } | DcepOutput::SendDcep { id: i, .. } if *i == id));
    }

    /// Starts closing channel `id`: resets our outgoing stream and waits for the peer's.
    pub fn close_channel(&mut self, now: Instant, id: StreamId) -> Result<(), Error> {
        self.close_with(now, id, ChannelCloseReason::Local)
    }

    /// Closes `id` because the application fell behind on a reliable channel.
    pub fn close_for_overflow(&mut self, now: Instant, id: StreamId) {
        let _ = self.close_with(now, id, ChannelCloseReason::ReceiveBufferOverflow);
    }

    fn close_with(
        &mut self,
        now: Instant,
        id: StreamId,
        reason: ChannelCloseReason,
    ) -> Result<(), Error> {
        let close_timeout = self.config.close_timeout;
        let Some(Slot::Channel(channel)) = self.slots.get_mut(&id) else {
            return Err(Error::ChannelClosed { id });
        };
        match channel.state {
            ChannelState::Connecting | ChannelState::Open => {
                channel.state = ChannelState::Closing;
                channel.deadline = Some(now + close_timeout);
                channel.close_reason = reason;
                self.outputs.push_back(DcepOutput::ResetStream { id });
                Ok(())
            }
            ChannelState::Closing | ChannelState::Closed => Ok(()),
        }
    }

    /// A user or DCEP message arrived on stream `id`. Returns the message when the
    /// adapter should deliver it to that channel now; otherwise the endpoint kept it
    /// (it may come back as [`DcepOutput::Deliver`]) or dropped it (and counted it).
    pub fn handle_message(
        &mut self,
        now: Instant,
        id: StreamId,
        kind: PayloadKind,
        data: Bytes,
    ) -> Option<UserMessage> {
        let text = match kind {
            PayloadKind::Dcep => {
                self.handle_dcep(now, id, &data);
                return None;
            }
            PayloadKind::Text => true,
            PayloadKind::Binary => false,
            PayloadKind::EmptyText | PayloadKind::EmptyBinary => {
                return self.handle_user(
                    now,
                    id,
                    UserMessage {
                        text: kind == PayloadKind::EmptyText,
                        data: Bytes::new(),
                    },
                );
            }
            PayloadKind::Unsupported(ppid) => {
                let violation = ProtocolViolation::UnsupportedPayloadProtocol { id, ppid };
                self.violation_on(now, id, violation);
                return None;
            }
        };
        self.handle_user(now, id, UserMessage { text, data })
    }

    fn handle_user(
        &mut self,
        now: Instant,
        id: StreamId,
        message: UserMessage,
    ) -> Option<UserMessage> {
        let unclaimed_timeout = self.config.unclaimed_timeout;
        match self.slots.get_mut(&id) {
            Some(Slot::Channel(channel)) => match channel.state {
                ChannelState::Open => Some(message),
                ChannelState::Connecting => {
                    // RFC 8832 §6: a message from the peer implies the ACK.
                    self.acknowledge(id);
                    Some(message)
                }
                ChannelState::Closing | ChannelState::Closed => {
                    self.stats.dropped_after_close += 1;
                    None
                }
            },
            Some(Slot::Refused { .. }) => {
                self.stats.dropped_after_close += 1;
                None
            }
            Some(Slot::Unclaimed {
                messages, bytes, ..
            }) => {
                if self.unclaimed_bytes + message.data.len() > self.config.max_unclaimed_bytes {
                    self.stats.unclaimed_dropped += 1;
                } else {
                    *bytes += message.data.len();
                    self.unclaimed_bytes += message.data.len();
                    messages.push_back(message);
                }
                None
            }
            None => {
                if self.unclaimed_streams >= self.config.max_unclaimed_streams
                    || message.data.len() > self.config.max_unclaimed_bytes - self.unclaimed_bytes
                {
                    self.stats.unclaimed_dropped += 1;
                    self.refuse_without_channel(now, id, None);
                    return None;
                }
                self.unclaimed_streams += 1;
                self.unclaimed_bytes += message.data.len();
                self.slots.insert(
                    id,
                    Slot::Unclaimed {
                        bytes: message.data.len(),
                        messages: VecDeque::from([message]),
                        deadline: now + unclaimed_timeout,
                    },
                );
                None
            }
        }
    }

    fn handle_dcep(&mut self, now: Instant, id: StreamId, bytes: &[u8]) {
        match DcepMessage::decode(bytes) {
            Ok(DcepMessage::Open(open)) => self.handle_open(now, id, open),
            Ok(DcepMessage::Ack) => match self.slots.get(&id) {
                Some(Slot::Channel(channel))
                    if channel.origin == ChannelOrigin::Local
                        && channel.state == ChannelState::Connecting =>
                {
                    self.acknowledge(id);
                }
                _ => self.stats.unexpected_acks += 1,
            },
            Err(error) => {
                let violation = ProtocolViolation::MalformedDcep { id, error };
                self.violation_on(now, id, violation);
            }
        }
    }

    fn handle_open(&mut self, now: Instant, id: StreamId, open: DataChannelOpen) {
        match self.slots.get(&id) {
            Some(Slot::Channel(_) | Slot::Refused { .. }) => {
                let violation = ProtocolViolation::OpenOnUsedStream { id };
                self.violation_on(now, id, violation);
                return;
            }
            Some(Slot::Unclaimed { .. }) | None => {}
        }
        if !id.has_parity_of(self.config.role.peer()) {
            self.stats.protocol_violations += 1;
            let error = Error::PeerMisbehaved(ProtocolViolation::OpenWithWrongParity { id });
            self.refuse_without_channel(now, id, Some(error));
            return;
        }
        if self.channels >= self.max_channels() {
            let error = Error::TooManyChannels {
                limit: self.max_channels(),
            };
            self.refuse_without_channel(now, id, Some(error));
            return;
        }
        let held = match self.slots.remove(&id) {
            Some(Slot::Unclaimed {
                messages, bytes, ..
            }) => {
                self.unclaimed_streams -= 1;
                self.unclaimed_bytes -= bytes;
                self.stats.data_before_open += messages.len() as u64;
                messages
            }
            _ => VecDeque::new(),
        };
        let channel_type = open.channel_type;
        self.insert_channel(id, ChannelOrigin::Remote, ChannelState::Open, channel_type);
        self.outputs.push_back(DcepOutput::ConfigureStream {
            id,
            ordered: channel_type.ordered,
            reliability: channel_type.reliability,
        });
        self.outputs.push_back(DcepOutput::SendDcep {
            id,
            message: DcepMessage::Ack,
        });
        self.outputs
            .push_back(DcepOutput::RemoteChannel { id, open });
        for message in held {
            self.outputs.push_back(DcepOutput::Deliver { id, message });
        }
    }

    /// The peer reset its outgoing stream `id` (the incoming side of the channel ended,
    /// in order after its last message). For a channel we were closing this completes
    /// the close; otherwise the peer closed it (or refused our OPEN).
    pub fn handle_stream_reset(&mut self, _now: Instant, id: StreamId) {
        match self.slots.remove(&id) {
            Some(Slot::Channel(channel)) => {
                self.channels -= 1;
                let reason = match channel.state {
                    ChannelState::Closing => channel.close_reason,
                    ChannelState::Connecting => ChannelCloseReason::OpenRefused,
                    ChannelState::Open => ChannelCloseReason::Remote,
                    // Already reported when it was closed for a violation.
                    ChannelState::Closed => return,
                };
                self.outputs
                    .push_back(DcepOutput::ChannelClosed { id, reason });
            }
            Some(Slot::Unclaimed {
                messages, bytes, ..
            }) => {
                self.unclaimed_streams -= 1;
                self.unclaimed_bytes -= bytes;
                self.stats.unclaimed_dropped += messages.len() as u64;
            }
            Some(Slot::Refused { .. }) | None => {}
        }
    }

    /// The association ended: every channel is closed.
    pub fn handle_association_closed(&mut self) {
        for (id, slot) in std::mem::take(&mut self.slots) {
            match slot {
                Slot::Channel(_) => self.outputs.push_back(DcepOutput::ChannelClosed {
                    id,
                    reason: ChannelCloseReason::AssociationClosed,
                }),
                Slot::Unclaimed { messages, .. } => {
                    self.stats.unclaimed_dropped += messages.len() as u64;
                }
                Slot::Refused { .. } => {}
            }
        }
        self.channels = 0;
        self.unclaimed_streams = 0;
        self.unclaimed_bytes = 0;
    }

    /// Expires unclaimed streams and closes that waited too long. Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<StreamId> = self
            .slots
            .iter()
            .filter(|(_, slot)| Self::deadline_of(slot).is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            match self.slots.get(&id) {
                Some(Slot::Channel(_) | Slot::Refused { .. }) => {
                    self.handle_stream_reset(now, id);
                }
                Some(Slot::Unclaimed { .. }) => {
                    self.handle_stream_reset(now, id);
                    self.refuse_without_channel(now, id, None);
                }
                None => {}
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots.values().filter_map(Self::deadline_of).min()
    }

    /// The next thing to do; drain until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<DcepOutput> {
        self.outputs.pop_front()
    }

    fn deadline_of(slot: &Slot) -> Option<Instant> {
        match slot {
            Slot::Channel(channel) => channel.deadline,
            Slot::Unclaimed { deadline, .. } | Slot::Refused { deadline } => Some(*deadline),
        }
    }

    fn max_channels(&self) -> usize {
        self.config.max_channels.min(usize::from(StreamId::MAX) + 1)
    }

    fn insert_channel(
        &mut self,
        id: StreamId,
        origin: ChannelOrigin,
        state: ChannelState,
        channel_type: ChannelType,
    ) {
        self.channels += 1;
        self.stats.channels_opened += 1;
        self.slots.insert(
            id,
            Slot::Channel(Channel {
                origin,
                state,
                kind: channel_type,
                deadline: None,
                close_reason: ChannelCloseReason::Local,
            }),
        );
    }

    fn acknowledge(&mut self, id: StreamId) {
        if let Some(Slot::Channel(channel)) = self.slots.get_mut(&id) {
            channel.state = ChannelState::Open;
            self.outputs.push_back(DcepOutput::ConfigureStream {
                id,
                ordered: channel.kind.ordered,
                reliability: channel.kind.reliability,
            });
            self.outputs.push_back(DcepOutput::ChannelOpen { id });
        }
    }

    /// The adapter saw the peer break the protocol on `id` (for example a message over
    /// our `max-message-size`): closes its channel, or refuses the stream.
    pub fn report_violation(&mut self, now: Instant, id: StreamId, violation: ProtocolViolation) {
        self.violation_on(now, id, violation);
    }

    /// The peer broke the protocol on `id`: close its channel, or refuse the stream.
    fn violation_on(&mut self, now: Instant, id: StreamId, violation: ProtocolViolation) {
        self.stats.protocol_violations += 1;
        match self.slots.get(&id) {
            Some(Slot::Channel(channel))
                if matches!(channel.state, ChannelState::Connecting | ChannelState::Open) =>
            {
                let _ = self.close_with(
                    now,
                    id,
                    ChannelCloseReason::PeerMisbehaved(violation.clone()),
                );
                self.outputs.push_back(DcepOutput::ChannelClosed {
                    id,
                    reason: ChannelCloseReason::PeerMisbehaved(violation),
                });
                // Reported now; the slot stays reserved until the peer's reset.
                if let Some(Slot::Channel(channel)) = self.slots.get_mut(&id) {
                    channel.state = ChannelState::Closed;
                }
            }
            Some(Slot::Channel(_) | Slot::Refused { .. }) => {}
            Some(Slot::Unclaimed { .. }) | None => {
                if let Some(Slot::Unclaimed {
                    messages, bytes, ..
                }) = self.slots.remove(&id)
                {
                    self.unclaimed_streams -= 1;
                    self.unclaimed_bytes -= bytes;
                    self.stats.unclaimed_dropped += messages.len() as u64;
                }
                self.refuse_without_channel(now, id, Some(Error::PeerMisbehaved(violation)));
            }
        }
    }

    /// Resets a stream that has no channel and reserves it until the peer's reset.
    fn refuse_without_channel(&mut self, now: Instant, id: StreamId, error: Option<Error>) {
        if let Some(error) = error {
            self.stats.refused_opens += 1;
            self.outputs
                .push_back(DcepOutput::OpenRefused { id, error });
        }
        self.outputs.push_back(DcepOutput::ResetStream { id });
        self.slots.insert(
            id,
            Slot::Refused {
                deadline: now + self.config.close_timeout,
            },
        );
    }

    fn allocate_id(&mut self) -> Result<StreamId, Error> {
        let parity = self.config.role.parity();
        let count = usize::from(StreamId::MAX) / 2 + 1;
        let mut candidate = self.next_local_id;
        for _ in 0..count {
            if candidate > StreamId::MAX {
                candidate = parity;
            }
            let id = StreamId::new(candidate)?;
            candidate = candidate.saturating_add(2);
            if !self.slots.contains_key(&id) {
                self.next_local_id = candidate;
                return Ok(id);
            }
        }
        Err(Error::StreamIdsExhausted)
    }
}

/// The start of virtual time in tests; the clock is read here only.
#[cfg(test)]
fn test_epoch() -> Instant {
    Instant::now()
}

#[cfg(test)]
mod tests;
