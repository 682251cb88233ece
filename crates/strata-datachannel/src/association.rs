//! The association handle and its driver task.
//!
//! One task per association drives the sans-IO [`sctp::Association`] and the
//! [`DcepEndpoint`]; both sit in [`Core`], behind a `std::sync::Mutex` that channel handles
//! lock to send and to read their buffered amount. Nobody holds that lock across an
//! `.await`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::channel::{ChannelEvent, ChannelShared, DataChannel, Message};
use crate::config::{AssociationConfig, ChannelOptions, MaxMessageSize};
use crate::dcep::{
    ChannelCloseReason, ChannelOrigin, ChannelRequest, ChannelState, DataChannelOpen, DcepConfig,
    DcepEndpoint, DcepOutput, DcepStats, DtlsRole, PayloadKind, Reliability, StreamId, UserMessage,
};
use crate::error::{
    AssociationCloseReason, Error, ProtocolViolation, SctpFailure, TransportFailure,
};
use crate::sctp::{self, MalformedCounts, SendError, SendOptions};
use crate::transport::DatagramTransport;

/// Bound of the command queue from handles to the driver.
const COMMAND_QUEUE: usize = 64;
/// Remote-open refusals reported as events before they are only counted.
const MAX_PENDING_REFUSAL_EVENTS: usize = 64;
/// How many times channel creation moves past ids whose reset is still under way.
const OPEN_ATTEMPTS: usize = 16;
/// Bytes queued or in flight and not yet acknowledged, across all channels of an
/// association, from which [`DataChannel::send`] waits for acknowledgements. A message
/// is accepted whole whenever the association holds less.
pub(crate) const SEND_QUEUE_BOUND: usize = 1 << 20;
/// The one datagram buffer of an association (see [`DatagramTransport::recv`]).
pub(crate) const RECEIVE_BUFFER: usize = 8192;

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
    /// Inbound packets the SCTP association dropped as malformed or misaddressed, by
    /// reason (also in `sctp`).
    pub malformed_packets: MalformedCounts,
    /// Messages with the deprecated PPIDs 52/54 (each closes its channel).
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
    /// Chunks we sent again: DATA (after a retransmission timeout or as a fast
    /// retransmit), INIT and `COOKIE-ECHO`.
    pub retransmitted_chunks: u64,
    /// The SCTP association's own counters.
    pub sctp: sctp::Stats,
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

/// How a channel's stream sends, and which channel it belongs to.
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    options: SendOptions,
    /// Tells the channel on this stream from earlier ones on the same id.
    generation: u64,
}

/// How far the reset of a stream has come, in both directions.
#[derive(Debug, Clone, Copy)]
struct ResetProgress {
    /// The peer performed the reset of our outgoing stream.
    ours_done: bool,
    /// The peer reset its outgoing stream (our incoming one).
    theirs_done: bool,
}

/// The protocol state of an association: the sans-IO SCTP association, the DCEP
/// endpoint, and what the adapter keeps next to them.
pub(crate) struct Core {
    sctp: sctp::Association,
    dcep: DcepEndpoint,
    /// Streams open for sending, by id: a channel's messages go out with these options.
    outgoing: HashMap<u16, Outgoing>,
    /// Streams being reset, until both directions are (RFC 8831 §6.7).
    resets: BTreeMap<u16, ResetProgress>,
    /// A sender waits for room under [`SEND_QUEUE_BOUND`].
    senders_waiting: bool,
    next_generation: u64,
    /// Set when the association ended.
    closed: Option<AssociationCloseReason>,
}

impl Core {
    /// The stream's sending state, created (reliable, ordered) if it has none.
    fn outgoing_entry(&mut self, stream: u16) -> &mut Outgoing {
        let next = &mut self.next_generation;
        self.outgoing.entry(stream).or_insert_with(|| {
            *next += 1;
            Outgoing {
                options: SendOptions::default(),
                generation: *next,
            }
        })
    }

    fn close_reason(&self) -> AssociationCloseReason {
        self.closed.clone().unwrap_or(AssociationCloseReason::Local)
    }
}

/// What the driver and the handles share.
pub(crate) struct AssociationShared {
    core: Mutex<Core>,
    /// Handles to driver: the core has packets to send.
    wake: Notify,
    /// Driver to senders: acknowledgements made room under [`SEND_QUEUE_BOUND`], a
    /// channel closed, or the association ended.
    pub(crate) room: Notify,
    state: AtomicU8,
    pub(crate) remote_max_message_size: AtomicUsize,
    max_buffered_amount: usize,
    datagrams_received: AtomicU64,
    datagrams_sent: AtomicU64,
    messages_dropped: AtomicU64,
    oversize_inbound: AtomicU64,
    deprecated_ppid_messages: AtomicU64,
}

