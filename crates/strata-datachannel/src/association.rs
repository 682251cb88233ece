//! The association handle and its driver task.

use std::collections::HashMap;
use std::future::Future;
use std::net::Shutdown;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use webrtc_sctp::association::{Association as SctpAssociation, Config as SctpConfig};
use webrtc_sctp::chunk::chunk_payload_data::PayloadProtocolIdentifier;
use webrtc_sctp::stream::{ReliabilityType, Stream};

use crate::channel::{ChannelEvent, ChannelShared, DataChannel, Message};
use crate::config::{AssociationConfig, ChannelOptions, MaxMessageSize, Priority};
use crate::dcep::{
    ChannelCloseReason, ChannelOrigin, ChannelRequest, ChannelState, DataChannelOpen, DcepConfig,
    DcepEndpoint, DcepOutput, DcepStats, PayloadKind, Reliability, StreamId, UserMessage,
};
use crate::error::{
    AssociationCloseReason, Error, ProtocolViolation, SctpFailure, TransportFailure,
};
use crate::sctp_guard::{MalformedCounts, PacketGuard, ResetStreams};
use crate::transport::{ConnCounters, ConnSignal, DatagramTransport, GuardedConn, SIGNAL_QUEUE};

/// Bound of the command queue from handles to the driver.
const COMMAND_QUEUE: usize = 64;
/// Remote-open refusals reported as events before they are only counted.
const MAX_PENDING_REFUSAL_EVENTS: usize = 64;
/// How many times channel creation moves past ids the SCTP layer still holds.
const OPEN_ATTEMPTS: usize = 16;

/// What happens on an association, in order.
#[non_exhaustive]
#[derive(Debug)]
pub enum AssociationEvent {
    /// The SCTP handshake completed; channels can carry data.
    Established,
    /// The peer opened a channel (`DATA_CHANNEL_OPEN` accepted and acknowledged).
    ChannelOpened(DataChannel),
    /// The peer tried to open a channel and we refused it (stream reset, no ACK). At most
    /// 64 wait unread; beyond, refusals are only counted in
    /// [`AssociationStats::refused_opens`].
    OpenRefused {
        /// The stream.
        id: StreamId,
        /// Why.
        error: Error,
    },
    /// The association ended; every channel closed with it. No event follows.
    Closed(AssociationCloseReason),
}

/// The association's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociationState {
    /// The SCTP handshake is under way.
    Connecting,
    /// Established.
    Established,
    /// Ended.
    Closed,
}

/// Counters of an association.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssociationStats {
    /// Datagrams received from the transport (including dropped ones).
    pub datagrams_received: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Inbound packets the guard dropped, by reason.
    pub malformed_packets: MalformedCounts,
    /// DATA chunks with the deprecated PPIDs 52/54.
    pub deprecated_ppid_chunks: u64,
    /// DCEP counters: opens, refusals, violations, drops.
    pub dcep: DcepStats,
    /// Remote OPENs refused (also in `dcep`), kept here for quick reading.
    pub refused_opens: u64,
    /// Channels currently open (any state but closed).
    pub open_channels: usize,
    /// Messages dropped because the application fell behind on unreliable channels.
    pub messages_dropped: u64,
    /// Inbound messages larger than our `max_message_size` (their channel is closed).
    pub oversize_inbound: u64,
    /// Driver signals lost because their queue was full.
    pub signals_dropped: u64,
    /// Times a large write woke webrtc-sctp's write loop
    /// ([`PacketGuard::wake_packet`](crate::sctp_guard::PacketGuard::wake_packet)).
    pub write_wakes: u64,
    /// Chunks we sent again (DATA, INIT, `COOKIE-ECHO`): each one waited for a
    /// retransmission timeout, at least a second in webrtc-sctp.
    pub retransmitted_chunks: u64,
}

