//! Stream ids and the DTLS-role parity rule (RFC 8832 §6).

use std::fmt;

use crate::error::Error;

/// An SCTP stream id, which is also the data channel's id.
///
/// Valid ids are `0..=65534`: SCTP streams are numbered below the negotiated count
/// (65535 at most) and W3C webrtc-pc reserves 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(u16);

impl StreamId {
    /// The largest usable stream id.
    pub const MAX: u16 = 65_534;

    /// A stream id, refusing 65535.
    pub fn new(id: u16) -> Result<Self, Error> {
        if id > Self::MAX {
            return Err(Error::StreamIdOutOfRange { id });
        }
        Ok(Self(id))
    }

    /// The id as a number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// Whether this id belongs to the side with `role` when it opens channels in band.
    pub fn has_parity_of(self, role: DtlsRole) -> bool {
        self.0 % 2 == role.parity()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Our DTLS role, which decides the parity of the stream ids we pick (RFC 8832 §6): the
/// DTLS client opens even ids, the DTLS server odd ones. SCTP itself is symmetric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// We are the DTLS client: even stream ids.
    Client,
    /// We are the DTLS server: odd stream ids.
    Server,
}

impl DtlsRole {
    /// `0` for even, `1` for odd.
    pub fn parity(self) -> u16 {
        match self {
            Self::Client => 0,
            Self::Server => 1,
        }
    }

    /// The other side's role.
    #[must_use]
    pub fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dtls_client_owns_even_ids_and_the_server_odd_ones() {
        assert!(StreamId::new(0).unwrap().has_parity_of(DtlsRole::Client));
        assert!(
            StreamId::new(65_534)
                .unwrap()
                .has_parity_of(DtlsRole::Client)
        );
        assert!(StreamId::new(1).unwrap().has_parity_of(DtlsRole::Server));
        assert!(!StreamId::new(1).unwrap().has_parity_of(DtlsRole::Client));
    }

    #[test]
    fn stream_id_65535_is_refused() {
        assert_eq!(
            StreamId::new(65_535),
            Err(Error::StreamIdOutOfRange { id: 65_535 })
        );
    }
}
