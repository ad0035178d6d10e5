//! Logo images, read by hand: PNG (signature, chunks with their CRCs,
//! IHDR/PLTE/tRNS/IDAT/IEND, the zlib stream inflated and the five row
//! filters undone) and JPEG (the markers up to the frame header, for the
//! size and colour components; the compressed data goes into a PDF as it
//! is). Both are checked completely when a logo is uploaded, so a file
//! that was accepted also prints.
//!
//! Supported: PNG greyscale (1, 2, 4, 8 bits), RGB, palette (1, 2, 4,
//! 8 bits), greyscale + alpha and RGBA (8 bits), not interlaced, with or
//! without `tRNS` transparency; JPEG baseline, extended sequential and
//! progressive, 8-bit, with 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK)
//! components.

use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

/// The two kinds of image we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG (JFIF/Exif).
    Jpeg,
}

impl Format {
    /// The media type, `image/png` or `image/jpeg`.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
        }
    }

    /// From a media type (parameters and case ignored; `image/jpg` and
    /// `image/pjpeg` are JPEG).
    pub fn from_mime(content_type: &str) -> Option<Format> {
        let base = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match base.as_str() {
            "image/png" => Some(Format::Png),
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Format::Jpeg),
            _ => None,
        }
    }

    /// What the first bytes say the file is.
    pub fn sniff(data: &[u8]) -> Option<Format> {
        if data.starts_with(PNG_SIGNATURE) {
            Some(Format::Png)
        } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Format::Jpeg)
        } else {
            None
        }
    }
}

/// What a checked image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// PNG or JPEG.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Images larger than this many pixels are not decoded at all (a logo
/// is far smaller; this bounds the memory a hostile file can ask for).
pub const MAX_PIXELS: u64 = 4096 * 4096;

/// Checks `data` completely as a PNG or JPEG (whichever its first bytes
/// say): every PNG chunk, CRC and row, every JPEG marker up to the scan
/// and the end marker. The error is a sentence for the uploader.
pub fn check(data: &[u8]) -> Result<Info, String> {
    match Format::sniff(data) {
        Some(Format::Png) => {
            let png = decode_png(data)?;
            Ok(Info {
                format: Format::Png,
                width: png.width,
                height: png.height,
            })
        }
        Some(Format::Jpeg) => {
            let j = check_jpeg(data)?;
            Ok(Info {
                format: Format::Jpeg,
                width: j.width,
                height: j.height,
            })
        }
        None => Err("the file is neither a PNG nor a JPEG image".into()),
    }
}

/// The format and size from the headers alone (PNG: the IHDR chunk;
/// JPEG: the frame header), so a caller can refuse a huge image before
/// decoding it. Nothing else is checked: use [`check`] for that.
pub fn dimensions(data: &[u8]) -> Result<Info, String> {
    match Format::sniff(data) {
        Some(Format::Png) => {
            let ihdr = data
                .get(8..8 + 8 + 13)
                .filter(|h| &h[4..8] == b"IHDR")
                .ok_or("the PNG is corrupt or cut short (no IHDR)")?;
            Ok(Info {
                format: Format::Png,
                width: be32(&ihdr[8..12]),
                height: be32(&ihdr[12..16]),
            })
        }
        Some(Format::Jpeg) => {
            let j = jpeg_info(data)?;
            Ok(Info {
                format: Format::Jpeg,
                width: j.width,
                height: j.height,
            })
        }
        None => Err("the file is neither a PNG nor a JPEG image".into()),
    }
}

// ---------------------------------------------------------------- PNG

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The colours of a decoded PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Colour {
    /// One grey sample per pixel.
    Gray,
    /// Red, green, blue samples per pixel.
    Rgb,
    /// One palette index per pixel; the palette as RGB triples.
    Indexed(Vec<u8>),
}

impl Colour {
    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        match self {
            Colour::Rgb => 3,
            Colour::Gray | Colour::Indexed(_) => 1,
        }
    }
}

/// A decoded PNG: colour samples in PDF's layout (rows of packed samples,
/// each row starting on a byte, most significant bits first — PNG's own
/// layout without the filter bytes) and the transparency, if any, split
/// off as one 8-bit alpha value per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// How the samples are to be read.
    pub colour: Colour,
    /// Bits per sample: 1, 2, 4 or 8.
    pub bits: u8,
    /// The colour samples, row after row.
    pub samples: Vec<u8>,
    /// Alpha, one byte per pixel (0 transparent … 255 opaque); `None`
    /// when every pixel is opaque.
    pub alpha: Option<Vec<u8>>,
}