/// What a handle asks the driver to do. The options are boxed: the command queue
/// reserves room for 32 commands when it is created, for every association.
pub(crate) enum Command {
    Create {
        label: String,
        options: Box<ChannelOptions>,
        reply: oneshot::Sender<Result<DataChannel, Error>>,
    },
    Close {
        id: StreamId,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

struct Shared {
    state: AtomicU8,
    remote_max_message_size: Arc<AtomicUsize>,
    dcep: Mutex<DcepStats>,
    guard: Arc<Mutex<PacketGuard>>,
    conn: Arc<ConnCounters>,
    write_wake: Arc<Notify>,
    messages_dropped: AtomicU64,
    oversize_inbound: AtomicU64,
    open_channels: AtomicUsize,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
    shared: Arc<Shared>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One SCTP association carrying data channels, driven by one task.
///
/// Cheap to clone; the association lives until [`close`](Self::close) or until the last
/// clone is dropped (channels do not keep it alive).
#[derive(Clone)]
pub struct Association {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Association")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// The association's events; read them with [`recv`](Self::recv).
#[derive(Debug)]
pub struct AssociationEvents {
    events: mpsc::UnboundedReceiver<AssociationEvent>,
    refusals: Arc<AtomicUsize>,
}

impl AssociationEvents {
    /// The next event, `None` after [`AssociationEvent::Closed`].
    pub async fn recv(&mut self) -> Option<AssociationEvent> {
        let event = self.events.recv().await;
        if matches!(event, Some(AssociationEvent::OpenRefused { .. })) {
            self.refusals.fetch_sub(1, Ordering::AcqRel);
        }
        event
    }
}

impl Association {
    /// Starts an association over `transport` and spawns its driver on the current
    /// tokio runtime. The SCTP handshake runs in the background:
    /// [`AssociationEvent::Established`] (or [`AssociationEvent::Closed`]) reports the
    /// outcome, and [`create_channel`](Self::create_channel) waits for it.
    pub fn new<T: DatagramTransport>(
        transport: T,
        config: AssociationConfig,
    ) -> Result<(Self, AssociationEvents), Error> {
        Self::start(transport, config, true)
    }

    pub(crate) fn start<T: DatagramTransport>(
        transport: T,
        config: AssociationConfig,
        guard_enabled: bool,
    ) -> Result<(Self, AssociationEvents), Error> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let cancel = CancellationToken::new();
        let (signal_tx, signal_rx) = mpsc::channel(SIGNAL_QUEUE);
        let conn = Arc::new(GuardedConn::new(
            transport,
            signal_tx,
            cancel.clone(),
            guard_enabled,
        ));
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let refusals = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            state: AtomicU8::new(0),
            remote_max_message_size: Arc::new(AtomicUsize::new(
                config.remote_max_message_size.limit(),
            )),
            dcep: Mutex::new(DcepStats::default()),
            guard: Arc::clone(&conn.guard),
            conn: Arc::clone(&conn.counters),
            write_wake: Arc::clone(&conn.write_wake),
            messages_dropped: AtomicU64::new(0),
            oversize_inbound: AtomicU64::new(0),
            open_channels: AtomicUsize::new(0),
        });
        let mut dcep = DcepConfig::new(config.role);
        dcep.max_channels = config.max_channels;
        dcep.max_unclaimed_streams = config.max_unclaimed_streams;
        dcep.max_unclaimed_bytes = config.max_unclaimed_bytes;
        dcep.unclaimed_timeout = config.unclaimed_timeout;
        dcep.close_timeout = config.channel_close_timeout;
        let mut driver = Driver {
            config,
            core: DcepEndpoint::new(dcep),
            sctp: None,
            streams: HashMap::new(),
            reads: FuturesUnordered::new(),
            ops: FuturesUnordered::new(),
            finished_reads: Vec::new(),
            finished_ops: Vec::new(),
            after_write: HashMap::new(),
            commands: command_rx,
            commands_tx: command_tx.downgrade(),
            signals: signal_rx,
            events: event_tx,
            refusals: Arc::clone(&refusals),
            cancel: cancel.clone(),
            shared: Arc::clone(&shared),
        };
        // The driver is borrowed by its loop: a by-value `self` would be stored twice in
        // the task's future (the argument, and the binding it is moved into).
        runtime.spawn(async move { driver.run(conn).await });
        let association = Self {
            inner: Arc::new(Inner {
                commands: command_tx,
                cancel,
                shared,
            }),
        };
        Ok((
            association,
            AssociationEvents {
                events: event_rx,
                refusals,
            },
        ))
    }

    /// Creates a channel. Without `options.negotiated` it takes the next free stream id
    /// of our DTLS-role parity and sends `DATA_CHANNEL_OPEN`; the channel can send at once.
    /// Waits for the SCTP handshake if it has not completed yet.
    pub async fn create_channel(
        &self,
        label: impl Into<String>,
        options: ChannelOptions,
    ) -> Result<DataChannel, Error> {
        let (reply, response) = oneshot::channel();
        let command = Command::Create {
            label: label.into(),
            options: Box::new(options),
            reply,
        };
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| Self::closed_error())?;
        response.await.map_err(|_| Self::closed_error())?
    }