/// What [`AssociationShared::try_send`] did with a message.
pub(crate) enum Sent {
    /// Queued in the association.
    Queued,
    /// The association holds [`SEND_QUEUE_BOUND`] bytes or more: wait on
    /// [`AssociationShared::room`] and try again.
    Full,
}

impl AssociationShared {
    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues one message of `channel`; `size` is what the application sent (the payload
    /// of an empty message is one placeholder byte).
    pub(crate) fn try_send(
        &self,
        channel: &ChannelShared,
        ppid: u32,
        payload: &Bytes,
        size: usize,
    ) -> Result<Sent, Error> {
        let id = channel.id;
        let mut core = self.lock();
        if let Some(reason) = &core.closed {
            return Err(Error::AssociationClosed {
                reason: reason.clone(),
            });
        }
        let Some(outgoing) = core
            .outgoing
            .get(&id.get())
            .filter(|outgoing| outgoing.generation == channel.generation)
            .copied()
        else {
            return Err(Error::ChannelClosed { id });
        };
        let buffered = core.sctp.buffered_amount(id.get());
        if buffered.saturating_add(size) > self.max_buffered_amount {
            return Err(Error::SendBufferFull {
                buffered,
                limit: self.max_buffered_amount,
            });
        }
        if core.sctp.total_buffered_amount() >= SEND_QUEUE_BOUND {
            core.senders_waiting = true;
            return Ok(Sent::Full);
        }
        core.sctp
            .send(
                Instant::now(),
                id.get(),
                ppid,
                payload.clone(),
                outgoing.options,
            )
            .map_err(|error| send_error(&core, id, &error))?;
        drop(core);
        self.wake.notify_one();
        Ok(Sent::Queued)
    }

    /// Bytes queued or in flight on `channel`'s stream, not yet acknowledged.
    pub(crate) fn buffered_amount(&self, channel: &ChannelShared) -> usize {
        let core = self.lock();
        match core.outgoing.get(&channel.id.get()) {
            // The stream carries a newer channel now.
            Some(outgoing) if outgoing.generation != channel.generation => 0,
            _ => core.sctp.buffered_amount(channel.id.get()),
        }
    }

    /// Sets the level at or below which the core reports `channel`'s buffered amount low.
    pub(crate) fn set_buffered_amount_low_threshold(&self, channel: &ChannelShared, level: usize) {
        let mut core = self.lock();
        let current = core
            .outgoing
            .get(&channel.id.get())
            .is_some_and(|outgoing| outgoing.generation == channel.generation);
        if current {
            core.sctp
                .set_buffered_amount_low_threshold(channel.id.get(), level);
        }
    }
}

/// Maps the core's refusal of a message on `id`.
fn send_error(core: &Core, id: StreamId, error: &SendError) -> Error {
    match error {
        SendError::NotOpen => Error::AssociationClosed {
            reason: core.close_reason(),
        },
        SendError::InvalidStream(_) if core.resets.contains_key(&id.get()) => {
            Error::ChannelClosed { id }
        }
        SendError::InvalidStream(_) | SendError::Empty => {
            Error::Sctp(SctpFailure::new(error.to_string()))
        }
    }
}

struct Inner {
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
    shared: Arc<AssociationShared>,
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
    /// tokio runtime. The SCTP handshake runs in the background (the DTLS client sends
    /// INIT, the server waits for it): [`AssociationEvent::Established`] (or
    /// [`AssociationEvent::Closed`]) reports the outcome, and
    /// [`create_channel`](Self::create_channel) waits for it.
    pub fn new<T: DatagramTransport>(
        transport: T,
        config: AssociationConfig,
    ) -> Result<(Self, AssociationEvents), Error> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let now = Instant::now();
        let mut sctp = sctp::Association::new(
            sctp::Config {
                local_port: config.local_port,
                remote_port: config.remote_port,
                receive_window: config.receive_window,
                max_message_size: config.max_message_size,
                ..sctp::Config::default()
            },
            now,
            rand::random(),
        );
        if config.role == DtlsRole::Client {
            sctp.connect(now);
        }
        let mut dcep = DcepConfig::new(config.role);
        dcep.max_channels = config.max_channels;
        dcep.max_unclaimed_streams = config.max_unclaimed_streams;
        dcep.max_unclaimed_bytes = config.max_unclaimed_bytes;
        dcep.unclaimed_timeout = config.unclaimed_timeout;
        dcep.close_timeout = config.channel_close_timeout;
        let shared = Arc::new(AssociationShared {
            core: Mutex::new(Core {
                sctp,
                dcep: DcepEndpoint::new(dcep),
                outgoing: HashMap::new(),
                resets: BTreeMap::new(),
                senders_waiting: false,
                next_generation: 0,
                closed: None,
            }),
            wake: Notify::new(),
            room: Notify::new(),
            state: AtomicU8::new(STATE_CONNECTING),
            remote_max_message_size: AtomicUsize::new(config.remote_max_message_size.limit()),
            max_buffered_amount: config.max_buffered_amount,
            datagrams_received: AtomicU64::new(0),
            datagrams_sent: AtomicU64::new(0),
            messages_dropped: AtomicU64::new(0),
            oversize_inbound: AtomicU64::new(0),
            deprecated_ppid_messages: AtomicU64::new(0),
        });
        let cancel = CancellationToken::new();
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let refusals = Arc::new(AtomicUsize::new(0));
        let span = tracing::debug_span!("sctp_association", role = ?config.role);
        let mut driver = Driver {
            deadline: now.checked_add(config.handshake_timeout),
            config,
            shared: Arc::clone(&shared),
            channels: HashMap::new(),
            commands: command_rx,
            commands_tx: command_tx.downgrade(),
            events: event_tx,
            refusals: Arc::clone(&refusals),
            cancel: cancel.clone(),
            waiting_creates: Vec::new(),
            closers: Vec::new(),
            commands_open: true,
            lifecycle: Lifecycle::Connecting,
            stop: None,
            transport_failed: false,
            dcep_failures: Vec::new(),
        };
        // The driver and the transport are borrowed by the loop: moved into it, they
        // would be stored twice in the task's future.
        runtime.spawn(
            async move {
                let transport = transport;
                drive(&transport, &mut driver).await;
            }
            .instrument(span),
        );
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
            .map_err(|_| self.closed_error())?;
        response.await.map_err(|_| self.closed_error())?
    }

