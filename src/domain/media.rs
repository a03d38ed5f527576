//! Media checks, pure: the type is decided by the bytes (never the sender's label), only
//! JPEG, PNG, WebP and PDF are allowed, and image metadata (EXIF/XMP, which can carry a
//! child's location) is stripped before anything is stored.

/// Largest file accepted (WhatsApp's own limit for documents is 100 MB; images 5 MB).
pub const MAX_MEDIA_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
    Pdf,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Pdf => "application/pdf",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("file is larger than {} MiB", MAX_MEDIA_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("file type is not allowed (JPEG, PNG, WebP or PDF only)")]
    NotAllowed,
    #[error("image is malformed")]
    Malformed,
}

pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(MediaType::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(MediaType::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(MediaType::Webp)
    } else if bytes.starts_with(b"%PDF-") {
        Some(MediaType::Pdf)
    } else {
        None
    }
}

/// Checks size and type and strips image metadata. Returns the type and clean bytes.
pub fn sanitize(bytes: &[u8]) -> Result<(MediaType, Vec<u8>), MediaError> {
    if bytes.len() > MAX_MEDIA_BYTES {
        return Err(MediaError::TooLarge);
    }
    let t = sniff(bytes).ok_or(MediaError::NotAllowed)?;
    let clean = match t {
        MediaType::Jpeg => strip_jpeg(bytes)?,
        MediaType::Png => strip_png(bytes)?,
        MediaType::Webp => strip_webp(bytes)?,
        MediaType::Pdf => bytes.to_vec(),
    };
    Ok((t, clean))
}

/// Drops APP1 (EXIF, XMP), APP13 (IPTC) and comment segments before the scan data.
fn strip_jpeg(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return Err(MediaError::Malformed);
        }
        let marker = b[i + 1];
        if marker == 0xDA {
            // Start of scan: the rest is image data.
            out.extend_from_slice(&b[i..]);
            return Ok(out);
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        let end = i + 2 + len;
        if len < 2 || end > b.len() {
            return Err(MediaError::Malformed);
        }
        if !matches!(marker, 0xE1 | 0xED | 0xFE) {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    Err(MediaError::Malformed)
}

/// Drops eXIf and text chunks (tEXt, zTXt, iTXt).
fn strip_png(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    let mut out = b[..8].to_vec();
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = i + 12 + len;
        if end > b.len() {
            return Err(MediaError::Malformed);
        }
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            out.extend_from_slice(&b[i..end]);
        }
        if kind == b"IEND" {
            return Ok(out);
        }
        i = end;
    }
    Err(MediaError::Malformed)
}

/// Drops EXIF and XMP chunks, clears their flags in VP8X and fixes the RIFF size.
fn strip_webp(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    let mut out = b[..12].to_vec();
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        let end = i + 8 + len + (len & 1);
        if i + 8 + len > b.len() {
            return Err(MediaError::Malformed);
        }
        let kind = &b[i..i + 4];
        if !matches!(kind, b"EXIF" | b"XMP ") {
            let start = out.len();
            out.extend_from_slice(&b[i..end.min(b.len())]);
            if kind == b"VP8X" && out.len() > start + 8 {
                out[start + 8] &= !(0x08 | 0x04);
            }
        }
        i = end;
    }
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A minimal JPEG with an EXIF segment carrying a GPS-looking string.
    pub fn jpeg_with_exif() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0GPS 33.6844N 73.0479E";
        j.extend_from_slice(&[0xFF, 0xE1]);
        j.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(exif);
        j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02]);
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x11, 0x22, 0xFF, 0xD9]);
        j
    }

    #[test]
    fn jpeg_exif_is_stripped() {
        let (t, clean) = sanitize(&jpeg_with_exif()).unwrap();
        assert_eq!(t, MediaType::Jpeg);
        assert!(!clean.windows(3).any(|w| w == b"GPS"));
        assert!(clean.ends_with(&[0xFF, 0xD9]));
        assert!(clean.windows(2).any(|w| w == [0xFF, 0xDB]));
    }

    #[test]
    fn png_text_chunks_are_stripped() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        p.extend(chunk(b"IHDR", &[0; 13]));
        p.extend(chunk(b"tEXt", b"Location\0Islamabad"));
        p.extend(chunk(b"IDAT", &[1, 2, 3]));
        p.extend(chunk(b"IEND", &[]));
        let (_, clean) = sanitize(&p).unwrap();
        assert!(!clean.windows(9).any(|w| w == b"Islamabad"));
        assert!(clean.windows(4).any(|w| w == b"IDAT"));
    }

    #[test]
    fn types_are_decided_by_content() {
        assert_eq!(sanitize(b"%PDF-1.7 ...").unwrap().0, MediaType::Pdf);
        assert_eq!(
            sanitize(b"MZ\x90\x00 executable"),
            Err(MediaError::NotAllowed)
        );
        assert_eq!(sanitize(b"<html>"), Err(MediaError::NotAllowed));
        assert_eq!(
            sanitize(&[0xFF, 0xD8, 0xFF, 0x00]),
            Err(MediaError::Malformed)
        );
        let big = vec![b'%'; MAX_MEDIA_BYTES + 1];
        assert_eq!(sanitize(&big), Err(MediaError::TooLarge));
    }
}