    /// Closes the association: a graceful SCTP SHUTDOWN, bounded by
    /// [`AssociationConfig::shutdown_timeout`], then every task and the transport are
    /// released. Idempotent.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Shutdown { reply })
            .await
            .is_ok()
        {
            let _ = done.await;
        }
        self.inner.cancel.cancel();
    }

    /// Updates the peer's `a=max-message-size` (after a renegotiation).
    pub fn set_remote_max_message_size(&self, size: MaxMessageSize) {
        self.inner
            .shared
            .remote_max_message_size
            .store(size.limit(), Ordering::Relaxed);
    }

    /// The lifecycle state.
    pub fn state(&self) -> AssociationState {
        decode_state(self.inner.shared.state.load(Ordering::Acquire))
    }

    /// Counters.
    pub fn stats(&self) -> AssociationStats {
        let shared = &self.inner.shared;
        let dcep = *shared.dcep.lock().unwrap_or_else(PoisonError::into_inner);
        let guard = shared.guard.lock().unwrap_or_else(PoisonError::into_inner);
        AssociationStats {
            datagrams_received: shared.conn.datagrams_in.load(Ordering::Relaxed),
            datagrams_sent: shared.conn.datagrams_out.load(Ordering::Relaxed),
            malformed_packets: guard.dropped(),
            deprecated_ppid_chunks: guard.deprecated_ppid_chunks(),
            dcep,
            refused_opens: dcep.refused_opens,
            open_channels: shared.open_channels.load(Ordering::Relaxed),
            messages_dropped: shared.messages_dropped.load(Ordering::Relaxed),
            oversize_inbound: shared.oversize_inbound.load(Ordering::Relaxed),
            signals_dropped: shared.conn.signals_dropped.load(Ordering::Relaxed),
            write_wakes: shared.conn.write_wakes.load(Ordering::Relaxed),
            retransmitted_chunks: guard.retransmitted_chunks(),
        }
    }

    fn closed_error() -> Error {
        Error::AssociationClosed {
            reason: AssociationCloseReason::Local,
        }
    }
}

fn decode_state(state: u8) -> AssociationState {
    match state {
        0 => AssociationState::Connecting,
        1 => AssociationState::Established,
        _ => AssociationState::Closed,
    }
}

/// A stream the driver holds, and the channel on it if any.
struct StreamEntry {
    stream: Arc<Stream>,
    channel: Option<ChannelLink>,
}

struct ChannelLink {
    shared: Arc<ChannelShared>,
    events: mpsc::UnboundedSender<ChannelEvent>,
}

type ReadFuture = Pin<Box<dyn Future<Output = ReadDone> + Send>>;

struct ReadDone {
    stream: Arc<Stream>,
    buffer: Vec<u8>,
    result: Result<(usize, PayloadProtocolIdentifier), webrtc_sctp::Error>,
}

fn read_next(stream: Arc<Stream>, mut buffer: Vec<u8>) -> ReadFuture {
    Box::pin(async move {
        let result = stream.read_sctp(&mut buffer).await;
        ReadDone {
            stream,
            buffer,
            result,
        }
    })
}

type OpFuture = Pin<Box<dyn Future<Output = Option<StreamId>> + Send>>;

/// Deferred until a stream's DCEP write is queued in webrtc-sctp.
enum AfterWrite {
    /// Answer `create_channel` (the OPEN precedes any user message).
    Reply(oneshot::Sender<Result<DataChannel, Error>>, DataChannel),
    /// Announce a remote channel (its ACK precedes any user message).
    Announce(DataChannel),
}

struct Driver {
    config: AssociationConfig,
    core: DcepEndpoint,
    sctp: Option<Arc<SctpAssociation>>,
    streams: HashMap<StreamId, StreamEntry>,
    reads: FuturesUnordered<ReadFuture>,
    /// DCEP writes and stream resets in flight: webrtc-sctp's send queue is bounded
    /// (128 KiB per association) and its writes wait for room, so the driver never
    /// awaits one directly.
    ops: FuturesUnordered<OpFuture>,
    /// Reads and writes that finished while the driver awaited webrtc-sctp (see
    /// [`Driver::polling_streams`]), handled as soon as that await is over.
    finished_reads: Vec<ReadDone>,
    finished_ops: Vec<Option<StreamId>>,
    /// What to do once the DCEP write on a stream completes.
    after_write: HashMap<StreamId, Vec<AfterWrite>>,
    commands: mpsc::Receiver<Command>,
    commands_tx: mpsc::WeakSender<Command>,
    signals: mpsc::Receiver<ConnSignal>,
    events: mpsc::UnboundedSender<AssociationEvent>,
    refusals: Arc<AtomicUsize>,
    cancel: CancellationToken,
    shared: Arc<Shared>,
}

enum Step {
    Continue,
    Stop(AssociationCloseReason),
}

