//! Wrappers for personal data and secrets: their `Debug` and `Display` never show
//! the value, so a stray `{:?}` in a log line cannot leak a phone number or a key.

use std::fmt;
use zeroize::Zeroize;

/// Personal data (a phone number, a CNIC, health notes). Read it with [`Pii::expose`].
/// It serialises as its value: only for payloads that are encrypted before storage.
#[derive(Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The plaintext. Call sites that do this are the ones to review.
    pub fn expose(&self) -> &T {
        &self.0
    }
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pii(<redacted>)")
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

/// A secret (key material, token, password). Zeroised on drop.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

/// Implements `Debug` showing only the named fields (ids, kinds, counts): for types that
/// also carry names, phone numbers or message text, which must never reach a log line.
#[macro_export]
macro_rules! debug_only {
    ($ty:ty, $name:literal $(, $field:ident)*) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct($name)
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let p = Pii::new("+923001234567".to_string());
        let s = Secret::new("hunter2".to_string());
        let shown = format!("{p:?} {s:?}");
        assert!(!shown.contains("923001234567"));
        assert!(!shown.contains("hunter2"));
        assert_eq!(p.expose(), "+923001234567");
    }
}
