//! The application's handle on one data channel.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};

use crate::association::{AssociationShared, Command, Sent};
use crate::config::Priority;
use crate::dcep::{
    ChannelCloseReason, ChannelOrigin, ChannelState, DataChannelOpen, PayloadKind, Reliability,
    StreamId,
};
use crate::error::{AssociationCloseReason, Error};

/// One message, text or binary (the distinction travels as the SCTP PPID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// UTF-8 text (PPID 51, or 56 when empty). Text that arrives as invalid UTF-8 is
    /// decoded lossily, as browsers do, and counted.
    Text(String),
    /// Binary data (PPID 53, or 57 when empty).
    Binary(Bytes),
}

impl Message {
    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) => data.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Self::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Self::Binary(Bytes::from(data))
    }
}

/// What happens on a channel, in order.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// The peer acknowledged our `DATA_CHANNEL_OPEN` (channels we open start
    /// [`ChannelState::Connecting`], and may send already).
    Open,
    /// A message arrived.
    Message(Message),
    /// [`DataChannel::buffered_amount`] fell to the low threshold or below.
    BufferedAmountLow,
    /// The channel closed; no event follows.
    Closed(ChannelCloseReason),
}

/// Counters of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Messages sent.
    pub messages_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Messages dropped because the application fell behind (unreliable channels only).
    pub messages_dropped: u64,
    /// Text messages that were not valid UTF-8 (delivered lossily decoded).
    pub invalid_utf8: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ChannelCounters {
    messages_sent: AtomicU64,
    bytes_sent: AtomicU64,
    pub(crate) messages_received: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) messages_dropped: AtomicU64,
    pub(crate) invalid_utf8: AtomicU64,
}

/// State shared by a channel's handles and the association's driver.
pub(crate) struct ChannelShared {
    pub(crate) id: StreamId,
    pub(crate) label: String,
    pub(crate) protocol: String,
    pub(crate) ordered: bool,
    pub(crate) reliability: Reliability,
    pub(crate) priority: Priority,
    pub(crate) origin: ChannelOrigin,
    /// Tells this channel from earlier and later ones on the same stream id.
    pub(crate) generation: u64,
    state: AtomicU8,
    /// Received bytes waiting in the handle's queue.
    pub(crate) queued_bytes: AtomicUsize,
    /// A `BufferedAmountLow` event is queued and not yet read.
    pub(crate) low_event_queued: AtomicBool,
    /// Woken when the buffered amount falls to the threshold, or the channel closes.
    pub(crate) low: Notify,
    low_threshold: AtomicUsize,
    pub(crate) counters: ChannelCounters,
    association: Arc<AssociationShared>,
}

impl ChannelShared {
    pub(crate) fn new(
        id: StreamId,
        open: DataChannelOpen,
        origin: ChannelOrigin,
        state: ChannelState,
        generation: u64,
        association: Arc<AssociationShared>,
    ) -> Self {
        Self {
            id,
            label: open.label,
            protocol: open.protocol,
            ordered: open.channel_type.ordered,
            reliability: open.channel_type.reliability,
            priority: Priority::from_wire(open.priority),
            origin,
            generation,
            state: AtomicU8::new(encode_state(state)),
            queued_bytes: AtomicUsize::new(0),
            low_event_queued: AtomicBool::new(false),
            low: Notify::new(),
            low_threshold: AtomicUsize::new(0),
            counters: ChannelCounters::default(),
            association,
        }
    }

    pub(crate) fn state(&self) -> ChannelState {
        match self.state.load(Ordering::Acquire) {
            0 => ChannelState::Connecting,
            1 => ChannelState::Open,
            2 => ChannelState::Closing,
            _ => ChannelState::Closed,
        }
    }

    pub(crate) fn has_sent(&self) -> bool {
        self.counters.messages_sent.load(Ordering::Relaxed) > 0
    }

    pub(crate) fn set_state(&self, state: ChannelState) {
        self.state.store(encode_state(state), Ordering::Release);
    }

    fn buffered_amount(&self) -> usize {
        self.association.buffered_amount(self)
    }

    fn buffered_amount_low_threshold(&self) -> usize {
        self.low_threshold.load(Ordering::Relaxed)
    }

    fn set_buffered_amount_low_threshold(&self, threshold: usize) {
        self.low_threshold.store(threshold, Ordering::Relaxed);
        self.association
            .set_buffered_amount_low_threshold(self, threshold);
        // A waiter of `buffered_amount_low` may be satisfied by the new level.
        self.low.notify_waiters();
    }
}

fn encode_state(state: ChannelState) -> u8 {
    match state {
        ChannelState::Connecting => 0,
        ChannelState::Open => 1,
        ChannelState::Closing => 2,
        ChannelState::Closed => 3,
    }
}