/// CRC-32 (ISO 3309, as PNG uses it) of `parts` in order.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for part in parts {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xedb8_8320 & mask);
            }
        }
    }
    !crc
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

struct Header {
    width: u32,
    height: u32,
    bits: u8,
    colour_type: u8,
}

/// The Paeth predictor of PNG filter type 4.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let p = ia + ib - ic;
    let (pa, pb, pc) = ((p - ia).abs(), (p - ib).abs(), (p - ic).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Undoes the row filters of `raw` (each row: a filter byte, then
/// `row_bytes` bytes) into rows without filter bytes. `bpp` is the
/// filter's byte distance: bytes per whole pixel, at least 1.
fn unfilter(raw: &[u8], rows: usize, row_bytes: usize, bpp: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; rows * row_bytes];
    for y in 0..rows {
        let src = &raw[y * (row_bytes + 1)..(y + 1) * (row_bytes + 1)];
        let filter = src[0];
        let src = &src[1..];
        let (done, rest) = out.split_at_mut(y * row_bytes);
        let prior: &[u8] = if y == 0 {
            &[]
        } else {
            &done[(y - 1) * row_bytes..]
        };
        let cur = &mut rest[..row_bytes];
        let up = |i: usize| prior.get(i).copied().unwrap_or(0);
        for i in 0..row_bytes {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let upper_left = if i >= bpp { up(i - bpp) } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => left,
                2 => up(i),
                3 => u8::try_from((u16::from(left) + u16::from(up(i))) / 2).unwrap_or(0),
                4 => paeth(left, up(i), upper_left),
                other => {
                    return Err(format!(
                        "the PNG is corrupt (row {} has unknown filter type {other})",
                        y + 1
                    ));
                }
            };
            cur[i] = src[i].wrapping_add(predicted);
        }
    }
    Ok(out)
}

/// The sample at `index` of a row packed `bits` per sample.
fn sample(row: &[u8], index: usize, bits: u8) -> u8 {
    match bits {
        8 => row[index],
        _ => {
            let per_byte = 8 / usize::from(bits);
            let byte = row[index / per_byte];
            let shift = 8 - usize::from(bits) * (index % per_byte + 1);
            (byte >> shift) & ((1u8 << bits) - 1)
        }
    }
}

