//! DTLS 1.2 wire formats (RFC 6347, RFC 5246): records, handshake fragments and the
//! handshake messages a WebRTC handshake exchanges. Parsing never trusts a length it
//! has not checked against what follows it.

use super::ProtocolError;

pub(crate) const RECORD_HEADER_LEN: usize = 13;
pub(crate) const HANDSHAKE_HEADER_LEN: usize = 12;

pub(crate) const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
pub(crate) const CONTENT_ALERT: u8 = 21;
pub(crate) const CONTENT_HANDSHAKE: u8 = 22;
pub(crate) const CONTENT_APPLICATION_DATA: u8 = 23;

/// DTLS 1.2 on the wire.
pub(crate) const DTLS_1_2: u16 = 0xfefd;

pub(crate) const HELLO_REQUEST: u8 = 0;
pub(crate) const CLIENT_HELLO: u8 = 1;
pub(crate) const SERVER_HELLO: u8 = 2;
pub(crate) const HELLO_VERIFY_REQUEST: u8 = 3;
pub(crate) const CERTIFICATE: u8 = 11;
pub(crate) const SERVER_KEY_EXCHANGE: u8 = 12;
pub(crate) const CERTIFICATE_REQUEST: u8 = 13;
pub(crate) const SERVER_HELLO_DONE: u8 = 14;
pub(crate) const CERTIFICATE_VERIFY: u8 = 15;
pub(crate) const CLIENT_KEY_EXCHANGE: u8 = 16;
pub(crate) const FINISHED: u8 = 20;

/// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` (RFC 5289).
pub(crate) const ECDHE_ECDSA_AES_128_GCM_SHA256: u16 = 0xc02b;
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` (RFC 5289): offered for peers with RSA keys.
pub(crate) const ECDHE_RSA_AES_128_GCM_SHA256: u16 = 0xc02f;

pub(crate) const EXT_SUPPORTED_GROUPS: u16 = 10;
pub(crate) const EXT_EC_POINT_FORMATS: u16 = 11;
pub(crate) const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub(crate) const EXT_USE_SRTP: u16 = 14;
pub(crate) const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub(crate) const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// `named_curve` in `ECParameters` (RFC 8422 §5.4).
pub(crate) const CURVE_TYPE_NAMED: u8 = 3;
/// The uncompressed point format, the only one RFC 8422 keeps.
pub(crate) const POINT_FORMAT_UNCOMPRESSED: u8 = 0;

/// `ClientCertificateType` values we ask for (RFC 5246 §7.4.4, RFC 8422 §5.5).
pub(crate) const CERT_TYPE_RSA_SIGN: u8 = 1;
pub(crate) const CERT_TYPE_ECDSA_SIGN: u8 = 64;

/// A bounds-checked reader over a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], ProtocolError> {
        if self.rest.len() < len {
            return Err(ProtocolError::Decode);
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ProtocolError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self) -> Result<usize, ProtocolError> {
        let b = self.bytes(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    pub(crate) fn u48(&mut self) -> Result<u64, ProtocolError> {
        let b = self.bytes(6)?;
        Ok(b.iter().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte)))
    }

    /// A vector with a one-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], ProtocolError> {
        let len = usize::from(self.u8()?);
        self.bytes(len)
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], ProtocolError> {
        let len = usize::from(self.u16()?);
        self.bytes(len)
    }

    /// A vector with a three-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Result<&'a [u8], ProtocolError> {
        let len = self.u24()?;
        self.bytes(len)
    }

    /// A list of two-byte values with a two-byte length prefix in bytes.
    pub(crate) fn list16(&mut self) -> Result<Vec<u16>, ProtocolError> {
        let bytes = self.vec16()?;
        if bytes.len() % 2 != 0 {
            return Err(ProtocolError::Decode);
        }
        Ok(bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect())
    }

    /// Fails unless everything was read.
    pub(crate) fn finish(self) -> Result<(), ProtocolError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::Decode)
        }
    }
}

/// Appends big-endian integers and length-prefixed vectors.
pub(crate) trait Put {
    fn put_u16(&mut self, value: u16);
    fn put_u24(&mut self, value: usize);
    fn put_u48(&mut self, value: u64);
    fn put_vec8(&mut self, bytes: &[u8]);
    fn put_vec16(&mut self, bytes: &[u8]);
    fn put_vec24(&mut self, bytes: &[u8]);
    fn put_list16(&mut self, values: &[u16]);
}

impl Put for Vec<u8> {
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_be_bytes());
    }

    fn put_u24(&mut self, value: usize) {
        self.extend_from_slice(&(value as u32).to_be_bytes()[1..]);
    }

    fn put_u48(&mut self, value: u64) {
        self.extend_from_slice(&value.to_be_bytes()[2..]);
    }

    fn put_vec8(&mut self, bytes: &[u8]) {
        self.push(bytes.len() as u8);
        self.extend_from_slice(bytes);
    }

    fn put_vec16(&mut self, bytes: &[u8]) {
        self.put_u16(bytes.len() as u16);
        self.extend_from_slice(bytes);
    }

    fn put_vec24(&mut self, bytes: &[u8]) {
        self.put_u24(bytes.len());
        self.extend_from_slice(bytes);
    }

    fn put_list16(&mut self, values: &[u16]) {
        self.put_u16((values.len() * 2) as u16);
        for value in values {
            self.put_u16(*value);
        }
    }
}

/// One record of a datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub(crate) content_type: u8,
    pub(crate) epoch: u16,
    pub(crate) sequence: u64,
    /// The record's fragment (ciphertext under epochs above 0).
    pub(crate) body: &'a [u8],
}

/// Splits the first record off `datagram`; returns it and what follows it.
pub(crate) fn split_record(datagram: &[u8]) -> Result<(Record<'_>, &[u8]), ProtocolError> {
    let mut reader = Reader::new(datagram);
    let content_type = reader.u8()?;
    // The version was checked by the record validator; records of either DTLS
    // version are read alike.
    reader.u16()?;
    let epoch = reader.u16()?;
    let sequence = reader.u48()?;
    let body = reader.vec16()?;
    let record = Record {
        content_type,
        epoch,
        sequence,
        body,
    };
    Ok((record, reader.rest()))
}

/// Appends a record header and `body`.
pub(crate) fn put_record(
    out: &mut Vec<u8>,
    content_type: u8,
    epoch: u16,
    sequence: u64,
    body: &[u8],
) {
    out.push(content_type);
    out.put_u16(DTLS_1_2);
    out.put_u16(epoch);
    out.put_u48(sequence);
    out.put_vec16(body);
}

/// One handshake fragment (RFC 6347 §4.2.2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment<'a> {
    pub(crate) msg_type: u8,
    pub(crate) length: usize,
    pub(crate) message_seq: u16,
    pub(crate) offset: usize,
    pub(crate) body: &'a [u8],
}

/// Splits the first handshake fragment off a handshake record's body.
pub(crate) fn split_fragment(body: &[u8]) -> Result<(Fragment<'_>, &[u8]), ProtocolError> {
    let mut reader = Reader::new(body);
    let msg_type = reader.u8()?;
    let length = reader.u24()?;
    let message_seq = reader.u16()?;
    let offset = reader.u24()?;
    let fragment_len = reader.u24()?;
    let body = reader.bytes(fragment_len)?;
    if offset + fragment_len > length {
        return Err(ProtocolError::Decode);
    }
    let fragment = Fragment {
        msg_type,
        length,
        message_seq,
        offset,
        body,
    };
    Ok((fragment, reader.rest()))
}

/// A whole handshake message with its DTLS header as one fragment: the form the
/// handshake transcript hashes (RFC 6347 §4.2.6).
pub(crate) fn handshake_message(msg_type: u8, message_seq: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
    out.push(msg_type);
    out.put_u24(body.len());
    out.put_u16(message_seq);
    out.put_u24(0);
    out.put_u24(body.len());
    out.extend_from_slice(body);
    out
}

/// The extensions of a hello that the handshake acts on; others are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extensions {
    pub(crate) supported_groups: Option<Vec<u16>>,
    pub(crate) signature_algorithms: Option<Vec<u16>>,
    /// Offered or selected SRTP protection profiles.
    pub(crate) use_srtp: Option<Vec<u16>>,
    pub(crate) extended_master_secret: bool,
    pub(crate) renegotiation_info: Option<Vec<u8>>,
    pub(crate) ec_point_formats: Option<Vec<u8>>,
}

impl Extensions {
    fn parse(mut reader: Reader<'_>) -> Result<Self, ProtocolError> {
        let mut out = Self::default();
        // A hello may end without the extensions block at all.
        if reader.is_empty() {
            return Ok(out);
        }
        let mut block = Reader::new(reader.vec16()?);
        reader.finish()?;
        let mut seen = Vec::new();
        while !block.is_empty() {
            let kind = block.u16()?;
            let mut data = Reader::new(block.vec16()?);
            if seen.contains(&kind) {
                return Err(ProtocolError::Illegal("an extension appears twice"));
            }
            seen.push(kind);
            match kind {
                EXT_SUPPORTED_GROUPS => out.supported_groups = Some(data.list16()?),
                EXT_SIGNATURE_ALGORITHMS => out.signature_algorithms = Some(data.list16()?),
                EXT_USE_SRTP => {
                    out.use_srtp = Some(data.list16()?);
                    // The MKI, unused by WebRTC.
                    data.vec8()?;
                }
                EXT_EXTENDED_MASTER_SECRET => out.extended_master_secret = true,
                EXT_RENEGOTIATION_INFO => out.renegotiation_info = Some(data.vec8()?.to_vec()),
                EXT_EC_POINT_FORMATS => out.ec_point_formats = Some(data.vec8()?.to_vec()),
                _ => continue,
            }
            data.finish()?;
        }
        Ok(out)
    }

    fn put(&self, out: &mut Vec<u8>) {
        let mut block = Vec::new();
        if let Some(groups) = &self.supported_groups {
            let mut data = Vec::new();
            data.put_list16(groups);
            block.put_u16(EXT_SUPPORTED_GROUPS);
            block.put_vec16(&data);
        }
        if let Some(formats) = &self.ec_point_formats {
            let mut data = Vec::new();
            data.put_vec8(formats);
            block.put_u16(EXT_EC_POINT_FORMATS);
            block.put_vec16(&data);
        }
        if let Some(schemes) = &self.signature_algorithms {
            let mut data = Vec::new();
            data.put_list16(schemes);
            block.put_u16(EXT_SIGNATURE_ALGORITHMS);
            block.put_vec16(&data);
        }
        if let Some(profiles) = &self.use_srtp {
            let mut data = Vec::new();
            data.put_list16(profiles);
            data.put_vec8(&[]);
            block.put_u16(EXT_USE_SRTP);
            block.put_vec16(&data);
        }
        if self.extended_master_secret {
            block.put_u16(EXT_EXTENDED_MASTER_SECRET);
            block.put_vec16(&[]);
        }
        if let Some(info) = &self.renegotiation_info {
            let mut data = Vec::new();
            data.put_vec8(info);
            block.put_u16(EXT_RENEGOTIATION_INFO);
            block.put_vec16(&data);
        }
        out.put_vec16(&block);
    }
}

/// `ClientHello` (RFC 6347 §4.2.1: with a cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientHello {
    pub(crate) version: u16,
    pub(crate) random: [u8; 32],
    pub(crate) session_id: Vec<u8>,
    pub(crate) cookie: Vec<u8>,
    pub(crate) cipher_suites: Vec<u16>,
    pub(crate) compression_methods: Vec<u8>,
    pub(crate) extensions: Extensions,
}

impl ClientHello {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let mut reader = Reader::new(body);
        let version = reader.u16()?;
        let random = random(&mut reader)?;
        let session_id = reader.vec8()?.to_vec();
        let cookie = reader.vec8()?.to_vec();
        let cipher_suites = reader.list16()?;
        let compression_methods = reader.vec8()?.to_vec();
        if session_id.len() > 32 || cookie.len() > 255 {
            return Err(ProtocolError::Decode);
        }
        Ok(Self {
            version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions: Extensions::parse(reader)?,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.put_u16(self.version);
        out.extend_from_slice(&self.random);
        out.put_vec8(&self.session_id);
        out.put_vec8(&self.cookie);
        out.put_list16(&self.cipher_suites);
        out.put_vec8(&self.compression_methods);
        self.extensions.put(&mut out);
        out
    }
}

/// `HelloVerifyRequest`: the server's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HelloVerifyRequest {
    pub(crate) cookie: Vec<u8>,
}

impl HelloVerifyRequest {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let mut reader = Reader::new(body);
        reader.u16()?;
        let cookie = reader.vec8()?.to_vec();
        reader.finish()?;
        Ok(Self { cookie })
    }

    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u16(DTLS_1_2);
        out.put_vec8(&self.cookie);
        out
    }
}

/// `ServerHello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub(crate) version: u16,
    pub(crate) random: [u8; 32],
    pub(crate) session_id: Vec<u8>,
    pub(crate) cipher_suite: u16,
    pub(crate) compression_method: u8,
    pub(crate) extensions: Extensions,
}