/// One data channel: send with [`send`](Self::send) / [`send_text`](Self::send_text),
/// receive messages and events with [`recv`](Self::recv).
///
/// Dropping the handle closes the channel (its stream is reset).
pub struct DataChannel {
    pub(crate) shared: Arc<ChannelShared>,
    pub(crate) events: mpsc::UnboundedReceiver<ChannelEvent>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) closed_seen: bool,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel")
            .field("id", &self.shared.id)
            .field("label", &self.shared.label)
            .field("state", &self.shared.state())
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    /// The channel's id (its SCTP stream id).
    pub fn id(&self) -> StreamId {
        self.shared.id
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// The sub-protocol (empty when unspecified).
    pub fn protocol(&self) -> &str {
        &self.shared.protocol
    }

    /// Whether delivery is in order.
    pub fn ordered(&self) -> bool {
        self.shared.ordered
    }

    /// The retransmission policy.
    pub fn reliability(&self) -> Reliability {
        self.shared.reliability
    }

    /// The priority announced for this channel.
    pub fn priority(&self) -> Priority {
        self.shared.priority
    }

    /// Whether the channel was pre-negotiated (no DCEP).
    pub fn negotiated(&self) -> bool {
        self.shared.origin == ChannelOrigin::Negotiated
    }

    /// The current state.
    pub fn state(&self) -> ChannelState {
        self.shared.state()
    }

    /// Sends binary data (an empty payload goes out as PPID 57).
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send_message(Message::Binary(data.into())).await
    }

    /// Sends text (an empty string goes out as PPID 56).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.send_message(Message::Text(text.into())).await
    }

    /// Sends one message.
    ///
    /// Fails at once when the channel is closing, when the message exceeds the peer's
    /// `a=max-message-size` ([`Error::MessageTooLarge`]), or when the channel's send
    /// buffer would pass [`AssociationConfig::max_buffered_amount`](crate::AssociationConfig)
    /// ([`Error::SendBufferFull`]; await [`buffered_amount_low`](Self::buffered_amount_low)).
    /// Otherwise the message is queued whole, except while the association holds 1 MiB
    /// or more not yet acknowledged across all its channels: then it waits until
    /// acknowledgements bring it below, the backpressure a fast sender feels first.
    pub async fn send_message(&self, message: Message) -> Result<(), Error> {
        send_message(&self.shared, message).await
    }

    /// The next event: a message, the open acknowledgement, a low-buffer notice, or the
    /// close. `None` after [`ChannelEvent::Closed`] has been returned.
    pub async fn recv(&mut self) -> Option<ChannelEvent> {
        if self.closed_seen {
            return None;
        }
        let event = self.events.recv().await;
        match &event {
            Some(ChannelEvent::Message(message)) => {
                self.shared
                    .queued_bytes
                    .fetch_sub(message.len(), Ordering::AcqRel);
            }
            Some(ChannelEvent::BufferedAmountLow) => {
                self.shared.low_event_queued.store(false, Ordering::Release);
            }
            Some(ChannelEvent::Closed(_)) | None => self.closed_seen = true,
            Some(ChannelEvent::Open) => {}
        }
        event
    }

    /// Bytes queued for sending and not yet acknowledged by the peer.
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered_amount()
    }

    /// The threshold for [`ChannelEvent::BufferedAmountLow`] (default 0).
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.shared.buffered_amount_low_threshold()
    }

    /// Sets the low-buffer threshold.
    pub fn set_buffered_amount_low_threshold(&self, threshold: usize) {
        self.shared.set_buffered_amount_low_threshold(threshold);
    }

    /// Waits until [`buffered_amount`](Self::buffered_amount) is at or below the low
    /// threshold (returns at once if it already is), or the channel closed.
    pub async fn buffered_amount_low(&self) {
        buffered_amount_low(&self.shared).await;
    }

    /// Closes the channel: queued messages are still sent, then the outgoing stream is
    /// reset (RFC 8831 §6.7); [`ChannelEvent::Closed`] follows once the peer resets its
    /// side.
    pub async fn close(&self) -> Result<(), Error> {
        close(&self.commands, self.shared.id).await
    }

    /// The channel's counters.
    pub fn stats(&self) -> ChannelStats {
        stats(&self.shared)
    }
}

async fn buffered_amount_low(shared: &ChannelShared) {
    loop {
        let notified = shared.low.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.state() == ChannelState::Closed
            || shared.buffered_amount() <= shared.buffered_amount_low_threshold()
        {
            return;
        }
        notified.await;
    }
}

async fn close(commands: &mpsc::Sender<Command>, id: StreamId) -> Result<(), Error> {
    commands
        .send(Command::Close { id })
        .await
        .map_err(|_| Error::AssociationClosed {
            reason: AssociationCloseReason::Local,
        })
}