impl Driver {
    async fn run<T: DatagramTransport>(&mut self, conn: Arc<GuardedConn<T>>) {
        let reason = match self.handshake(Arc::clone(&conn) as _).await {
            Ok(sctp) => {
                // We enforce the peer's limit ourselves, with a typed error and updates.
                sctp.set_max_message_size(u32::MAX);
                self.sctp = Some(Arc::clone(&sctp));
                self.shared.state.store(1, Ordering::Release);
                let _ = self.events.send(AssociationEvent::Established);
                let reason = self.serve(&sctp).await;
                // Nothing polls these any more: drop them so none keeps a stream lock
                // webrtc-sctp's shutdown would wait for (see `polling_streams`).
                self.reads.clear();
                self.ops.clear();
                if reason == AssociationCloseReason::Local {
                    let _ = tokio::time::timeout(
                        self.config.shutdown_timeout,
                        Box::pin(sctp.shutdown()),
                    )
                    .await;
                }
                let _ = Box::pin(sctp.close()).await;
                reason
            }
            Err(reason) => reason,
        };
        self.cancel.cancel();
        let _ = webrtc_util::Conn::close(conn.as_ref()).await;
        self.core.handle_association_closed();
        self.drain_core();
        self.after_write.clear();
        self.shared.state.store(2, Ordering::Release);
        self.shared.open_channels.store(0, Ordering::Relaxed);
        self.publish_stats();
        // Answer what is still queued so no caller waits forever.
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Create { reply, .. } => {
                    let _ = reply.send(Err(Error::AssociationClosed {
                        reason: reason.clone(),
                    }));
                }
                Command::Shutdown { reply } => {
                    let _ = reply.send(());
                }
                Command::Close { .. } => {}
            }
        }
        let _ = self.events.send(AssociationEvent::Closed(reason));
    }

    async fn handshake(
        &mut self,
        conn: Arc<dyn webrtc_util::Conn + Send + Sync>,
    ) -> Result<Arc<SctpAssociation>, AssociationCloseReason> {
        let config = SctpConfig {
            net_conn: conn,
            max_receive_buffer_size: self.config.receive_window,
            max_message_size: u32::MAX,
            mtu: 0,
            name: String::new(),
            remote_port: self.config.remote_port,
            local_port: self.config.local_port,
        };
        let client = self.config.role == crate::dcep::DtlsRole::Client;
        // Boxed: a one-off, larger than the loop the task runs afterwards.
        let connect = Box::pin(async move {
            if client {
                SctpAssociation::client(config).await
            } else {
                SctpAssociation::server(config).await
            }
        });
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(AssociationCloseReason::Local),
            Some(ConnSignal::TransportFailed(error)) = self.signals.recv() => {
                Err(AssociationCloseReason::TransportFailed(TransportFailure::new(error)))
            }
            result = tokio::time::timeout(self.config.handshake_timeout, connect) => match result {
                Ok(Ok(sctp)) => Ok(Arc::new(sctp)),
                Ok(Err(error)) => Err(AssociationCloseReason::HandshakeFailed(SctpFailure::from_upstream(&error))),
                Err(_) => Err(AssociationCloseReason::HandshakeTimeout),
            },
        }
    }

    async fn serve(&mut self, sctp: &Arc<SctpAssociation>) -> AssociationCloseReason {
        let mut accept = accept_next(Arc::clone(sctp));
        loop {
            let deadline = self.core.poll_timeout();
            let step = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Step::Stop(AssociationCloseReason::Local),
                Some(signal) = self.signals.recv() => self.on_signal(signal),
                accepted = &mut accept => match accepted {
                    Some(stream) => {
                        accept = accept_next(Arc::clone(sctp));
                        self.on_accept(stream);
                        Step::Continue
                    }
                    None => Step::Stop(AssociationCloseReason::PeerAbort),
                },
                Some(done) = self.reads.next(), if !self.reads.is_empty() => {
                    self.on_read(done);
                    Step::Continue
                }
                Some(written) = self.ops.next(), if !self.ops.is_empty() => {
                    if let Some(id) = written {
                        self.after_written(id);
                    }
                    Step::Continue
                }
                command = self.commands.recv() => match command {
                    // Boxed: commands are rare, and this keeps the association's
                    // long-lived task future small.
                    Some(command) => Box::pin(self.on_command(command)).await,
                    None => Step::Stop(AssociationCloseReason::Local),
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.core.handle_timeout(Instant::now());
                    Step::Continue
                }
            };
            for done in std::mem::take(&mut self.finished_reads) {
                self.on_read(done);
            }
            for id in std::mem::take(&mut self.finished_ops).into_iter().flatten() {
                self.after_written(id);
            }
            self.drain_core();
            self.publish_stats();
            if let Step::Stop(reason) = step {
                return reason;
            }
        }
    }

    fn on_signal(&mut self, signal: ConnSignal) -> Step {
        match signal {
            ConnSignal::TransportFailed(error) => Step::Stop(
                AssociationCloseReason::TransportFailed(TransportFailure::new(error)),
            ),
            ConnSignal::BeforeReset(drained) => {
                // Every message delivered before the reset has woken its read; take them
                // all before webrtc-sctp applies the reset and stops returning data.
                while let Some(Some(done)) = self.reads.next().now_or_never() {
                    self.on_read(done);
                }
                let _ = drained.send(());
                Step::Continue
            }
            ConnSignal::Inbound(signals) => {
                if signals.abort {
                    return Step::Stop(AssociationCloseReason::PeerAbort);
                }
                if signals.shutdown {
                    return Step::Stop(AssociationCloseReason::PeerShutdown);
                }
                let now = Instant::now();
                for reset in signals.resets {
                    // Only completes closes we started; a peer-initiated close is seen in
                    // order, when the stream's read ends.
                    let ids: Vec<StreamId> = match reset {
                        ResetStreams::All => self.streams.keys().copied().collect(),
                        ResetStreams::Listed(ids) => ids
                            .into_iter()
                            .filter_map(|id| StreamId::new(id).ok())
                            .collect(),
                    };
                    for id in ids {
                        if self.core.channel_state(id) == Some(ChannelState::Closing) {
                            self.core.handle_stream_reset(now, id);
                        }
                    }
                }
                Step::Continue
            }
        }
    }

    fn on_accept(&mut self, stream: Arc<Stream>) {
        let Ok(id) = StreamId::new(stream.stream_identifier()) else {
            return;
        };
        self.reads.push(read_next(
            Arc::clone(&stream),
            vec![0; self.config.max_message_size],
        ));
        self.streams.insert(
            id,
            StreamEntry {
                stream,
                channel: None,
            },
        );
    }

    fn on_read(&mut self, done: ReadDone) {
        let ReadDone {
            stream,
            buffer,
            result,
        } = done;
        let Ok(id) = StreamId::new(stream.stream_identifier()) else {
            return;
        };
        let current = self
            .streams
            .get(&id)
            .is_some_and(|entry| Arc::ptr_eq(&entry.stream, &stream));
        let now = Instant::now();
        match result {
            Ok((0, _)) | Err(_)
                if !matches!(result, Err(webrtc_sctp::Error::ErrShortBuffer { .. })) =>
            {
                // The stream ended: the peer reset it, we did, or the association closed.
                if current {
                    match self.core.channel_state(id) {
                        // Our own reset ended the read; the peer's reset completes it.
                        Some(ChannelState::Closing) => {}
                        Some(_) => {
                            self.core.handle_stream_reset(now, id);
                            let linked = self.streams.get(&id).is_some_and(|e| e.channel.is_some());
                            if self.core.channel_state(id).is_none() && !linked {
                                self.streams.remove(&id);
                            }
                        }
                        None => {
                            self.core.handle_stream_reset(now, id);
                            self.streams.remove(&id);
                        }
                    }
                }
            }
            Err(_) => {
                // A message larger than our buffer: webrtc-sctp has discarded it.
                self.shared.oversize_inbound.fetch_add(1, Ordering::Relaxed);
                if current {
                    let limit = self.config.max_message_size;
                    self.core.report_violation(
                        now,
                        id,
                        ProtocolViolation::InboundMessageTooLarge { id, limit },
                    );
                }
                self.reads.push(read_next(stream, buffer));
            }
            Ok((len, ppid)) => {
                let kind = match ppid {
                    PayloadProtocolIdentifier::Dcep => PayloadKind::Dcep,
                    PayloadProtocolIdentifier::String => PayloadKind::Text,
                    PayloadProtocolIdentifier::Binary => PayloadKind::Binary,
                    PayloadProtocolIdentifier::StringEmpty => PayloadKind::EmptyText,
                    PayloadProtocolIdentifier::BinaryEmpty => PayloadKind::EmptyBinary,
                    PayloadProtocolIdentifier::Unknown => PayloadKind::Unsupported(None),
                };
                let data = Bytes::copy_from_slice(&buffer[..len]);
                if current && let Some(message) = self.core.handle_message(now, id, kind, data) {
                    self.deliver(id, message);
                }
                self.reads.push(read_next(stream, buffer));
            }
        }
    }

    /// Hands a message to its channel's queue, applying the receive-buffer policy.
    fn deliver(&mut self, id: StreamId, message: UserMessage) {
        let Some(link) = self
            .streams
            .get(&id)
            .and_then(|entry| entry.channel.as_ref())
        else {
            return;
        };
        let shared = &link.shared;
        let len = message.data.len();
        let queued = shared.queued_bytes.load(Ordering::Acquire);
        if queued.saturating_add(len) > self.config.channel_receive_buffer {
            if shared.reliability == Reliability::Reliable {
                self.core.close_for_overflow(Instant::now(), id);
            } else {
                shared
                    .counters
                    .messages_dropped
                    .fetch_add(1, Ordering::Relaxed);
                self.shared.messages_dropped.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let message = if message.text {
            match String::from_utf8(message.data.to_vec()) {
                Ok(text) => Message::Text(text),
                Err(error) => {
                    shared.counters.invalid_utf8.fetch_add(1, Ordering::Relaxed);
                    Message::Text(String::from_utf8_lossy(error.as_bytes()).into_owned())
                }
            }
        } else {
            Message::Binary(message.data)
        };
        shared
            .queued_bytes
            .fetch_add(message.len(), Ordering::AcqRel);
        shared
            .counters
            .messages_received
            .fetch_add(1, Ordering::Relaxed);
        shared
            .counters
            .bytes_received
            .fetch_add(len as u64, Ordering::Relaxed);
        let _ = link.events.send(ChannelEvent::Message(message));
    }

    async fn on_command(&mut self, command: Command) -> Step {
        match command {
            Command::Create {
                label,
                options,
                reply,
            } => {
                match self.create(label, *options).await {
                    Ok(channel) => {
                        let id = channel.id();
                        self.drain_core();
                        match self.after_write.get_mut(&id) {
                            Some(pending) => pending.push(AfterWrite::Reply(reply, channel)),
                            None => {
                                let _ = reply.send(Ok(channel));
                            }
                        }
                    }
                    Err(error) => {
                        let _ = reply.send(Err(error));
                    }
                }
                Step::Continue
            }
            Command::Close { id } => {
                let _ = self.core.close_channel(Instant::now(), id);
                Step::Continue
            }
            Command::Shutdown { reply } => {
                let _ = reply.send(());
                Step::Stop(AssociationCloseReason::Local)
            }
        }
    }

    async fn create(
        &mut self,
        label: String,
        options: ChannelOptions,
    ) -> Result<DataChannel, Error> {
        let channel_type = options.channel_type()?;
        let negotiated = options.negotiated.map(StreamId::new).transpose()?;
        let open = DataChannelOpen::new(
            channel_type,
            options.priority.to_wire(),
            label,
            options.protocol,
        )?;
        let request = ChannelRequest {
            open: open.clone(),
            negotiated,
        };
        let sctp = self.sctp.clone().ok_or(Error::AssociationClosed {
            reason: AssociationCloseReason::Local,
        })?;
        let now = Instant::now();
        for _ in 0..OPEN_ATTEMPTS {
            let id = self.core.open_channel(now, request.clone())?;
            if !self.streams.contains_key(&id) {
                match self
                    .polling_streams(sctp.open_stream(id.get(), PayloadProtocolIdentifier::Binary))
                    .await
                {
                    Ok(stream) => {
                        self.reads.push(read_next(
                            Arc::clone(&stream),
                            vec![0; self.config.max_message_size],
                        ));
                        self.streams.insert(
                            id,
                            StreamEntry {
                                stream,
                                channel: None,
                            },
                        );
                    }
                    Err(webrtc_sctp::Error::ErrStreamAlreadyExist) if negotiated.is_none() => {
                        self.core.abandon_open(id);
                        continue;
                    }
                    Err(error) => {
                        self.core.abandon_open(id);
                        return Err(match error {
                            webrtc_sctp::Error::ErrStreamAlreadyExist => {
                                Error::StreamIdInUse { id }
                            }
                            other => Error::Sctp(SctpFailure::from_upstream(&other)),
                        });
                    }
                }
            }
            let origin = if negotiated.is_some() {
                ChannelOrigin::Negotiated
            } else {
                ChannelOrigin::Local
            };
            let state = self.core.channel_state(id).unwrap_or(ChannelState::Closed);
            let channel = self.attach(id, open.clone(), origin, state);
            return channel.ok_or(Error::ChannelClosed { id });
        }
        Err(Error::StreamIdsExhausted)
    }

    /// Creates the channel handle for stream `id`.
    fn attach(
        &mut self,
        id: StreamId,
        open: DataChannelOpen,
        origin: ChannelOrigin,
        state: ChannelState,
    ) -> Option<DataChannel> {
        let commands = self.commands_tx.upgrade()?;
        let entry = self.streams.get_mut(&id)?;
        let shared = Arc::new(ChannelShared::new(
            id,
            open.label,
            open.protocol,
            open.channel_type,
            Priority::from_wire(open.priority),
            origin,
            state,
            Arc::clone(&entry.stream),
            Arc::clone(&self.shared.remote_max_message_size),
            self.config.max_buffered_amount,
            Arc::clone(&self.shared.write_wake),
        ));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        // Runs under webrtc-sctp's association lock: only flags, wakes and queues.
        let weak = Arc::downgrade(&shared);
        let low_events = events_tx.clone();
        entry.stream.on_buffered_amount_low(Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.low.notify_waiters();
                // The DCEP OPEN counts in webrtc-sctp's buffered amount; only announce
                // once the application has sent something.
                if shared.has_sent() && !shared.low_event_queued.swap(true, Ordering::AcqRel) {
                    let _ = low_events.send(ChannelEvent::BufferedAmountLow);
                }
            }
            Box::pin(async {})
        }));
        entry.channel = Some(ChannelLink {
            shared: Arc::clone(&shared),
            events: events_tx,
        });
        Some(DataChannel {
            shared,
            events: events_rx,
            commands,
            closed_seen: false,
        })
    }

    fn drain_core(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                DcepOutput::ConfigureStream {
                    id,
                    ordered,
                    reliability,
                } => {
                    if let Some(entry) = self.streams.get(&id) {
                        let (kind, value) = upstream_reliability(reliability);
                        entry.stream.set_reliability_params(!ordered, kind, value);
                    }
                }
                DcepOutput::SendDcep { id, message } => {
                    if let Some(entry) = self.streams.get(&id) {
                        let stream = Arc::clone(&entry.stream);
                        self.after_write.entry(id).or_default();
                        self.ops.push(Box::pin(async move {
                            let _ = stream
                                .write_sctp(&message.encode(), PayloadProtocolIdentifier::Dcep)
                                .await;
                            Some(id)
                        }));
                    }
                }
                DcepOutput::ResetStream { id } => {
                    if let Some(entry) = self.streams.get(&id) {
                        let stream = Arc::clone(&entry.stream);
                        if let Some(link) = &entry.channel
                            && link.shared.state() != ChannelState::Closed
                        {
                            link.shared.set_state(ChannelState::Closing);
                        }
                        self.ops.push(Box::pin(async move {
                            let _ = stream.shutdown(Shutdown::Both).await;
                            None
                        }));
                    }
                }
                DcepOutput::RemoteChannel { id, open } => {
                    if let Some(channel) =
                        self.attach(id, open, ChannelOrigin::Remote, ChannelState::Open)
                    {
                        match self.after_write.get_mut(&id) {
                            Some(pending) => pending.push(AfterWrite::Announce(channel)),
                            None => {
                                let _ = self.events.send(AssociationEvent::ChannelOpened(channel));
                            }
                        }
                    }
                }
                DcepOutput::ChannelOpen { id } => {
                    if let Some(link) = self.streams.get(&id).and_then(|e| e.channel.as_ref()) {
                        link.shared.set_state(ChannelState::Open);
                        let _ = link.events.send(ChannelEvent::Open);
                    }
                }
                DcepOutput::Deliver { id, message } => self.deliver(id, message),
                DcepOutput::ChannelClosed { id, reason } => self.on_channel_closed(id, reason),
                DcepOutput::OpenRefused { id, error } => {
                    if self.refusals.fetch_add(1, Ordering::AcqRel) < MAX_PENDING_REFUSAL_EVENTS {
                        let _ = self
                            .events
                            .send(AssociationEvent::OpenRefused { id, error });
                    } else {
                        self.refusals.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            }
        }
    }

    /// The DCEP write on `id` is queued: answer whoever waited for it.
    /// Awaits `future`, which takes webrtc-sctp's association lock, while still polling
    /// stream reads and DCEP writes. webrtc-sctp's read loop holds that lock while it
    /// waits for a stream's queue lock, and tokio's fair mutex may already have granted
    /// that lock to one of our pending reads: left unpolled here, the read could never
    /// take and release it, and both sides would wait forever. What finishes meanwhile
    /// is kept for the main loop, so nothing is handled out of turn.
    async fn polling_streams<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = pin!(future);
        loop {
            tokio::select! {
                biased;
                output = &mut future => return output,
                Some(done) = self.reads.next(), if !self.reads.is_empty() => {
                    self.finished_reads.push(done);
                }
                Some(written) = self.ops.next(), if !self.ops.is_empty() => {
                    self.finished_ops.push(written);
                }
            }
        }
    }

    fn after_written(&mut self, id: StreamId) {
        for action in self.after_write.remove(&id).unwrap_or_default() {
            match action {
                AfterWrite::Reply(reply, channel) => {
                    let _ = reply.send(Ok(channel));
                }
                AfterWrite::Announce(channel) => {
                    let _ = self.events.send(AssociationEvent::ChannelOpened(channel));
                }
            }
        }
    }

    fn on_channel_closed(&mut self, id: StreamId, reason: ChannelCloseReason) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        if let Some(link) = entry.channel.take() {
            let already = link.shared.state() == ChannelState::Closed;
            link.shared.set_state(ChannelState::Closed);
            link.shared.low.notify_waiters();
            // Drop the callback's sender so the handle's queue can end.
            entry
                .stream
                .on_buffered_amount_low(Box::new(|| Box::pin(async {})));
            if !already {
                let _ = link.events.send(ChannelEvent::Closed(reason));
            }
        }
        if self.core.channel_state(id).is_none() {
            // The stream is finished on both sides; its read has ended or will.
            self.streams.remove(&id);
        }
    }

    fn publish_stats(&self) {
        *self
            .shared
            .dcep
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.core.stats();
        self.shared
            .open_channels
            .store(self.core.channel_count(), Ordering::Relaxed);
    }
}