impl ServerHello {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let mut reader = Reader::new(body);
        let version = reader.u16()?;
        let random = random(&mut reader)?;
        let session_id = reader.vec8()?.to_vec();
        let cipher_suite = reader.u16()?;
        let compression_method = reader.u8()?;
        Ok(Self {
            version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions: Extensions::parse(reader)?,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.put_u16(self.version);
        out.extend_from_slice(&self.random);
        out.put_vec8(&self.session_id);
        out.put_u16(self.cipher_suite);
        out.push(self.compression_method);
        self.extensions.put(&mut out);
        out
    }
}

fn random(reader: &mut Reader<'_>) -> Result<[u8; 32], ProtocolError> {
    let mut random = [0u8; 32];
    random.copy_from_slice(reader.bytes(32)?);
    Ok(random)
}

/// `Certificate`: the chain, leaf first (DER).
pub(crate) fn parse_certificate(body: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let mut outer = Reader::new(body);
    let mut list = Reader::new(outer.vec24()?);
    outer.finish()?;
    let mut chain = Vec::new();
    while !list.is_empty() {
        let der = list.vec24()?;
        if der.is_empty() {
            return Err(ProtocolError::Decode);
        }
        chain.push(der.to_vec());
    }
    Ok(chain)
}

pub(crate) fn encode_certificate(chain: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for der in chain {
        list.put_vec24(der);
    }
    let mut out = Vec::with_capacity(list.len() + 3);
    out.put_vec24(&list);
    out
}

/// `ServerKeyExchange` for ECDHE with a named group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerKeyExchange {
    pub(crate) group: u16,
    pub(crate) public: Vec<u8>,
    pub(crate) scheme: u16,
    pub(crate) signature: Vec<u8>,
}

