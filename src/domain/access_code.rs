//! Access codes: 8 characters of Crockford base32 (no I, L, O, U), made by a CSPRNG.
//! Only a hash is ever stored; the plaintext is shown once to the person issuing it.

use super::phone::normalise_digits;
use super::Secret;

pub const CODE_LEN: usize = 8;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A plaintext access code (zeroised on drop, redacted in Debug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCode(Secret<String>);

impl AccessCode {
    /// A fresh code from the OS-seeded CSPRNG (40 bits of entropy, less the codes
    /// without both a digit and a letter, which are drawn again: a stranger's message
    /// is taken for a code only with both, see [`AccessCode::typed`]).
    pub fn generate() -> Self {
        loop {
            let bytes: [u8; CODE_LEN] = rand::random();
            let code: String = bytes
                .iter()
                .map(|b| ALPHABET[(b & 0x1f) as usize] as char)
                .collect();
            if code.chars().any(|c| c.is_ascii_digit())
                && code.chars().any(|c| c.is_ascii_alphabetic())
            {
                return Self(Secret::new(code));
            }
        }
    }

    /// A message that is a login attempt wherever it is typed (a stranger asking the
    /// enquiry bot, say): a code as [`AccessCode::parse`] reads it, written with at
    /// least one digit and one letter ("homework" or "12345678" are not).
    pub fn typed(input: &str) -> Option<Self> {
        let t = normalise_digits(input);
        let digit = t.chars().any(|c| c.is_ascii_digit());
        let letter = t.chars().any(|c| c.is_ascii_alphabetic());
        if digit && letter {
            Self::parse(input)
        } else {
            None
        }
    }

    /// Reads what a person typed: case, spaces and dashes do not matter, and the
    /// look-alikes I/L→1 and O→0 are folded as Crockford base32 says.
    pub fn parse(input: &str) -> Option<Self> {
        let mut out = String::with_capacity(CODE_LEN);
        for c in normalise_digits(input).chars() {
            let c = c.to_ascii_uppercase();
            let c = match c {
                ' ' | '-' => continue,
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
                return None;
            }
            out.push(c);
        }
        (out.len() == CODE_LEN).then(|| Self(Secret::new(out)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// `ABCD-EFGH`, easier to read aloud and type.
    pub fn display(&self) -> String {
        let s = self.expose();
        format!("{}-{}", &s[..4], &s[4..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_code_has_a_digit_and_a_letter() {
        assert!(AccessCode::typed("7KQ2-M9XA").is_some());
        assert!(AccessCode::typed("7kq2 m9xa").is_some());
        assert!(AccessCode::typed("homework").is_none());
        assert!(AccessCode::typed("12345678").is_none());
        assert!(AccessCode::typed("admission open?").is_none());
        for _ in 0..2000 {
            let c = AccessCode::generate();
            assert!(AccessCode::typed(c.expose()).is_some(), "{}", c.expose());
        }
    }

    #[test]
    fn generated_codes_are_well_formed_and_distinct() {
        let codes: std::collections::HashSet<String> = (0..1000)
            .map(|_| AccessCode::generate().expose().to_string())
            .collect();
        assert_eq!(codes.len(), 1000);
        for c in &codes {
            assert_eq!(c.len(), CODE_LEN);
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn parse_folds_typing_variations() {
        let c = AccessCode::parse("ab1o-xyz9").unwrap();
        assert_eq!(c.expose(), "AB10XYZ9");
        assert_eq!(AccessCode::parse(" Ab10 xyZ9 ").unwrap(), c);
        assert_eq!(AccessCode::parse("abi0xyz9").unwrap(), c);
        assert_eq!(c.display(), "AB10-XYZ9");
        assert!(AccessCode::parse("AB10XYZ").is_none());
        assert!(AccessCode::parse("AB10XYZ9Q").is_none());
        assert!(AccessCode::parse("AB10XYZU").is_none());
        assert!(AccessCode::parse("AB10XYZ٩").is_some());
        assert!(!format!("{c:?}").contains("AB10"));
    }
}