    /// Closes the association with a graceful SCTP SHUTDOWN: messages already queued are
    /// delivered first. Returns once what the association had to send at the call is
    /// handed to the transport, without waiting for the peer; the driver completes the
    /// exchange in the background, aborts it after
    /// [`AssociationConfig::shutdown_timeout`], closes the transport and reports
    /// [`AssociationEvent::Closed`]. Idempotent.
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
        match self.inner.shared.state.load(Ordering::Acquire) {
            STATE_CONNECTING => AssociationState::Connecting,
            STATE_ESTABLISHED => AssociationState::Established,
            _ => AssociationState::Closed,
        }
    }

    /// Counters.
    pub fn stats(&self) -> AssociationStats {
        let shared = &self.inner.shared;
        let core = shared.lock();
        let sctp = core.sctp.stats();
        let dcep = core.dcep.stats();
        AssociationStats {
            datagrams_received: shared.datagrams_received.load(Ordering::Relaxed),
            datagrams_sent: shared.datagrams_sent.load(Ordering::Relaxed),
            malformed_packets: sctp.malformed_packets,
            deprecated_ppid_chunks: shared.deprecated_ppid_messages.load(Ordering::Relaxed),
            dcep,
            refused_opens: dcep.refused_opens,
            open_channels: core.dcep.channel_count(),
            messages_dropped: shared.messages_dropped.load(Ordering::Relaxed),
            oversize_inbound: shared.oversize_inbound.load(Ordering::Relaxed),
            retransmitted_chunks: sctp
                .retransmitted_chunks
                .saturating_add(sctp.handshake_retransmits),
            sctp,
        }
    }

    fn closed_error(&self) -> Error {
        Error::AssociationClosed {
            reason: self.inner.shared.lock().close_reason(),
        }
    }
}

const STATE_CONNECTING: u8 = 0;
const STATE_ESTABLISHED: u8 = 1;
const STATE_CLOSED: u8 = 2;

/// The driver's end of a channel.
struct ChannelLink {
    shared: Arc<ChannelShared>,
    events: mpsc::UnboundedSender<ChannelEvent>,
}

/// Where the driver is in the association's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// The handshake is under way.
    Connecting,
    /// Established.
    Established,
    /// `close` started a shutdown (or an abort, before the handshake completed).
    Closing,
}

/// A `create_channel` call waiting for the handshake.
struct WaitingCreate {
    label: String,
    options: Box<ChannelOptions>,
    reply: oneshot::Sender<Result<DataChannel, Error>>,
}

/// The association's task: feeds the core what arrives, drains what it produces.
struct Driver {
    config: AssociationConfig,
    shared: Arc<AssociationShared>,
    channels: HashMap<StreamId, ChannelLink>,
    commands: mpsc::Receiver<Command>,
    commands_tx: mpsc::WeakSender<Command>,
    events: mpsc::UnboundedSender<AssociationEvent>,
    refusals: Arc<AtomicUsize>,
    cancel: CancellationToken,
    /// `create_channel` calls made before the handshake completed.
    waiting_creates: Vec<WaitingCreate>,
    /// `close` calls, answered once what the core had to send then is handed to the
    /// transport (or when the driver ends).
    closers: Vec<oneshot::Sender<()>>,
    /// Handles can still send commands.
    commands_open: bool,
    lifecycle: Lifecycle,
    /// The end of the handshake, or of the graceful shutdown.
    deadline: Option<Instant>,
    /// Set once the association has ended.
    stop: Option<AssociationCloseReason>,
    transport_failed: bool,
    /// DCEP messages the core refused, for the channel creation that sent them.
    dcep_failures: Vec<(StreamId, SendError)>,
}