/// Decodes a PNG (see the module for what is supported). Errors are
/// sentences for the person who uploaded it.
pub fn decode_png(data: &[u8]) -> Result<Png, String> {
    if !data.starts_with(PNG_SIGNATURE) {
        return Err("the file is not a PNG (its signature is missing)".into());
    }
    let corrupt = |what: &str| format!("the PNG is corrupt or cut short ({what})");
    let mut at = PNG_SIGNATURE.len();
    let mut header: Option<Header> = None;
    let mut palette: Option<Vec<u8>> = None;
    let mut trns: Option<Vec<u8>> = None;
    let mut idat: Vec<u8> = Vec::new();
    let mut ended = false;
    while at < data.len() {
        let head = data
            .get(at..at + 8)
            .ok_or_else(|| corrupt("a chunk header is truncated"))?;
        let len = usize::try_from(be32(head)).map_err(|_| corrupt("chunk length"))?;
        let kind = &head[4..8];
        let body = data
            .get(at + 8..at.saturating_add(8).saturating_add(len))
            .ok_or_else(|| corrupt("a chunk runs past the end of the file"))?;
        let crc = data
            .get(at + 8 + len..at + 12 + len)
            .ok_or_else(|| corrupt("a chunk's checksum is missing"))?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(corrupt("a chunk has an invalid name"));
        }
        let name = String::from_utf8_lossy(kind).into_owned();
        if crc32(&[kind, body]) != be32(crc) {
            return Err(corrupt(&format!("the checksum of chunk {name} is wrong")));
        }
        at += 12 + len;
        if header.is_none() && kind != b"IHDR" {
            return Err(corrupt("the first chunk is not IHDR"));
        }
        match kind {
            b"IHDR" => {
                if header.is_some() || body.len() != 13 {
                    return Err(corrupt("bad IHDR"));
                }
                let h = Header {
                    width: be32(&body[0..4]),
                    height: be32(&body[4..8]),
                    bits: body[8],
                    colour_type: body[9],
                };
                if h.width == 0 || h.height == 0 {
                    return Err("the PNG has no pixels (width or height is 0)".into());
                }
                if body[10] != 0 || body[11] != 0 {
                    return Err(corrupt("unknown compression or filter method"));
                }
                let allowed: &[u8] = match h.colour_type {
                    0 => &[1, 2, 4, 8, 16],
                    3 => &[1, 2, 4, 8],
                    2 | 4 | 6 => &[8, 16],
                    _ => return Err(corrupt("unknown colour type")),
                };
                if !allowed.contains(&h.bits) {
                    return Err(corrupt("bit depth not allowed for its colour type"));
                }
                if h.bits == 16 {
                    return Err(
                        "16-bit PNGs are not supported: save the logo with 8 bits per channel"
                            .into(),
                    );
                }
                match body[12] {
                    0 => {}
                    1 => {
                        return Err("interlaced PNGs are not supported: save the logo \
                                    without interlacing"
                            .into());
                    }
                    _ => return Err(corrupt("unknown interlace method")),
                }
                if u64::from(h.width) * u64::from(h.height) > MAX_PIXELS {
                    return Err(format!(
                        "the PNG is {}×{} pixels, too large to read",
                        h.width, h.height
                    ));
                }
                header = Some(h);
            }
            b"PLTE" => {
                if body.is_empty() || body.len() % 3 != 0 || body.len() > 256 * 3 {
                    return Err(corrupt("bad palette"));
                }
                if !idat.is_empty() {
                    return Err(corrupt("the palette comes after the image data"));
                }
                palette = Some(body.to_vec());
            }
            b"tRNS" => trns = Some(body.to_vec()),
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => {
                ended = true;
                break;
            }
            _ if kind[0].is_ascii_uppercase() => {
                return Err(format!(
                    "the PNG uses a chunk this server does not know ({name})"
                ));
            }
            _ => {} // ancillary: text, gamma, physical size…
        }
    }
    let h = header.ok_or_else(|| corrupt("no IHDR"))?;
    if !ended {
        return Err(corrupt("no IEND: the file is truncated"));
    }
    if idat.is_empty() {
        return Err(corrupt("no image data"));
    }
    let colour = match h.colour_type {
        0 | 4 => Colour::Gray,
        2 | 6 => Colour::Rgb,
        _ => Colour::Indexed(palette.clone().ok_or_else(|| corrupt("no palette"))?),
    };
    // Samples per pixel as stored (alpha included).
    let stored = match h.colour_type {
        0 | 3 => 1,
        4 => 2,
        2 => 3,
        _ => 4,
    };
    let width = usize::try_from(h.width).map_err(|_| corrupt("width"))?;
    let height = usize::try_from(h.height).map_err(|_| corrupt("height"))?;
    let row_bits = width * stored * usize::from(h.bits);
    let row_bytes = row_bits.div_ceil(8);
    let bpp = (stored * usize::from(h.bits)).div_ceil(8).max(1);
    let expected = height * (row_bytes + 1);
    let raw = decompress_to_vec_zlib_with_limit(&idat, expected)
        .map_err(|_| corrupt("the compressed image data does not inflate to the image size"))?;
    if raw.len() != expected {
        return Err(corrupt("the image data is shorter than the image"));
    }
    let rows = unfilter(&raw, height, row_bytes, bpp)?;

    // Split alpha off, or derive it from tRNS.
    let (samples, alpha) = match h.colour_type {
        4 | 6 => {
            let colours = stored - 1;
            let mut s = Vec::with_capacity(width * height * colours);
            let mut a = Vec::with_capacity(width * height);
            for px in rows.chunks_exact(stored) {
                s.extend_from_slice(&px[..colours]);
                a.push(px[colours]);
            }
            (s, Some(a))
        }
        _ => {
            let alpha = match (&trns, &colour) {
                (None, _) => None,
                (Some(t), Colour::Indexed(pal)) => {
                    if t.len() > pal.len() / 3 {
                        return Err(corrupt("more transparency entries than palette entries"));
                    }
                    let mut a = Vec::with_capacity(width * height);
                    for row in rows.chunks_exact(row_bytes) {
                        for x in 0..width {
                            let i = usize::from(sample(row, x, h.bits));
                            if i >= pal.len() / 3 {
                                return Err(corrupt("a pixel uses a colour outside the palette"));
                            }
                            a.push(t.get(i).copied().unwrap_or(255));
                        }
                    }
                    Some(a)
                }
                (Some(t), _) => {
                    // A colour key: pixels of exactly this colour are transparent.
                    if t.len() != stored * 2 {
                        return Err(corrupt("bad tRNS for its colour type"));
                    }
                    let key: Vec<u16> = t
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    let mut a = Vec::with_capacity(width * height);
                    for row in rows.chunks_exact(row_bytes) {
                        for x in 0..width {
                            let same = (0..stored)
                                .all(|c| u16::from(sample(row, x * stored + c, h.bits)) == key[c]);
                            a.push(if same { 0 } else { 255 });
                        }
                    }
                    Some(a)
                }
            };
            if let Colour::Indexed(pal) = &colour
                && alpha.is_none()
            {
                // Without tRNS, still refuse indices outside the palette.
                for row in rows.chunks_exact(row_bytes) {
                    for x in 0..width {
                        if usize::from(sample(row, x, h.bits)) >= pal.len() / 3 {
                            return Err(corrupt("a pixel uses a colour outside the palette"));
                        }
                    }
                }
            }
            (rows, alpha)
        }
    };
    // Fully opaque alpha is no alpha.
    let alpha = alpha.filter(|a| a.iter().any(|v| *v != 255));
    Ok(Png {
        width: h.width,
        height: h.height,
        colour,
        bits: h.bits,
        samples,
        alpha,
    })
}

