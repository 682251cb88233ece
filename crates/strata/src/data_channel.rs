//! Data channels as the application holds them: usable from creation, bound to the SCTP
//! stream once the connection is up.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use strata_datachannel as dc;
use tokio::sync::{Mutex, SetOnce, oneshot};

pub use dc::{
    ChannelCloseReason, ChannelEvent, ChannelOptions, ChannelState, ChannelStats, Message,
    Priority, Reliability,
};

use crate::error::Error;

/// A data channel (W3C `RTCDataChannel`).
///
/// Cheap to clone: every clone is the same channel, so one task can read while others
/// send. A channel created before the connection is up is `Connecting`; it turns `Open`
/// and reports [`ChannelEvent::Open`] through [`recv`](Self::recv) once its SCTP stream
/// exists and its `DATA_CHANNEL_OPEN` is sent, as browsers do: RFC 8832 §6 lets the
/// opener send before the peer's ACK (messages go out ordered until it arrives), and a
/// peer that refuses the channel closes it ([`ChannelCloseReason::OpenRefused`]).
/// Dropping the last clone closes the channel.
#[derive(Clone)]
pub struct DataChannel {
    shared: Arc<Shared>,
}

struct Shared {
    label: String,
    options: ChannelOptions,
    /// The sending half, once the SCTP stream exists.
    sender: SetOnce<dc::ChannelSender>,
    /// The receiving half: still being created, ready, or gone.
    receiving: Mutex<Receiving>,
    /// Closed by the application before the stream existed.
    closed_early: AtomicBool,
}

enum Receiving {
    Pending(oneshot::Receiver<Result<dc::DataChannel, Error>>),
    /// `opened`: [`ChannelEvent::Open`] was reported already, so the layer's own (at the
    /// peer's ACK) is not reported again.
    Ready {
        inner: dc::DataChannel,
        opened: bool,
    },
    Gone,
}

/// The driver's end of a channel created before its stream: completes it once.
pub(crate) struct Binder {
    shared: Arc<Shared>,
    ready: oneshot::Sender<Result<dc::DataChannel, Error>>,
}

impl Binder {
    /// The channel's label and options, to create the stream with.
    pub(crate) fn request(&self) -> (&str, &ChannelOptions) {
        (&self.shared.label, &self.shared.options)
    }

    /// Whether the application closed the channel before it was created.
    pub(crate) fn abandoned(&self) -> bool {
        self.shared.closed_early.load(Ordering::Acquire)
    }

    /// Hands the created stream (or why it could not be created) to the channel.
    pub(crate) fn bind(self, created: Result<dc::DataChannel, Error>) {
        if let Ok(inner) = &created {
            let _ = self.shared.sender.set(inner.sender());
        }
        let _ = self.ready.send(created);
    }
}