impl ServerKeyExchange {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let mut reader = Reader::new(body);
        if reader.u8()? != CURVE_TYPE_NAMED {
            return Err(ProtocolError::Illegal("only named groups are supported"));
        }
        let group = reader.u16()?;
        let public = reader.vec8()?.to_vec();
        let scheme = reader.u16()?;
        let signature = reader.vec16()?.to_vec();
        reader.finish()?;
        Ok(Self {
            group,
            public,
            scheme,
            signature,
        })
    }

    /// The `ServerECDHParams` the signature covers (after the two randoms).
    pub(crate) fn params(group: u16, public: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + public.len());
        out.push(CURVE_TYPE_NAMED);
        out.put_u16(group);
        out.put_vec8(public);
        out
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Self::params(self.group, &self.public);
        out.put_u16(self.scheme);
        out.put_vec16(&self.signature);
        out
    }
}

/// `CertificateRequest` (TLS 1.2 form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateRequest {
    pub(crate) certificate_types: Vec<u8>,
    pub(crate) schemes: Vec<u16>,
}

impl CertificateRequest {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let mut reader = Reader::new(body);
        let certificate_types = reader.vec8()?.to_vec();
        let schemes = reader.list16()?;
        // Distinguished names of acceptable authorities: WebRTC certificates are
        // self-signed, so any list is as good as none.
        reader.vec16()?;
        reader.finish()?;
        Ok(Self {
            certificate_types,
            schemes,
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_vec8(&self.certificate_types);
        out.put_list16(&self.schemes);
        out.put_vec16(&[]);
        out
    }
}

/// `ClientKeyExchange` for ECDHE: the client's public point.
pub(crate) fn parse_client_key_exchange(body: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let mut reader = Reader::new(body);
    let public = reader.vec8()?.to_vec();
    reader.finish()?;
    if public.is_empty() {
        return Err(ProtocolError::Decode);
    }
    Ok(public)
}

/// `CertificateVerify` and the signature in `ServerKeyExchange`: scheme and signature.
pub(crate) fn parse_signed(body: &[u8]) -> Result<(u16, Vec<u8>), ProtocolError> {
    let mut reader = Reader::new(body);
    let scheme = reader.u16()?;
    let signature = reader.vec16()?.to_vec();
    reader.finish()?;
    Ok((scheme, signature))
}

pub(crate) fn encode_signed(scheme: u16, signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + signature.len());
    out.put_u16(scheme);
    out.put_vec16(signature);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_hello() -> ClientHello {
        ClientHello {
            version: DTLS_1_2,
            random: [7; 32],
            session_id: vec![],
            cookie: vec![1, 2, 3],
            cipher_suites: vec![ECDHE_ECDSA_AES_128_GCM_SHA256],
            compression_methods: vec![0],
            extensions: Extensions {
                supported_groups: Some(vec![29, 23]),
                signature_algorithms: Some(vec![0x0403]),
                use_srtp: Some(vec![7, 1]),
                extended_master_secret: true,
                renegotiation_info: Some(vec![]),
                ec_point_formats: Some(vec![0]),
            },
        }
    }