/// webrtc-sctp counts transmissions where RFC 8831 counts retransmissions: a chunk is
/// abandoned once sent `value` times, so `max_retransmits: n` needs `n + 1`.
fn upstream_reliability(reliability: Reliability) -> (ReliabilityType, u32) {
    match reliability {
        Reliability::Reliable => (ReliabilityType::Reliable, 0),
        Reliability::MaxRetransmits(n) => (ReliabilityType::Rexmit, n.saturating_add(1)),
        Reliability::MaxPacketLifetimeMs(ms) => (ReliabilityType::Timed, ms),
    }
}

type AcceptFuture = Pin<Box<dyn Future<Output = Option<Arc<Stream>>> + Send>>;

fn accept_next(sctp: Arc<SctpAssociation>) -> AcceptFuture {
    Box::pin(async move { sctp.accept_stream().await })
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every association keeps its queues for its whole life, idle or not, and a tokio
    /// queue reserves room for 32 entries when it is created: what they carry must stay
    /// a few words.
    #[test]
    fn queued_types_stay_small() {
        assert!(size_of::<Command>() <= 48, "{}", size_of::<Command>());
        assert!(size_of::<ConnSignal>() <= 40, "{}", size_of::<ConnSignal>());
        assert!(
            size_of::<AssociationEvent>() <= 48,
            "{}",
            size_of::<AssociationEvent>()
        );
        assert!(
            size_of::<ChannelEvent>() <= 48,
            "{}",
            size_of::<ChannelEvent>()
        );
    }

    #[test]
    fn max_retransmits_counts_retransmissions_not_transmissions() {
        assert_eq!(
            upstream_reliability(Reliability::MaxRetransmits(0)),
            (ReliabilityType::Rexmit, 1)
        );
        assert_eq!(
            upstream_reliability(Reliability::MaxRetransmits(u32::MAX)),
            (ReliabilityType::Rexmit, u32::MAX)
        );
        assert_eq!(
            upstream_reliability(Reliability::MaxPacketLifetimeMs(150)),
            (ReliabilityType::Timed, 150)
        );
    }
}