/// Receives one datagram into `buffer`, and hands the buffer back.
async fn receive<T: DatagramTransport>(
    transport: &T,
    mut buffer: Vec<u8>,
) -> (Vec<u8>, io::Result<usize>) {
    let result = transport.recv(&mut buffer).await;
    (buffer, result)
}

/// Sends `packets` in order; hands the emptied vector back with how many went out.
async fn send_batch<T: DatagramTransport>(
    transport: &T,
    mut packets: Vec<Bytes>,
) -> (Vec<Bytes>, u64, io::Result<()>) {
    let mut sent = 0;
    let mut result = Ok(());
    for packet in packets.drain(..) {
        if let Err(error) = transport.send(&packet).await {
            result = Err(error);
            break;
        }
        sent += 1;
    }
    packets.clear();
    (packets, sent, result)
}

/// The driver loop. The pending `recv` lives across iterations (no datagram is lost to
/// a cancelled read), and so does a pending send: reading goes on while the transport
/// takes its time to send.
async fn drive<T: DatagramTransport>(transport: &T, driver: &mut Driver) {
    let mut recv = pin!(receive(transport, vec![0; RECEIVE_BUFFER]));
    let mut sending = pin!(send_batch(transport, Vec::new()));
    let mut sending_active = false;
    let mut spare = Vec::new();
    let mut timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
    let mut armed: Option<Instant> = None;
    let reason = loop {
        if let Some(reason) = driver.stop.take() {
            break reason;
        }
        let idle = !sending_active;
        let (batch, deadline) = driver.take_transmits(idle, std::mem::take(&mut spare));
        if batch.is_empty() {
            spare = batch;
        } else {
            sending.set(send_batch(transport, batch));
            sending_active = true;
        }
        if driver.stop.is_some() {
            // Transmitting ended the association; what was just handed over is flushed
            // below.
            continue;
        }
        if !sending_active {
            // Whatever the core had to send when `close` was called is out.
            for closer in driver.closers.drain(..) {
                let _ = closer.send(());
            }
        }
        if deadline != armed {
            if let Some(deadline) = deadline {
                timer.as_mut().reset(deadline.into());
            }
            armed = deadline;
        }
        let accepts_commands = driver.commands_open
            && (driver.lifecycle != Lifecycle::Connecting
                || driver.waiting_creates.len() < COMMAND_QUEUE);
        tokio::select! {
            // A graceful shutdown under way completes (bounded by its deadline) even
            // when the handles are gone.
            () = driver.cancel.cancelled(), if driver.lifecycle != Lifecycle::Closing => {
                driver.abort("the association was dropped");
            }
            (buffer, received) = &mut recv => match received {
                Ok(len) => {
                    let datagram = Bytes::copy_from_slice(&buffer[..len.min(buffer.len())]);
                    recv.set(receive(transport, buffer));
                    driver.on_datagram(&datagram);
                }
                Err(error) => driver.transport_failed(error),
            },
            (emptied, sent, result) = &mut sending, if sending_active => {
                sending_active = false;
                spare = emptied;
                driver.shared.datagrams_sent.fetch_add(sent, Ordering::Relaxed);
                if let Err(error) = result {
                    driver.transport_failed(error);
                }
            }
            () = driver.shared.wake.notified() => driver.on_wake(),
            command = driver.commands.recv(), if accepts_commands => {
                if let Some(command) = command {
                    driver.on_command(command);
                } else {
                    driver.commands_open = false;
                    if driver.lifecycle != Lifecycle::Closing {
                        driver.abort("every handle was dropped");
                    }
                }
            }
            () = &mut timer, if armed.is_some() => {
                armed = None;
                driver.on_timeout();
            }
        }
    };
    let bound = driver.config.shutdown_timeout;
    if !driver.transport_failed {
        // What the core still has to say (ABORT, SHUTDOWN COMPLETE), within the shutdown
        // bound.
        let flush = async {
            if sending_active {
                let (_, sent, _) = (&mut sending).await;
                driver
                    .shared
                    .datagrams_sent
                    .fetch_add(sent, Ordering::Relaxed);
            }
            let (batch, _) = driver.take_transmits(true, Vec::new());
            if !batch.is_empty() {
                let (_, sent, _) = send_batch(transport, batch).await;
                driver
                    .shared
                    .datagrams_sent
                    .fetch_add(sent, Ordering::Relaxed);
            }
        };
        let _ = tokio::time::timeout(bound, flush).await;
    }
    let _ = tokio::time::timeout(bound, transport.close()).await;
    driver.finish(reason);
}