impl fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataChannel")
            .field("label", &self.shared.label)
            .field("id", &self.id())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    /// A channel whose stream the driver will create; the [`Binder`] completes it.
    pub(crate) fn pending(label: String, options: ChannelOptions) -> (Self, Binder) {
        let (ready, receiver) = oneshot::channel();
        let shared = Arc::new(Shared {
            label,
            options,
            sender: SetOnce::new(),
            receiving: Mutex::new(Receiving::Pending(receiver)),
            closed_early: AtomicBool::new(false),
        });
        (
            Self {
                shared: Arc::clone(&shared),
            },
            Binder { shared, ready },
        )
    }

    /// A channel the peer opened: its stream exists already.
    pub(crate) fn opened_by_peer(inner: dc::DataChannel) -> Self {
        let options = ChannelOptions {
            ordered: inner.ordered(),
            max_retransmits: match inner.reliability() {
                Reliability::MaxRetransmits(n) => Some(n),
                _ => None,
            },
            max_packet_life_time: match inner.reliability() {
                Reliability::MaxPacketLifetimeMs(ms) => {
                    Some(std::time::Duration::from_millis(u64::from(ms)))
                }
                _ => None,
            },
            protocol: inner.protocol().to_owned(),
            negotiated: None,
            priority: inner.priority(),
        };
        let shared = Arc::new(Shared {
            label: inner.label().to_owned(),
            options,
            sender: SetOnce::new_with(Some(inner.sender())),
            receiving: Mutex::new(Receiving::Ready {
                inner,
                opened: true,
            }),
            closed_early: AtomicBool::new(false),
        });
        Self { shared }
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// The sub-protocol.
    pub fn protocol(&self) -> &str {
        &self.shared.options.protocol
    }

    /// The options it was created with (for a channel the peer opened: what it announced).
    pub fn options(&self) -> &ChannelOptions {
        &self.shared.options
    }

    /// The SCTP stream id, once the stream exists.
    pub fn id(&self) -> Option<u16> {
        self.shared.sender.get().map(|s| s.id().get())
    }

    /// The channel's state.
    pub fn state(&self) -> ChannelState {
        match self.shared.sender.get() {
            // Bound: the stream exists and the OPEN is sent, which browsers call open.
            Some(sender) if sender.state() == ChannelState::Connecting => ChannelState::Open,
            Some(sender) => sender.state(),
            None if self.shared.closed_early.load(Ordering::Acquire) => ChannelState::Closed,
            None => ChannelState::Connecting,
        }
    }

    fn sender(&self) -> Result<&dc::ChannelSender, Error> {
        self.shared
            .sender
            .get()
            .ok_or(Error::InvalidState("the data channel is not open yet"))
    }

    /// Sends binary data (RFC 8831 PPID 53; empty data goes out as PPID 57).
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        Ok(self.sender()?.send(data).await?)
    }

    /// Sends text (PPID 51; empty text as PPID 56).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        Ok(self.sender()?.send_text(text).await?)
    }

    /// Sends one message.
    pub async fn send_message(&self, message: Message) -> Result<(), Error> {
        Ok(self.sender()?.send_message(message).await?)
    }

    /// The next event: [`ChannelEvent::Open`], a message, a low-buffer notice, or the
    /// close; `None` after the close has been reported. One reader at a time: concurrent
    /// calls wait their turn.
    pub async fn recv(&self) -> Option<ChannelEvent> {
        let mut receiving = self.shared.receiving.lock().await;
        if let Receiving::Pending(ready) = &mut *receiving {
            *receiving = match ready.await {
                // The stream exists and, unless pre-negotiated, the OPEN is sent: report
                // the open here, as browsers do once SCTP is up.
                Ok(Ok(inner))
                    if matches!(inner.state(), ChannelState::Connecting | ChannelState::Open) =>
                {
                    *receiving = Receiving::Ready {
                        inner,
                        opened: true,
                    };
                    return Some(ChannelEvent::Open);
                }
                Ok(Ok(inner)) => Receiving::Ready {
                    inner,
                    opened: false,
                },
                Ok(Err(error)) => {
                    tracing::debug!(%error, label = %self.shared.label, "data channel could not be created");
                    Receiving::Gone
                }
                Err(_) => Receiving::Gone,
            };
        }
        match &mut *receiving {
            Receiving::Ready { inner, opened } => loop {
                match inner.recv().await {
                    Some(ChannelEvent::Open) if *opened => {}
                    Some(ChannelEvent::Open) => {
                        *opened = true;
                        return Some(ChannelEvent::Open);
                    }
                    other => return other,
                }
            },
            Receiving::Pending(_) | Receiving::Gone => None,
        }
    }

    /// Bytes queued for sending and not yet acknowledged.
    pub fn buffered_amount(&self) -> usize {
        self.shared
            .sender
            .get()
            .map_or(0, dc::ChannelSender::buffered_amount)
    }

    /// Sets the threshold below which [`ChannelEvent::BufferedAmountLow`] is reported.
    pub fn set_buffered_amount_low_threshold(&self, threshold: usize) -> Result<(), Error> {
        self.sender()?.set_buffered_amount_low_threshold(threshold);
        Ok(())
    }

    /// Waits until the buffered amount is at or below the low threshold.
    pub async fn buffered_amount_low(&self) -> Result<(), Error> {
        self.sender()?.buffered_amount_low().await;
        Ok(())
    }

    /// Counters, once the stream exists.
    pub fn stats(&self) -> Option<ChannelStats> {
        self.shared.sender.get().map(dc::ChannelSender::stats)
    }

    /// Closes the channel: queued messages still go out, then the stream is reset.
    pub async fn close(&self) -> Result<(), Error> {
        if let Some(sender) = self.shared.sender.get() {
            return Ok(sender.close().await?);
        }
        self.shared.closed_early.store(true, Ordering::Release);
        Ok(())
    }
}