// --------------------------------------------------------------- JPEG

/// What a JPEG's frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jpeg {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 (grey), 3 (YCbCr or RGB) or 4 (CMYK).
    pub components: u8,
    /// An Adobe APP14 marker is present: its CMYK data is stored inverted
    /// (as Photoshop writes it), so a PDF needs `/Decode [1 0 …]`.
    pub adobe: bool,
}

/// Reads the markers of a JPEG up to its frame header; with `full`, on to
/// the first scan and checks that the file ends with an end marker.
fn read_jpeg(data: &[u8], full: bool) -> Result<Jpeg, String> {
    let corrupt = |what: &str| format!("the JPEG is corrupt or cut short ({what})");
    if !data.starts_with(&[0xff, 0xd8]) {
        return Err("the file is not a JPEG (no start-of-image marker)".into());
    }
    let mut at = 2;
    let mut adobe = false;
    let mut frame: Option<Jpeg> = None;
    loop {
        // Markers may be preceded by fill bytes 0xff.
        if data.get(at) != Some(&0xff) {
            return Err(corrupt("a marker was expected"));
        }
        while data.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let marker = *data
            .get(at + 1)
            .ok_or_else(|| corrupt("the file ends inside the headers"))?;
        at += 2;
        match marker {
            0x01 | 0xd0..=0xd7 => continue, // no length
            0xd8 => return Err(corrupt("a second start-of-image marker")),
            0xd9 => return Err(corrupt("the image ends before its first scan")),
            _ => {}
        }
        let len = data
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| corrupt("a segment length is missing"))?;
        if len < 2 {
            return Err(corrupt("a segment is too short"));
        }
        let seg = data
            .get(at + 2..at + len)
            .ok_or_else(|| corrupt("a segment runs past the end of the file"))?;
        match marker {
            0xc0..=0xc2 => {
                if seg.len() < 6 {
                    return Err(corrupt("short frame header"));
                }
                if seg[0] != 8 {
                    return Err(format!(
                        "{}-bit JPEGs are not supported: save the logo as an ordinary 8-bit JPEG",
                        seg[0]
                    ));
                }
                let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                let components = seg[5];
                if width == 0 || height == 0 {
                    return Err("the JPEG does not state its size in its header \
                                (a DNL marker), which is not supported"
                        .into());
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(format!(
                        "JPEGs with {components} colour components are not supported \
                         (grey, RGB or CMYK are)"
                    ));
                }
                if seg.len() < 6 + 3 * usize::from(components) {
                    return Err(corrupt("short frame header"));
                }
                frame = Some(Jpeg {
                    width,
                    height,
                    components,
                    adobe,
                });
                if !full {
                    break;
                }
            }
            0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                return Err("lossless, hierarchical and arithmetic-coded JPEGs are not \
                            supported: save the logo as a baseline or progressive JPEG"
                    .into());
            }
            0xee if seg.starts_with(b"Adobe") => {
                adobe = true;
                if let Some(f) = frame.as_mut() {
                    f.adobe = true;
                }
            }
            0xda => {
                if frame.is_none() {
                    return Err(corrupt("a scan comes before the frame header"));
                }
                // Entropy-coded data follows; it must end with EOI.
                let tail = &data[at + len..];
                let end = tail
                    .windows(2)
                    .rposition(|w| w == [0xff, 0xd9])
                    .ok_or_else(|| corrupt("no end-of-image marker"))?;
                if end == 0 {
                    return Err(corrupt("the scan is empty"));
                }
                break;
            }
            _ => {}
        }
        at += len;
    }
    frame.ok_or_else(|| corrupt("no frame header"))
}