impl Driver {
    /// Drains the packets to send (when `drain`), and says when the next timer is due.
    fn take_transmits(
        &mut self,
        drain: bool,
        mut batch: Vec<Bytes>,
    ) -> (Vec<Bytes>, Option<Instant>) {
        let shared = Arc::clone(&self.shared);
        let mut core = shared.lock();
        if drain {
            let now = Instant::now();
            loop {
                while let Some(packet) = core.sctp.poll_transmit(now) {
                    batch.push(packet);
                }
                // Transmitting can produce events too (a stream reset starts or ends).
                if !self.pump(&mut core, now) {
                    break;
                }
            }
        }
        let deadline = [
            core.sctp.poll_timeout(),
            core.dcep.poll_timeout(),
            self.deadline,
        ]
        .into_iter()
        .flatten()
        .min();
        (batch, deadline)
    }

    /// The transport failed: the association ends (a close under way ends with it).
    fn transport_failed(&mut self, error: io::Error) {
        self.transport_failed = true;
        let reason = if self.lifecycle == Lifecycle::Closing {
            AssociationCloseReason::Local
        } else {
            AssociationCloseReason::TransportFailed(TransportFailure::new(error))
        };
        self.stop.get_or_insert(reason);
    }

    fn on_datagram(&mut self, datagram: &Bytes) {
        self.shared
            .datagrams_received
            .fetch_add(1, Ordering::Relaxed);
        let shared = Arc::clone(&self.shared);
        let mut core = shared.lock();
        let now = Instant::now();
        core.sctp.handle_packet(now, datagram);
        self.pump(&mut core, now);
    }

    fn on_wake(&mut self) {
        let shared = Arc::clone(&self.shared);
        let mut core = shared.lock();
        self.pump(&mut core, Instant::now());
    }