/// What the guard protects against: without it, one malformed packet kills webrtc-sctp's
/// read loop and the association goes deaf. If this test starts failing, upstream has
/// fixed its parser and the guard's notes need revisiting.
#[cfg(test)]
mod upstream_without_guard {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::net::UdpSocket;

    use super::*;
    use crate::dcep::DtlsRole;

    struct Udp(Arc<UdpSocket>);

    impl DatagramTransport for Udp {
        async fn send(&self, datagram: &[u8]) -> std::io::Result<()> {
            self.0.send(datagram).await.map(drop)
        }
        async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.recv(buf).await
        }
        async fn close(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn next_open(events: &mut AssociationEvents) -> DataChannel {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Some(AssociationEvent::ChannelOpened(channel))) => return channel,
                Ok(Some(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_shutdown_chunk_silences_an_unguarded_association() {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        let (client, _client_events) = Association::start(
            Udp(Arc::clone(&a)),
            AssociationConfig::new(DtlsRole::Client),
            false,
        )
        .unwrap();
        let (server, mut server_events) = Association::start(
            Udp(Arc::clone(&b)),
            AssociationConfig::new(DtlsRole::Server),
            true,
        )
        .unwrap();
        let channel = client
            .create_channel("c", ChannelOptions::default())
            .await
            .unwrap();
        let remote = next_open(&mut server_events).await;

        // SHUTDOWN whose length field says 4, followed by four more bytes.
        let tag = client
            .inner
            .shared
            .guard
            .lock()
            .unwrap()
            .local_verification_tag()
            .unwrap();
        let mut packet = vec![0x13, 0x88, 0x13, 0x88];
        packet.extend_from_slice(&tag.to_be_bytes());
        packet.extend_from_slice(&[0; 4]);
        packet.extend_from_slice(&[7, 0, 0, 4, 11, 0, 0, 4]);
        crate::sctp_guard::sign(&mut packet);
        b.send(&packet).await.unwrap();

        remote.send_text("anyone there?").await.unwrap();
        let mut channel = channel;
        let heard = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                if let Some(ChannelEvent::Message(_)) = channel.recv().await {
                    return;
                }
            }
        })
        .await;
        assert!(
            heard.is_err(),
            "webrtc-sctp survived the packet without the guard"
        );
        drop(server);
    }
}
