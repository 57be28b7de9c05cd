//! Authentication: passwords (HTTP Basic and the login form), personal access tokens and
//! cookie sessions, with failed attempts throttled per username and per address.
//!
//! Every failure looks the same to the caller ([`AuthError::Invalid`]) whether the user
//! is unknown, disabled or the password wrong, except a throttled one
//! ([`AuthError::Locked`]), which is refused before any password check. Secrets never
//! appear in errors or logs.

use std::collections::HashMap;
use std::sync::Arc;

use tally_domain::uid::Uid;

use crate::App;
use crate::app::{API_TOKENS, lock_err};
use crate::error::{CoreError, Result};
use crate::users::User;
use crate::users::tokens::{self, TokenRecord};

/// Why credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// Unknown user, wrong password, disabled user, unknown or expired token.
    Invalid,
    /// Too many failed attempts for this username or from this address.
    Locked,
}

impl App {
    /// Checks a username and password (HTTP Basic, `POST /api/auth/login`). Slow on a
    /// miss (bcrypt): call it off the async executor.
    ///
    /// # Errors
    /// [`AuthError`].
    pub fn authenticate_password(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<User, AuthError> {
        let now = self.clock.now().as_millisecond();
        if self.throttle.is_locked(username, address, now) {
            return Err(AuthError::Locked);
        }
        match self.users().authenticate(username, password) {
            Some(user) => {
                self.throttle.success(username);
                Ok(user)
            }
            None => {
                self.throttle.failure(username, address, now);
                Err(AuthError::Invalid)
            }
        }
    }

    /// Checks a personal access token (`Authorization: ApiToken …`).
    ///
    /// # Errors
    /// [`AuthError::Invalid`] for malformed, unknown, expired or revoked tokens and
    /// tokens of disabled users.
    pub fn authenticate_token(&self, key: &str) -> Result<User, AuthError> {
        if !tokens::is_well_formed(key) {
            return Err(AuthError::Invalid);
        }
        let now = self.clock.now().as_millisecond();
        let owner = {
            let all = self.tokens.read().map_err(|_| AuthError::Invalid)?;
            all.get(&tokens::digest(key))
                .filter(|t| t.is_live(now))
                .map(|t| t.owner)
        };
        owner
            .and_then(|o| self.users().active_by_id(o))
            .ok_or(AuthError::Invalid)
    }

    /// Logs in with a password and starts a session; returns the user and the session id.
    ///
    /// # Errors
    /// [`AuthError`].
    pub fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<(User, String), AuthError> {
        let user = self.authenticate_password(username, password, address)?;
        let id = self
            .sessions
            .create(user.uid, self.clock.now().as_millisecond());
        Ok((user, id))
    }

    /// The user of a live session.
    #[must_use]
    pub fn session_user(&self, session: &str) -> Option<User> {
        let uid = self
            .sessions
            .user(session, self.clock.now().as_millisecond())?;
        self.users().active_by_id(uid)
    }

    /// Ends a session.
    pub fn logout(&self, session: &str) {
        self.sessions.remove(session);
    }

    /// Issues a personal access token for `owner`; returns it and its key (shown once).
    ///
    /// # Errors
    /// An expiry in the past (400), storage failures.
    pub fn create_token(
        &self,
        owner: &User,
        expire_ms: Option<i64>,
    ) -> Result<(TokenRecord, String)> {
        let now = self.clock.now().as_millisecond();
        if expire_ms.is_some_and(|e| e <= now) {
            return Err(CoreError::BadRequest(
                "Expire time must be in the future".into(),
            ));
        }
        let key = tokens::generate_key();
        let record = TokenRecord {
            id: Uid::generate(rand::random::<u64>),
            owner: owner.uid,
            key_hash: tokens::digest(&key),
            created_ms: now,
            expire_ms,
        };
        self.save_token(&record)?;
        Ok((record, key))
    }

    /// The tokens of a user, oldest first.
    #[must_use]
    pub fn tokens_of(&self, owner: &User) -> Vec<TokenRecord> {
        let all = self.tokens_snapshot();
        let mut mine: Vec<_> = all
            .values()
            .filter(|t| t.owner == owner.uid)
            .cloned()
            .collect();
        mine.sort_by_key(|t| (t.created_ms, t.id));
        mine
    }

    /// Revokes a token of `owner` (it expires now). `false` when there is no such token.
    ///
    /// # Errors
    /// Storage failures.
    pub fn revoke_token(&self, owner: &User, id: Uid) -> Result<bool> {
        let Some(mut record) = self
            .tokens_snapshot()
            .values()
            .find(|t| t.id == id && t.owner == owner.uid)
            .cloned()
        else {
            return Ok(false);
        };
        record.expire_ms = Some(self.clock.now().as_millisecond());
        self.save_token(&record)?;
        Ok(true)
    }

    fn tokens_snapshot(&self) -> Arc<HashMap<String, TokenRecord>> {
        self.tokens
            .read()
            .map(|t| Arc::clone(&t))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    fn save_token(&self, record: &TokenRecord) -> Result<()> {
        let body = serde_json::to_string(record).map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut guard = self.tokens.write().map_err(lock_err)?;
        self.store
            .save_metadata(&[(API_TOKENS.to_owned(), record.id, body)])?;
        let mut next = HashMap::clone(&guard);
        next.insert(record.key_hash.clone(), record.clone());
        *guard = Arc::new(next);
        Ok(())
    }
}
