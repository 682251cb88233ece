//! Room tokens: JWTs signed with HS256 that admit one identity to one room.
//!
//! ```text
//! header  {"alg":"HS256","typ":"JWT"}
//! claims  {"sub":"alice",            optional: the identity; absent = the client picks
//!          "room":"lobby",           the only room the token admits
//!          "permissions":{"publish":true,"subscribe":true,"admin":false},
//!          "exp":1767225600,         expiry, seconds since the Unix epoch
//!          "max_participants":8}     optional: a room limit below the server's
//! ```
//!
//! Verification takes the current time as an input (`now_unix`), so expiry is checked
//! the same way in tests and in production.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use strata_signal::{ErrorCode, ErrorObject, JoinParams, PeerId, Permissions, RoomName};

use crate::hub::Grant;

/// The claims of a room token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomClaims {
    /// The identity (becomes the peer id); `None` lets the client choose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The room admitted.
    pub room: String,
    /// What the holder may do.
    pub permissions: Permissions,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// A lower participant limit for the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<usize>,
}

/// Why a token was refused (all answered as `unauthorized`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token, and the server is not in dev mode.
    #[error("a room token is required")]
    Missing,
    /// Not a JWT, a bad signature, another algorithm, or claims of the wrong shape.
    #[error("the token is invalid: {0}")]
    Invalid(String),
    /// `exp` has passed.
    #[error("the token expired")]
    Expired,
    /// The token's `sub` is not a valid peer id.
    #[error("the token's identity is not a valid peer id")]
    BadIdentity,
}

impl From<TokenError> for ErrorObject {
    fn from(error: TokenError) -> Self {
        ErrorObject::new(ErrorCode::UNAUTHORIZED, error.to_string())
    }
}

/// Signs and verifies room tokens with one shared secret, and knows whether tokens are
/// required.
#[derive(Clone)]
pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    dev_mode: bool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("dev_mode", &self.dev_mode)
            .finish_non_exhaustive()
    }
}

/// Clock skew tolerated on `exp`, in seconds.
pub const EXPIRY_LEEWAY_SECS: u64 = 5;

impl Authenticator {
    /// Tokens signed with `secret`; in `dev_mode` a join without a token is admitted to
    /// any room with publish and subscribe.
    pub fn new(secret: &[u8], dev_mode: bool) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the `now` we are given, not the library's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            dev_mode,
        }
    }

    /// Whether joins without a token are admitted.
    pub fn dev_mode(&self) -> bool {
        self.dev_mode
    }

    /// Signs `claims`.
    pub fn mint(&self, claims: &RoomClaims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verifies `token` at time `now_unix` (seconds since the epoch).
    pub fn verify(&self, token: &str, now_unix: u64) -> Result<RoomClaims, TokenError> {
        let data = jsonwebtoken::decode::<RoomClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) <= now_unix {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }

    /// What a `join` with these params earns at `now_unix`.
    pub fn admit(&self, params: &JoinParams, now_unix: u64) -> Result<Grant, ErrorObject> {
        let Some(token) = &params.token else {
            if self.dev_mode {
                return Ok(Grant {
                    identity: None,
                    room: None,
                    permissions: Permissions::PARTICIPANT,
                    max_participants: None,
                    may_replace: true,
                });
            }
            return Err(TokenError::Missing.into());
        };
        let claims = self.verify(token, now_unix)?;
        let room = RoomName::new(claims.room)
            .map_err(|e| TokenError::Invalid(format!("room claim: {e}")))?;
        let identity = claims
            .sub
            .map(PeerId::new)
            .transpose()
            .map_err(|_| TokenError::BadIdentity)?;
        Ok(Grant {
            may_replace: identity.is_some(),
            identity,
            room: Some(room),
            permissions: claims.permissions,
            max_participants: claims.max_participants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> RoomClaims {
        RoomClaims {
            sub: Some("alice".into()),
            room: "lobby".into(),
            permissions: Permissions::PARTICIPANT,
            exp,
            max_participants: None,
        }
    }

    #[test]
    fn minted_tokens_verify_until_they_expire() {
        let auth = Authenticator::new(b"secret", false);
        let token = auth.mint(&claims(1000)).unwrap();
        assert_eq!(auth.verify(&token, 999).unwrap(), claims(1000));
        assert_eq!(
            auth.verify(&token, 1000 + EXPIRY_LEEWAY_SECS),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let token = Authenticator::new(b"other", false)
            .mint(&claims(1000))
            .unwrap();
        let error = Authenticator::new(b"secret", false)
            .verify(&token, 0)
            .unwrap_err();
        assert!(matches!(error, TokenError::Invalid(_)), "{error:?}");
    }

    #[test]
    fn dev_mode_admits_joins_without_a_token_and_normal_mode_does_not() {
        let params = JoinParams {
            room: RoomName::new("r").unwrap(),
            token: None,
            peer_id: None,
            metadata: None,
        };
        assert!(Authenticator::new(b"s", true).admit(&params, 0).is_ok());
        let refused = Authenticator::new(b"s", false)
            .admit(&params, 0)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::UNAUTHORIZED);
    }
}