    #[test]
    fn hellos_round_trip() {
        let hello = sample_hello();
        assert_eq!(ClientHello::parse(&hello.encode()).unwrap(), hello);
        let server = ServerHello {
            version: DTLS_1_2,
            random: [9; 32],
            session_id: vec![4; 32],
            cipher_suite: ECDHE_ECDSA_AES_128_GCM_SHA256,
            compression_method: 0,
            extensions: Extensions {
                use_srtp: Some(vec![7]),
                extended_master_secret: true,
                ..Extensions::default()
            },
        };
        assert_eq!(ServerHello::parse(&server.encode()).unwrap(), server);
    }

    #[test]
    fn a_hello_without_extensions_parses_and_a_duplicate_extension_does_not() {
        let mut hello = sample_hello();
        hello.extensions = Extensions::default();
        let mut bytes = hello.encode();
        bytes.truncate(bytes.len() - 2);
        assert_eq!(ClientHello::parse(&bytes).unwrap(), hello);

        let mut block = Vec::new();
        for _ in 0..2 {
            block.put_u16(EXT_EXTENDED_MASTER_SECRET);
            block.put_vec16(&[]);
        }
        bytes.put_vec16(&block);
        assert!(ClientHello::parse(&bytes).is_err());
    }

    #[test]
    fn every_truncation_of_every_message_is_an_error_not_a_panic() {
        type Parses = fn(&[u8]) -> bool;
        let messages: Vec<(Parses, Vec<u8>)> = vec![
            (|b| ClientHello::parse(b).is_ok(), sample_hello().encode()),
            (
                |b| HelloVerifyRequest::parse(b).is_ok(),
                HelloVerifyRequest {
                    cookie: vec![5; 20],
                }
                .encode(),
            ),
            (
                |b| ServerKeyExchange::parse(b).is_ok(),
                ServerKeyExchange {
                    group: 29,
                    public: vec![1; 32],
                    scheme: 0x0403,
                    signature: vec![2; 70],
                }
                .encode(),
            ),
            (
                |b| CertificateRequest::parse(b).is_ok(),
                CertificateRequest {
                    certificate_types: vec![64],
                    schemes: vec![0x0403],
                }
                .encode(),
            ),
            (
                |b| parse_certificate(b).is_ok(),
                encode_certificate(&[&[1, 2, 3], &[4]]),
            ),
        ];
        for (parses, bytes) in messages {
            assert!(parses(&bytes));
            for len in 0..bytes.len() {
                // A hello cut right before its extensions is still a valid hello.
                let _ = parses(&bytes[..len]);
            }
        }
        assert!(parse_client_key_exchange(&[0]).is_err());
        assert!(parse_signed(&[4, 3, 0, 5, 1]).is_err());
    }

    #[test]
    fn fragments_may_not_reach_past_their_message() {
        let mut body = vec![CERTIFICATE];
        body.put_u24(10);
        body.put_u16(2);
        body.put_u24(8);
        body.put_u24(4);
        body.extend_from_slice(&[0; 4]);
        assert!(split_fragment(&body).is_err());
        let message = handshake_message(FINISHED, 5, &[1; 12]);
        let (fragment, rest) = split_fragment(&message).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            (
                fragment.msg_type,
                fragment.length,
                fragment.message_seq,
                fragment.offset
            ),
            (FINISHED, 12, 5, 0)
        );
    }

    #[test]
    fn records_split_and_join() {
        let mut datagram = Vec::new();
        put_record(&mut datagram, CONTENT_HANDSHAKE, 0, 3, &[1, 2]);
        put_record(
            &mut datagram,
            CONTENT_APPLICATION_DATA,
            1,
            (1 << 48) - 1,
            &[3],
        );
        let (first, rest) = split_record(&datagram).unwrap();
        assert_eq!(
            (first.content_type, first.epoch, first.sequence),
            (22, 0, 3)
        );
        assert_eq!(first.body, &[1, 2]);
        let (second, rest) = split_record(rest).unwrap();
        assert_eq!(
            (second.epoch, second.sequence, second.body),
            (1, (1 << 48) - 1, &[3][..])
        );
        assert!(rest.is_empty());
        assert!(split_record(&datagram[..14]).is_err());
    }
}