fn stats(shared: &ChannelShared) -> ChannelStats {
    let c = &shared.counters;
    ChannelStats {
        messages_sent: c.messages_sent.load(Ordering::Relaxed),
        bytes_sent: c.bytes_sent.load(Ordering::Relaxed),
        messages_received: c.messages_received.load(Ordering::Relaxed),
        bytes_received: c.bytes_received.load(Ordering::Relaxed),
        messages_dropped: c.messages_dropped.load(Ordering::Relaxed),
        invalid_utf8: c.invalid_utf8.load(Ordering::Relaxed),
    }
}

/// Sends one message on a channel's stream (shared by [`DataChannel`] and [`ChannelSender`]).
async fn send_message(shared: &ChannelShared, message: Message) -> Result<(), Error> {
    if matches!(shared.state(), ChannelState::Closing | ChannelState::Closed) {
        return Err(Error::ChannelClosed { id: shared.id });
    }
    let size = message.len();
    let limit = shared
        .association
        .remote_max_message_size
        .load(Ordering::Relaxed);
    if size > limit {
        return Err(Error::MessageTooLarge { size, limit });
    }
    // SCTP cannot carry an empty message: RFC 8831 §6.6 sends one byte with the
    // "empty" PPID, which the receiver ignores.
    let (ppid, payload) = match message {
        Message::Text(text) if text.is_empty() => {
            (PayloadKind::STRING_EMPTY, Bytes::from_static(&[0]))
        }
        Message::Text(text) => (PayloadKind::STRING, Bytes::from(text)),
        Message::Binary(data) if data.is_empty() => {
            (PayloadKind::BINARY_EMPTY, Bytes::from_static(&[0]))
        }
        Message::Binary(data) => (PayloadKind::BINARY, data),
    };
    loop {
        // Registered before trying, so an acknowledgement in between is not missed.
        let mut room = pin!(shared.association.room.notified());
        room.as_mut().enable();
        match shared.association.try_send(shared, ppid, &payload, size)? {
            Sent::Queued => break,
            Sent::Full => room.await,
        }
    }
    shared
        .counters
        .messages_sent
        .fetch_add(1, Ordering::Relaxed);
    shared
        .counters
        .bytes_sent
        .fetch_add(size as u64, Ordering::Relaxed);
    Ok(())
}

/// The sending half of a [`DataChannel`], from [`DataChannel::sender`]: cheap to clone, so
/// any number of tasks can send while one reads with [`DataChannel::recv`]. It does not
/// keep the channel open; dropping the [`DataChannel`] still closes it.
#[derive(Clone)]
pub struct ChannelSender {
    shared: Arc<ChannelShared>,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for ChannelSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSender")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    /// A cloneable handle for sending on this channel.
    pub fn sender(&self) -> ChannelSender {
        ChannelSender {
            shared: Arc::clone(&self.shared),
            commands: self.commands.clone(),
        }
    }
}

impl ChannelSender {
    /// The channel's id.
    pub fn id(&self) -> StreamId {
        self.shared.id
    }

    /// The channel's state.
    pub fn state(&self) -> ChannelState {
        self.shared.state()
    }

    /// Sends binary data (see [`DataChannel::send`]).
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        send_message(&self.shared, Message::Binary(data.into())).await
    }

    /// Sends text (see [`DataChannel::send_text`]).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        send_message(&self.shared, Message::Text(text.into())).await
    }

    /// Sends one message (see [`DataChannel::send_message`]).
    pub async fn send_message(&self, message: Message) -> Result<(), Error> {
        send_message(&self.shared, message).await
    }

    /// Bytes queued for sending and not yet acknowledged by the peer.
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered_amount()
    }

    /// The low-buffer threshold.
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.shared.buffered_amount_low_threshold()
    }

    /// Sets the low-buffer threshold.
    pub fn set_buffered_amount_low_threshold(&self, threshold: usize) {
        self.shared.set_buffered_amount_low_threshold(threshold);
    }

    /// Waits until the buffered amount is at or below the low threshold, or the channel
    /// closed (see [`DataChannel::buffered_amount_low`]).
    pub async fn buffered_amount_low(&self) {
        buffered_amount_low(&self.shared).await;
    }

    /// Closes the channel (see [`DataChannel::close`]).
    pub async fn close(&self) -> Result<(), Error> {
        close(&self.commands, self.shared.id).await
    }

    /// The channel's counters.
    pub fn stats(&self) -> ChannelStats {
        stats(&self.shared)
    }
}

impl Drop for DataChannel {
    fn drop(&mut self) {
        if !matches!(
            self.shared.state(),
            ChannelState::Closing | ChannelState::Closed
        ) {
            let _ = self
                .commands
                .try_send(Command::Close { id: self.shared.id });
        }
    }
}