/// The frame header of a JPEG (baseline or progressive), without reading
/// further.
pub fn jpeg_info(data: &[u8]) -> Result<Jpeg, String> {
    read_jpeg(data, false)
}

/// Checks a whole JPEG: markers, frame header, a scan and the end marker.
pub fn check_jpeg(data: &[u8]) -> Result<Jpeg, String> {
    read_jpeg(data, true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use miniz_oxide::deflate::compress_to_vec_zlib;

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out.extend_from_slice(&crc32(&[kind, body]).to_be_bytes());
    }

    /// Filters `rows` (already packed) with the given filter type per
    /// row, the way an encoder would.
    fn filter_rows(rows: &[Vec<u8>], filters: &[u8], bpp: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for (y, row) in rows.iter().enumerate() {
            let f = filters[y % filters.len()];
            out.push(f);
            let prior = if y == 0 { None } else { Some(&rows[y - 1]) };
            for i in 0..row.len() {
                let a = if i >= bpp { row[i - bpp] } else { 0 };
                let b = prior.map_or(0, |p| p[i]);
                let c = if i >= bpp {
                    prior.map_or(0, |p| p[i - bpp])
                } else {
                    0
                };
                let pred = match f {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    _ => paeth(a, b, c),
                };
                out.push(row[i].wrapping_sub(pred));
            }
        }
        out
    }

    /// A PNG built by hand: IHDR, optional PLTE/tRNS, one IDAT, IEND.
    pub(crate) fn png(
        (width, height): (u32, u32),
        bits: u8,
        colour_type: u8,
        rows: &[Vec<u8>],
        filters: &[u8],
        extra: &[(&[u8; 4], Vec<u8>)],
    ) -> Vec<u8> {
        let channels = match colour_type {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        };
        let bpp = (channels * usize::from(bits)).div_ceil(8).max(1);
        let mut out = PNG_SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[bits, colour_type, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        for (k, v) in extra {
            chunk(&mut out, k, v);
        }
        let raw = filter_rows(rows, filters, bpp);
        chunk(&mut out, b"IDAT", &compress_to_vec_zlib(&raw, 6));
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A 4×3 RGBA picture with varied pixels.
    fn rgba_rows() -> Vec<Vec<u8>> {
        (0u8..3)
            .map(|y| {
                (0u8..4)
                    .flat_map(|x| [x * 60 + y, 200 - x * 30, y * 90 + 7, 255 - x * 50 - y])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn crc_matches_the_png_specification() {
        // The CRC of an empty IEND chunk, as every PNG ends with it.
        assert_eq!(crc32(&[b"IEND", b""]), 0xae42_6082);
    }

    #[test]
    fn every_filter_type_decodes_to_the_same_pixels() {
        let rows = rgba_rows();
        let want_rgb: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.chunks(4).flat_map(|p| p[..3].to_vec()))
            .collect();
        let want_alpha: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.chunks(4).map(|p| p[3]))
            .collect();
        for filters in [[0u8], [1], [2], [3], [4]]
            .iter()
            .map(|f| f.to_vec())
            .chain([vec![4, 3, 2, 1, 0]])
        {
            let data = png((4, 3), 8, 6, &rows, &filters, &[]);
            let p = decode_png(&data).unwrap_or_else(|e| panic!("filters {filters:?}: {e}"));
            assert_eq!((p.width, p.height, p.bits), (4, 3, 8));
            assert_eq!(p.colour, Colour::Rgb);
            assert_eq!(p.samples, want_rgb, "filters {filters:?}");
            assert_eq!(
                p.alpha.as_deref(),
                Some(&want_alpha[..]),
                "filters {filters:?}"
            );
            assert_eq!(check(&data).unwrap().format, Format::Png);
            assert_eq!(
                (
                    dimensions(&data).unwrap().width,
                    dimensions(&data).unwrap().height
                ),
                (4, 3)
            );
        }
    }

    #[test]
    fn grey_with_alpha_is_split() {
        let rows = vec![vec![10, 255, 20, 128, 30, 0], vec![40, 1, 50, 2, 60, 3]];
        let data = png((3, 2), 8, 4, &rows, &[4, 1], &[]);
        let p = decode_png(&data).unwrap();
        assert_eq!(p.colour, Colour::Gray);
        assert_eq!(p.samples, [10, 20, 30, 40, 50, 60]);
        assert_eq!(p.alpha.unwrap(), [255, 128, 0, 1, 2, 3]);
    }

    #[test]
    fn opaque_rgba_has_no_alpha_and_rgb_stays_rgb() {
        let rows = vec![vec![1, 2, 3, 255, 4, 5, 6, 255]];
        let p = decode_png(&png((2, 1), 8, 6, &rows, &[2], &[])).unwrap();
        assert_eq!(p.samples, [1, 2, 3, 4, 5, 6]);
        assert_eq!(p.alpha, None);
        let rows = vec![vec![9, 8, 7, 6, 5, 4], vec![3, 2, 1, 0, 0, 0]];
        let p = decode_png(&png((2, 2), 8, 2, &rows, &[3], &[])).unwrap();
        assert_eq!(p.samples, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]);
        assert_eq!(p.alpha, None);
    }

    #[test]
    fn palettes_and_low_bit_depths() {
        // 2-bit palette, 5 pixels wide: 2 bytes per row, indices 0 1 2 1 0.
        let pal = vec![255, 0, 0, 0, 255, 0, 0, 0, 255];
        let rows = vec![
            vec![0b0001_1001, 0b0000_0000],
            vec![0b1010_1010, 0b1000_0000],
        ];
        let data = png(
            (5, 2),
            2,
            3,
            &rows,
            &[1],
            &[(b"PLTE", pal.clone()), (b"tRNS", vec![0, 128])],
        );
        let p = decode_png(&data).unwrap();
        assert_eq!(p.colour, Colour::Indexed(pal.clone()));
        assert_eq!(p.bits, 2);
        assert_eq!(p.samples, [0b0001_1001, 0, 0b1010_1010, 0b1000_0000]);
        // Index 0 → 0, 1 → 128, 2 → opaque.
        assert_eq!(
            p.alpha.unwrap(),
            [0, 128, 255, 128, 0, 255, 255, 255, 255, 255]
        );
        // An index past the palette is refused.
        let bad = png((1, 1), 8, 3, &[vec![3]], &[0], &[(b"PLTE", pal)]);
        assert!(
            decode_png(&bad)
                .unwrap_err()
                .contains("outside the palette")
        );
        // 1-bit grey with a colour key: white is transparent.
        let rows = vec![vec![0b1010_0000]];
        let p = decode_png(&png((3, 1), 1, 0, &rows, &[0], &[(b"tRNS", vec![0, 1])])).unwrap();
        assert_eq!(p.colour, Colour::Gray);
        assert_eq!(p.alpha.unwrap(), [0, 255, 0]);
    }

    #[test]
    fn unsupported_and_broken_pngs_are_refused_with_a_reason() {
        let rows = rgba_rows();
        let good = png((4, 3), 8, 6, &rows, &[0], &[]);
        // 16-bit and interlaced: say so.
        let mut sixteen = good.clone();
        sixteen[8 + 8 + 8] = 16;
        let crc = crc32(&[&sixteen[12..16], &sixteen[16..29]]);
        sixteen[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(decode_png(&sixteen).unwrap_err().contains("16-bit"));
        let mut laced = good.clone();
        laced[28] = 1;
        let crc = crc32(&[&laced[12..16], &laced[16..29]]);
        laced[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(decode_png(&laced).unwrap_err().contains("interlaced"));
        // A flipped bit fails the CRC.
        let mut flipped = good.clone();
        let n = flipped.len();
        flipped[n - 20] ^= 0x10;
        assert!(decode_png(&flipped).unwrap_err().contains("corrupt"));
        // Truncated: no IEND.
        assert!(
            decode_png(&good[..good.len() - 12])
                .unwrap_err()
                .contains("IEND")
        );
        assert!(decode_png(&good[..40]).is_err());
        // Too little image data for the stated size.
        let short = png((4, 4), 8, 6, &rows, &[0], &[]);
        assert!(decode_png(&short).unwrap_err().contains("corrupt"));
        // A bad filter byte.
        let mut raw = vec![7u8];
        raw.extend_from_slice(&[0; 4]);
        let mut bad = PNG_SIGNATURE.to_vec();
        chunk(&mut bad, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
        chunk(&mut bad, b"IDAT", &compress_to_vec_zlib(&raw, 6));
        chunk(&mut bad, b"IEND", &[]);
        assert!(decode_png(&bad).unwrap_err().contains("filter type 7"));
        // Not an image at all.
        assert!(check(b"GIF89a....").unwrap_err().contains("neither"));
        assert!(check(b"").is_err());
    }

    /// A minimal JPEG's markers: SOI, optional APP14 Adobe, SOFn of
    /// `w`×`h` with `comps` components, SOS with a few data bytes, EOI.
    pub(crate) fn jpeg_bytes(sof: u8, (w, h): (u16, u16), comps: u8, adobe: bool) -> Vec<u8> {
        let mut j = vec![0xff, 0xd8];
        if adobe {
            j.extend_from_slice(&[0xff, 0xee, 0x00, 0x0e]);
            j.extend_from_slice(b"Adobe\x00\x64\x00\x00\x00\x00\x02");
        }
        let len = 8 + 3 * u16::from(comps);
        j.extend_from_slice(&[0xff, sof]);
        j.extend_from_slice(&len.to_be_bytes());
        j.push(8);
        j.extend_from_slice(&h.to_be_bytes());
        j.extend_from_slice(&w.to_be_bytes());
        j.push(comps);
        for c in 0..comps {
            j.extend_from_slice(&[c + 1, 0x11, 0]);
        }
        j.extend_from_slice(&[0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]);
        j.extend_from_slice(&[0x12, 0x34, 0xff, 0x00, 0x56]);
        j.extend_from_slice(&[0xff, 0xd9]);
        j
    }

    #[test]
    fn jpeg_headers() {
        let base = jpeg_bytes(0xc0, (120, 40), 3, false);
        assert_eq!(
            check_jpeg(&base),
            Ok(Jpeg {
                width: 120,
                height: 40,
                components: 3,
                adobe: false
            })
        );
        let prog = check_jpeg(&jpeg_bytes(0xc2, (7, 9), 1, false)).unwrap();
        assert_eq!((prog.width, prog.height, prog.components), (7, 9, 1));
        let cmyk = check_jpeg(&jpeg_bytes(0xc0, (5, 5), 4, true)).unwrap();
        assert!(cmyk.adobe && cmyk.components == 4);
        assert!(
            check_jpeg(&jpeg_bytes(0xc3, (5, 5), 3, false))
                .unwrap_err()
                .contains("lossless")
        );
        assert!(
            check_jpeg(&jpeg_bytes(0xc9, (5, 5), 3, false))
                .unwrap_err()
                .contains("arithmetic")
        );
        // Cut short: no end marker.
        assert!(check_jpeg(&base[..base.len() - 2]).is_err());
        assert!(check_jpeg(&base[..12]).is_err());
        assert_eq!(check(&base).unwrap().format, Format::Jpeg);
        assert_eq!(
            dimensions(&base),
            Ok(Info {
                format: Format::Jpeg,
                width: 120,
                height: 40
            })
        );
        assert_eq!(Format::from_mime("image/JPEG; q=1"), Some(Format::Jpeg));
        assert_eq!(Format::from_mime("image/gif"), None);
    }
}