    fn on_timeout(&mut self) {
        let now = Instant::now();
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            self.deadline = None;
            if self.lifecycle == Lifecycle::Closing {
                self.abort("the shutdown timed out");
            } else if self.lifecycle == Lifecycle::Connecting {
                self.abort("the handshake timed out");
                self.stop = Some(AssociationCloseReason::HandshakeTimeout);
            }
            return;
        }
        let shared = Arc::clone(&self.shared);
        let mut core = shared.lock();
        core.sctp.handle_timeout(now);
        core.dcep.handle_timeout(now);
        self.pump(&mut core, now);
    }

    /// Ends the association at once, with an ABORT to the peer.
    fn abort(&mut self, why: &str) {
        tracing::debug!(why, "aborting the association");
        let shared = Arc::clone(&self.shared);
        let mut core = shared.lock();
        if core.sctp.state() != sctp::State::Terminated {
            core.sctp.abort(why);
        }
        // Messages already received are still delivered; the core's `Closed` maps to
        // `Local`.
        self.pump(&mut core, Instant::now());
        self.stop.get_or_insert(AssociationCloseReason::Local);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Create {
                label,
                options,
                reply,
            } => {
                if self.lifecycle == Lifecycle::Connecting {
                    self.waiting_creates.push(WaitingCreate {
                        label,
                        options,
                        reply,
                    });
                } else {
                    let shared = Arc::clone(&self.shared);
                    let mut core = shared.lock();
                    let now = Instant::now();
                    let created = self.create(&mut core, now, label, *options);
                    self.pump(&mut core, now);
                    drop(core);
                    let _ = reply.send(created);
                }
            }
            Command::Close { id } => {
                let shared = Arc::clone(&self.shared);
                let mut core = shared.lock();
                let now = Instant::now();
                let _ = core.dcep.close_channel(now, id);
                self.pump(&mut core, now);
            }
            Command::Shutdown { reply } => {
                self.closers.push(reply);
                if self.lifecycle == Lifecycle::Closing {
                    return;
                }
                self.lifecycle = Lifecycle::Closing;
                let shared = Arc::clone(&self.shared);
                let mut core = shared.lock();
                let now = Instant::now();
                match core.sctp.state() {
                    sctp::State::Established => {
                        core.sctp.shutdown(now);
                        self.deadline = now.checked_add(self.config.shutdown_timeout);
                        self.pump(&mut core, now);
                    }
                    // The peer started it; wait for it to complete.
                    sctp::State::ShuttingDown => {
                        self.deadline = now.checked_add(self.config.shutdown_timeout);
                    }
                    _ => {
                        drop(core);
                        self.abort("closed before the handshake completed");
                    }
                }
            }
        }
    }

    /// Carries out everything the SCTP association and the DCEP endpoint produced, until
    /// neither has more; then wakes senders if acknowledgements made room.
    /// Returns whether the SCTP association had any event.
    fn pump(&mut self, core: &mut Core, now: Instant) -> bool {
        let mut any = false;
        loop {
            self.drain_dcep(core, now);
            let Some(event) = core.sctp.poll_event() else {
                break;
            };
            any = true;
            self.on_sctp_event(core, now, event);
        }
        for (id, error) in self.dcep_failures.drain(..) {
            tracing::debug!(%id, %error, "a DCEP message could not be sent");
        }
        if core.senders_waiting && core.sctp.total_buffered_amount() < SEND_QUEUE_BOUND {
            core.senders_waiting = false;
            self.shared.room.notify_waiters();
        }
        any
    }

    fn on_sctp_event(&mut self, core: &mut Core, now: Instant, event: sctp::Event) {
        match event {
            sctp::Event::Connected => {
                if self.lifecycle != Lifecycle::Connecting {
                    return;
                }
                self.lifecycle = Lifecycle::Established;
                self.deadline = None;
                self.shared
                    .state
                    .store(STATE_ESTABLISHED, Ordering::Release);
                let _ = self.events.send(AssociationEvent::Established);
                for waiting in std::mem::take(&mut self.waiting_creates) {
                    let created = self.create(core, now, waiting.label, *waiting.options);
                    let _ = waiting.reply.send(created);
                }
            }
            sctp::Event::Message(message) => {
                let Ok(id) = StreamId::new(message.stream) else {
                    return;
                };
                if PayloadKind::is_deprecated_partial(message.ppid) {
                    self.shared
                        .deprecated_ppid_messages
                        .fetch_add(1, Ordering::Relaxed);
                }
                let kind = PayloadKind::from_ppid(message.ppid);
                if let Some(message) = core.dcep.handle_message(now, id, kind, message.payload) {
                    self.deliver(core, now, id, message);
                }
            }
            sctp::Event::OversizeMessage { stream } => {
                self.shared.oversize_inbound.fetch_add(1, Ordering::Relaxed);
                if let Ok(id) = StreamId::new(stream) {
                    let limit = self.config.max_message_size;
                    core.dcep.report_violation(
                        now,
                        id,
                        ProtocolViolation::InboundMessageTooLarge { id, limit },
                    );
                }
            }
            sctp::Event::IncomingStreamsReset(streams) => {
                // RFC 8831 §6.7: the peer closed these channels; reset our side too,
                // unless we did already.
                let mut answer = Vec::new();
                for stream in streams {
                    match core.resets.get_mut(&stream) {
                        Some(progress) if progress.ours_done => {
                            core.resets.remove(&stream);
                        }
                        Some(progress) => progress.theirs_done = true,
                        None => {
                            core.resets.insert(
                                stream,
                                ResetProgress {
                                    ours_done: false,
                                    theirs_done: true,
                                },
                            );
                            core.outgoing.remove(&stream);
                            answer.push(stream);
                        }
                    }
                    if let Ok(id) = StreamId::new(stream) {
                        core.dcep.handle_stream_reset(now, id);
                    }
                }
                if !answer.is_empty() {
                    core.sctp.reset_streams(&answer);
                }
            }
            sctp::Event::OutgoingStreamsReset(streams) => {
                for stream in streams {
                    match core.resets.get_mut(&stream) {
                        Some(progress) if progress.theirs_done => {
                            core.resets.remove(&stream);
                        }
                        Some(progress) => progress.ours_done = true,
                        None => {}
                    }
                }
            }
            sctp::Event::BufferedAmountLow { stream } => {
                let link = StreamId::new(stream)
                    .ok()
                    .and_then(|id| self.channels.get(&id));
                if let Some(link) = link {
                    link.shared.low.notify_waiters();
                    // The DCEP OPEN counts in the buffered amount too: announce only once
                    // the application has sent something.
                    if link.shared.has_sent()
                        && !link.shared.low_event_queued.swap(true, Ordering::AcqRel)
                    {
                        let _ = link.events.send(ChannelEvent::BufferedAmountLow);
                    }
                }
            }
            sctp::Event::Closed(reason) => {
                let reason = self.close_reason(reason);
                self.stop.get_or_insert(reason);
            }
        }
    }

    fn close_reason(&self, reason: sctp::CloseReason) -> AssociationCloseReason {
        match reason {
            sctp::CloseReason::Shutdown if self.lifecycle == Lifecycle::Closing => {
                AssociationCloseReason::Local
            }
            sctp::CloseReason::Shutdown => AssociationCloseReason::PeerShutdown,
            sctp::CloseReason::Aborted => AssociationCloseReason::Local,
            sctp::CloseReason::PeerAborted(causes) => {
                tracing::debug!(causes, "the peer aborted the association");
                AssociationCloseReason::PeerAbort
            }
            sctp::CloseReason::HandshakeTimeout => AssociationCloseReason::HandshakeTimeout,
            sctp::CloseReason::PeerUnreachable => AssociationCloseReason::PeerUnreachable,
            sctp::CloseReason::ProtocolViolation(what)
                if self.lifecycle != Lifecycle::Connecting =>
            {
                AssociationCloseReason::PeerMisbehaved(SctpFailure::new(what))
            }
            sctp::CloseReason::ProtocolViolation(what) => {
                AssociationCloseReason::HandshakeFailed(SctpFailure::new(what))
            }
        }
    }

    /// Carries out the DCEP endpoint's outputs.
    fn drain_dcep(&mut self, core: &mut Core, now: Instant) {
        let mut resets = Vec::new();
        while let Some(output) = core.dcep.poll_output() {
            match output {
                DcepOutput::ConfigureStream {
                    id,
                    ordered,
                    reliability,
                } => {
                    // The stream carries a channel again (the peer opens one only once
                    // both directions were reset).
                    core.resets.remove(&id.get());
                    core.outgoing_entry(id.get()).options = send_options(ordered, reliability);
                }
                DcepOutput::SendDcep { id, message } => {
                    let sent = core.sctp.send(
                        now,
                        id.get(),
                        PayloadKind::DCEP,
                        message.encode(),
                        SendOptions::default(),
                    );
                    if let Err(error) = sent {
                        self.dcep_failures.push((id, error));
                    }
                }
                DcepOutput::ResetStream { id } => {
                    core.outgoing.remove(&id.get());
                    match core.resets.entry(id.get()) {
                        Entry::Vacant(entry) => {
                            entry.insert(ResetProgress {
                                ours_done: false,
                                theirs_done: false,
                            });
                            resets.push(id.get());
                        }
                        Entry::Occupied(mut entry) if entry.get().ours_done => {
                            entry.get_mut().ours_done = false;
                            resets.push(id.get());
                        }
                        // Our reset is under way already.
                        Entry::Occupied(_) => {}
                    }
                    if let Some(link) = self.channels.get(&id)
                        && link.shared.state() != ChannelState::Closed
                    {
                        link.shared.set_state(ChannelState::Closing);
                    }
                }
                DcepOutput::RemoteChannel { id, open } => {
                    if let Some(channel) =
                        self.attach(core, id, open, ChannelOrigin::Remote, ChannelState::Open)
                    {
                        let _ = self.events.send(AssociationEvent::ChannelOpened(channel));
                    }
                }
                DcepOutput::ChannelOpen { id } => {
                    if let Some(link) = self.channels.get(&id) {
                        link.shared.set_state(ChannelState::Open);
                        let _ = link.events.send(ChannelEvent::Open);
                    }
                }
                DcepOutput::Deliver { id, message } => self.deliver(core, now, id, message),
                DcepOutput::ChannelClosed { id, reason } => {
                    self.on_channel_closed(core, id, reason);
                }
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
        if !resets.is_empty() {
            core.sctp.reset_streams(&resets);
        }
    }

    /// Creates a channel of ours (announced with `DATA_CHANNEL_OPEN`, or negotiated).
    fn create(
        &mut self,
        core: &mut Core,
        now: Instant,
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
        let origin = if negotiated.is_some() {
            ChannelOrigin::Negotiated
        } else {
            ChannelOrigin::Local
        };
        for _ in 0..OPEN_ATTEMPTS {
            let id = core.dcep.open_channel(now, request.clone())?;
            if core.resets.contains_key(&id.get()) {
                // Our reset of this stream is still under way; it cannot carry a new
                // channel yet.
                core.dcep.abandon_open(id);
                if negotiated.is_some() {
                    return Err(Error::StreamIdInUse { id });
                }
                continue;
            }
            let state = core.dcep.channel_state(id).unwrap_or(ChannelState::Closed);
            // Attached first: a negotiated channel's held messages are delivered as the
            // outputs are carried out.
            let Some(channel) = self.attach(core, id, open.clone(), origin, state) else {
                core.dcep.abandon_open(id);
                return Err(Error::AssociationClosed {
                    reason: core.close_reason(),
                });
            };
            self.drain_dcep(core, now);
            if let Some(at) = self.dcep_failures.iter().position(|(f, _)| *f == id) {
                let (_, error) = self.dcep_failures.remove(at);
                core.dcep.abandon_open(id);
                core.outgoing.remove(&id.get());
                self.channels.remove(&id);
                // Dropped without a close: nothing was opened.
                channel.shared.set_state(ChannelState::Closed);
                return Err(send_error(core, id, &error));
            }
            return Ok(channel);
        }
        Err(Error::StreamIdsExhausted)
    }

    /// Creates the channel handle for stream `id`.
    fn attach(
        &mut self,
        core: &mut Core,
        id: StreamId,
        open: DataChannelOpen,
        origin: ChannelOrigin,
        state: ChannelState,
    ) -> Option<DataChannel> {
        let commands = self.commands_tx.upgrade()?;
        let generation = core.outgoing_entry(id.get()).generation;
        // A new channel starts from the default threshold, whatever the stream had.
        core.sctp.set_buffered_amount_low_threshold(id.get(), 0);
        let shared = Arc::new(ChannelShared::new(
            id,
            open,
            origin,
            state,
            generation,
            Arc::clone(&self.shared),
        ));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        self.channels.insert(
            id,
            ChannelLink {
                shared: Arc::clone(&shared),
                events: events_tx,
            },
        );
        Some(DataChannel {
            shared,
            events: events_rx,
            commands,
            closed_seen: false,
        })
    }

    /// Hands a message to its channel's queue, applying the receive-buffer policy.
    fn deliver(&mut self, core: &mut Core, now: Instant, id: StreamId, message: UserMessage) {
        let Some(link) = self.channels.get(&id) else {
            return;
        };
        let shared = &link.shared;
        let len = message.data.len();
        let queued = shared.queued_bytes.load(Ordering::Acquire);
        if queued.saturating_add(len) > self.config.channel_receive_buffer {
            if shared.reliability == Reliability::Reliable {
                core.dcep.close_for_overflow(now, id);
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

    fn on_channel_closed(&mut self, core: &mut Core, id: StreamId, reason: ChannelCloseReason) {
        let Some(link) = self.channels.remove(&id) else {
            return;
        };
        let already = link.shared.state() == ChannelState::Closed;
        link.shared.set_state(ChannelState::Closed);
        link.shared.low.notify_waiters();
        if core
            .outgoing
            .get(&id.get())
            .is_some_and(|outgoing| outgoing.generation == link.shared.generation)
        {
            core.outgoing.remove(&id.get());
        }
        // A sender of this channel waiting for room learns of the close.
        self.shared.room.notify_waiters();
        if !already {
            let _ = link.events.send(ChannelEvent::Closed(reason));
        }
    }

    /// The association ended: close every channel, answer every caller, report why.
    fn finish(&mut self, reason: AssociationCloseReason) {
        tracing::debug!(%reason, "association closed");
        let shared = Arc::clone(&self.shared);
        {
            let mut core = shared.lock();
            core.closed = Some(reason.clone());
            core.dcep.handle_association_closed();
            let now = Instant::now();
            self.drain_dcep(&mut core, now);
            self.dcep_failures.clear();
            core.outgoing.clear();
            core.senders_waiting = false;
        }
        for (_, link) in self.channels.drain() {
            link.shared.set_state(ChannelState::Closed);
            link.shared.low.notify_waiters();
            let _ = link
                .events
                .send(ChannelEvent::Closed(ChannelCloseReason::AssociationClosed));
        }
        self.shared.state.store(STATE_CLOSED, Ordering::Release);
        self.shared.room.notify_waiters();
        // Answer what is still queued so no caller waits forever.
        self.commands.close();
        let closed = || Error::AssociationClosed {
            reason: reason.clone(),
        };
        for waiting in std::mem::take(&mut self.waiting_creates) {
            let _ = waiting.reply.send(Err(closed()));
        }
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Create { reply, .. } => {
                    let _ = reply.send(Err(closed()));
                }
                Command::Shutdown { reply } => self.closers.push(reply),
                Command::Close { .. } => {}
            }
        }
        for closer in std::mem::take(&mut self.closers) {
            let _ = closer.send(());
        }
        let _ = self.events.send(AssociationEvent::Closed(reason));
    }
}

/// How a channel's user messages are sent (RFC 8831 §6.6).
fn send_options(ordered: bool, reliability: Reliability) -> SendOptions {
    let (max_retransmits, lifetime) = match reliability {
        Reliability::Reliable => (None, None),
        Reliability::MaxRetransmits(n) => (Some(u16::try_from(n).unwrap_or(u16::MAX)), None),
        Reliability::MaxPacketLifetimeMs(ms) => {
            (None, Some(std::time::Duration::from_millis(u64::from(ms))))
        }
    };
    SendOptions {
        unordered: !ordered,
        max_retransmits,
        lifetime,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Every association keeps its queues for its whole life, idle or not, and a tokio
    /// queue reserves room for 32 entries when it is created: what they carry must stay
    /// a few words.
    #[test]
    fn queued_types_stay_small() {
        assert!(size_of::<Command>() <= 48, "{}", size_of::<Command>());
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
    fn reliability_maps_onto_per_message_options() {
        assert_eq!(
            send_options(true, Reliability::Reliable),
            SendOptions::default()
        );
        assert_eq!(
            send_options(false, Reliability::MaxRetransmits(0)),
            SendOptions {
                unordered: true,
                max_retransmits: Some(0),
                lifetime: None,
            }
        );
        assert_eq!(
            send_options(true, Reliability::MaxRetransmits(u32::MAX)).max_retransmits,
            Some(u16::MAX)
        );
        assert_eq!(
            send_options(true, Reliability::MaxPacketLifetimeMs(150)).lifetime,
            Some(Duration::from_millis(150))
        );
    }
}
