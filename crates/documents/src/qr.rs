//! The pay-online link as a QR code (the `qrcode` crate, no features:
//! it has no dependencies), at error-correction level M, which survives a
//! smudge on a printed bill.

use qrcode::{Color, EcLevel, QrCode};

/// A QR code's modules: `width` × `width`, row-major, `true` = dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modules {
    /// Modules per side.
    pub width: usize,
    /// Row-major, dark = `true`.
    pub dark: Vec<bool>,
}

impl Modules {
    /// Whether the module at (`x`, `y`) is dark (outside = light).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }
}

/// Encodes `text`; `None` when it is too long for any QR version.
pub fn encode(text: &str) -> Option<Modules> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(Modules {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
    })
}

#[cfg(test)]
pub(crate) mod decode {
    //! Reading a code back with an independent decoder (rqrr).

    use super::Modules;

    /// Decodes a grey image (`true` = dark pixel) of `w` × `h`.
    pub fn image(w: usize, h: usize, dark: impl Fn(usize, usize) -> bool) -> Option<String> {
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(
                w,
                h,
                |x, y| {
                    if dark(x, y) { 0 } else { 255 }
                },
            );
        let grids = img.detect_grids();
        let (_, text) = grids.first()?.decode().ok()?;
        Some(text)
    }

    /// Decodes modules drawn 4 pixels each with a 4-module quiet zone.
    pub fn modules(m: &Modules) -> Option<String> {
        let side = (m.width + 8) * 4;
        image(side, side, |x, y| {
            let (mx, my) = ((x / 4).wrapping_sub(4), (y / 4).wrapping_sub(4));
            m.is_dark(mx, my)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_link_round_trips_through_a_decoder() {
        let url = "https://pay.example.org/cedar-creek/pay?account=100-0042";
        let m = encode(url).unwrap_or_else(|| panic!("encode"));
        assert_eq!(m.dark.len(), m.width * m.width);
        // Version 4 at level M holds 62 bytes: 33 modules a side.
        assert_eq!(m.width, 33);
        assert_eq!(decode::modules(&m).as_deref(), Some(url));
    }

    #[test]
    fn finder_patterns_are_where_the_standard_puts_them() {
        let m = encode("A").unwrap_or_else(|| panic!("encode"));
        assert_eq!(m.width, 21, "version 1");
        // The 7×7 finder's outer ring is dark, the ring inside it light.
        for i in 0..7 {
            assert!(m.is_dark(i, 0) && m.is_dark(0, i) && m.is_dark(m.width - 1 - i, 0));
        }
        assert!(!m.is_dark(1, 1) && m.is_dark(2, 2) && m.is_dark(4, 4));
        assert!(!m.is_dark(7, 0), "separator");
    }

    #[test]
    fn too_long_is_refused() {
        assert!(encode(&"x".repeat(5000)).is_none());
    }
}
