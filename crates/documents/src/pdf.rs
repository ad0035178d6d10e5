//! A small PDF 1.4 writer: pages of text in the two standard Helvetica
//! fonts (WinAnsi encoding, so English and Spanish print without embedding
//! a font), lines, rectangles, colours and images, written
//! with a correct cross-reference table; images are JPEGs passed through
//! (`/DCTDecode`) or PNGs decoded and compressed again (`/FlateDecode`,
//! transparency as a soft mask).
//!
//! Coordinates are whole points (1/72 inch) from the bottom-left corner,
//! as in PDF. Content streams are left uncompressed: a bill page is a few
//! kilobytes, and plain streams keep the output easy to check.

use crate::image;
use miniz_oxide::deflate::compress_to_vec_zlib;
use std::fmt::Write as _;

/// US letter, in points.
pub const LETTER: (i32, i32) = (612, 792);

/// One of the two standard fonts every PDF reader has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }
}

/// Advance widths (1/1000 em) of ASCII 32..=126 in Helvetica (from the
/// standard Adobe font metrics).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // :;<=>?@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // [\]^_`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // a-z
    334, 260, 334, 584, // {|}~
];

/// The same for Helvetica-Bold.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    333, 333, 584, 584, 584, 611, 975, // :;<=>?@
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    333, 278, 333, 584, 556, 333, // [\]^_`
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, // a-z
    389, 280, 389, 584, // {|}~
];

/// The WinAnsi (code page 1252) byte for `c`; `?` when it has none.
pub fn win_ansi(c: char) -> u8 {
    let code = u32::from(c);
    if (0x20..=0x7e).contains(&code) || (0xa0..=0xff).contains(&code) {
        return u8::try_from(code).unwrap_or(b'?');
    }
    match c {
        '\t' | '\n' | '\r' => b' ',
        '€' => 0x80,
        '‚' => 0x82,
        '„' => 0x84,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '™' => 0x99,
        '−' => b'-',
        _ => b'?',
    }
}

/// The width of one WinAnsi byte in 1/1000 em.
fn byte_width(font: Font, b: u8) -> u32 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    let ascii = |c: u8| u32::from(table[usize::from(c - 32)]);
    match b {
        32..=126 => ascii(b),
        0xc0..=0xc5 => ascii(b'A'),
        0xc7 => ascii(b'C'),
        0xc8..=0xcb => ascii(b'E'),
        0xcc..=0xcf => ascii(b'I'),
        0xd1 => ascii(b'N'),
        0xd2..=0xd6 => ascii(b'O'),
        0xd9..=0xdc => ascii(b'U'),
        0xdd => ascii(b'Y'),
        0xe0..=0xe5 => ascii(b'a'),
        0xe7 => ascii(b'c'),
        0xe8..=0xeb => ascii(b'e'),
        0xec..=0xef => ascii(b'i'),
        0xf1 => ascii(b'n'),
        0xf2..=0xf6 => ascii(b'o'),
        0xf9..=0xfc => ascii(b'u'),
        0xfd | 0xff => ascii(b'y'),
        0xa1 => 333,
        0xbf => 611,
        0x95 => 350,
        0x85 | 0x97 => 1000,
        _ => 556,
    }
}

/// Width of `s` set in `font` at `size` points, in points (rounded up).
pub fn text_width(font: Font, size: i32, s: &str) -> i32 {
    let units: u32 = s.chars().map(|c| byte_width(font, win_ansi(c))).sum();
    let size = u32::try_from(size.max(0)).unwrap_or(0);
    i32::try_from((units * size).div_ceil(1000)).unwrap_or(i32::MAX)
}

/// `s` cut (with "...") to fit in `max` points.
pub fn fit(font: Font, size: i32, s: &str, max: i32) -> String {
    if text_width(font, size, s) <= max {
        return s.to_owned();
    }
    let mut out: String = s.to_owned();
    while !out.is_empty() && text_width(font, size, &format!("{out}...")) > max {
        out.pop();
    }
    format!("{}...", out.trim_end())
}

/// Splits `s` into lines no wider than `max` points (at word breaks).
pub fn wrap(font: Font, size: i32, s: &str, max: i32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(font, size, &candidate) <= max || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .map(|l| fit(font, size, &l, max))
        .collect()
}

/// A PDF string literal of `s` in WinAnsi: `(` `)` `\` escaped, bytes
/// outside ASCII as octal escapes, so the content stream stays ASCII.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('(');
    for c in s.chars() {
        let b = win_ansi(c);
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    /// White.
    pub const WHITE: Rgb = Rgb(255, 255, 255);

    /// From `#rrggbb`.
    pub fn parse(hex: &str) -> Option<Rgb> {
        let h = hex.strip_prefix('#')?;
        if h.len() != 6 || !h.is_ascii() {
            return None;
        }
        let part = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        Some(Rgb(part(0)?, part(2)?, part(4)?))
    }

    fn operands(self) -> String {
        let c = |v: u8| {
            let m = u32::from(v) * 1000 / 255;
            format!("{}.{:03}", m / 1000, m % 1000)
        };
        format!("{} {} {}", c(self.0), c(self.1), c(self.2))
    }
}

/// An image added to a [`Document`], drawn with [`Page::image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef {
    index: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ImageRef {
    #[cfg(test)]
    pub(crate) fn for_tests(width: u32, height: u32) -> Self {
        Self {
            index: 0,
            width,
            height,
        }
    }
}

/// An image as it is written into the file.
#[derive(Debug, Clone)]
enum Image {
    /// JPEG data passed through (`/DCTDecode`).
    Dct { data: Vec<u8>, info: image::Jpeg },
    /// Samples compressed with `/FlateDecode`, with an optional soft mask
    /// (8-bit alpha, compressed the same way).
    Flate {
        width: u32,
        height: u32,
        colour_space: String,
        bits: u8,
        data: Vec<u8>,
        smask: Option<Vec<u8>>,
    },
}

impl Image {
    /// Objects this image takes in the file (itself and its mask).
    fn objects(&self) -> usize {
        match self {
            Image::Flate { smask: Some(_), .. } => 2,
            _ => 1,
        }
    }
}

/// The width, height and colour components of a baseline or progressive
/// JPEG (only the headers are read).
#[cfg(test)]
fn jpeg_info(data: &[u8]) -> Option<(u32, u32, u8)> {
    image::jpeg_info(data)
        .ok()
        .map(|j| (j.width, j.height, j.components))
}

/// A PDF stream object: `dict` (without `/Length`) and `data`.
fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut obj = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    obj.extend_from_slice(data);
    obj.extend_from_slice(b"\nendstream");
    obj
}

/// One page's drawing operations.
#[derive(Debug, Clone, Default)]
pub struct Page {
    ops: String,
}

impl Page {
    /// An empty page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Text with its baseline starting at (`x`, `y`).
    pub fn text(&mut self, x: i32, y: i32, font: Font, size: i32, s: &str) {
        let _ = writeln!(
            self.ops,
            "BT /{} {size} Tf {x} {y} Td {} Tj ET",
            font.resource(),
            literal(s)
        );
    }

    /// Text ending at `right`.
    pub fn text_right(&mut self, right: i32, y: i32, font: Font, size: i32, s: &str) {
        self.text(right - text_width(font, size, s), y, font, size, s);
    }

    /// Text centred on `cx`.
    pub fn text_center(&mut self, cx: i32, y: i32, font: Font, size: i32, s: &str) {
        self.text(cx - text_width(font, size, s) / 2, y, font, size, s);
    }

    /// Sets the fill colour (text and filled shapes).
    pub fn fill(&mut self, c: Rgb) {
        let _ = writeln!(self.ops, "{} rg", c.operands());
    }

    /// Sets the stroke colour (lines and outlines).
    pub fn stroke(&mut self, c: Rgb) {
        let _ = writeln!(self.ops, "{} RG", c.operands());
    }

    /// A straight line, `tenths` of a point wide.
    pub fn line(&mut self, (x1, y1): (i32, i32), (x2, y2): (i32, i32), tenths: u32) {
        let _ = writeln!(
            self.ops,
            "{}.{} w {x1} {y1} m {x2} {y2} l S",
            tenths / 10,
            tenths % 10
        );
    }

    /// A dashed line (`dash` points on, `dash` off).
    pub fn dashed(&mut self, from: (i32, i32), to: (i32, i32), tenths: u32, dash: u32) {
        let _ = writeln!(self.ops, "q [{dash} {dash}] 0 d");
        self.line(from, to, tenths);
        self.ops.push_str("Q\n");
    }

    /// A filled rectangle, lower-left corner (`x`, `y`).
    pub fn rect(&mut self, x: i32, y: i32, w: i32, h: i32) {
        let _ = writeln!(self.ops, "{x} {y} {w} {h} re f");
    }

    /// An outlined rectangle.
    pub fn frame(&mut self, x: i32, y: i32, w: i32, h: i32, tenths: u32) {
        let _ = writeln!(
            self.ops,
            "{}.{} w {x} {y} {w} {h} re S",
            tenths / 10,
            tenths % 10
        );
    }

    /// An image scaled into the box at (`x`, `y`), `w` × `h` points.
    pub fn image(&mut self, img: ImageRef, x: i32, y: i32, w: i32, h: i32) {
        let _ = writeln!(
            self.ops,
            "q {w} 0 0 {h} {x} {y} cm /Im{} Do Q",
            img.index + 1
        );
    }

    /// A comment in the content stream (ignored by readers; marks parts
    /// of the page for tests).
    pub fn comment(&mut self, s: &str) {
        let _ = writeln!(self.ops, "% {}", s.replace(['\r', '\n'], " "));
    }
}

/// A document being built: pages and images.
#[derive(Debug, Clone, Default)]
pub struct Document {
    title: String,
    pages: Vec<Page>,
    images: Vec<Image>,
}

impl Document {
    /// An empty document titled `title`.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            ..Self::default()
        }
    }

    /// Adds a JPEG (baseline or progressive; grey, RGB or CMYK); `None`
    /// when the bytes are not one.
    pub fn add_jpeg(&mut self, data: &[u8]) -> Option<ImageRef> {
        let info = image::jpeg_info(data).ok()?;
        Some(self.push_image(Image::Dct {
            data: data.to_vec(),
            info,
        }))
    }

    /// Adds a PNG (see [`image`] for the kinds supported): decoded, its
    /// alpha split into a soft mask, both compressed again.
    pub fn add_png(&mut self, data: &[u8]) -> Result<ImageRef, String> {
        let png = image::decode_png(data)?;
        let colour_space = match &png.colour {
            image::Colour::Gray => "/DeviceGray".to_owned(),
            image::Colour::Rgb => "/DeviceRGB".to_owned(),
            image::Colour::Indexed(pal) => {
                let mut hex = String::with_capacity(pal.len() * 2);
                for b in pal {
                    let _ = write!(hex, "{b:02x}");
                }
                format!("[/Indexed /DeviceRGB {} <{hex}>]", pal.len() / 3 - 1)
            }
        };
        Ok(self.push_image(Image::Flate {
            width: png.width,
            height: png.height,
            colour_space,
            bits: png.bits,
            data: compress_to_vec_zlib(&png.samples, 6),
            smask: png.alpha.map(|a| compress_to_vec_zlib(&a, 6)),
        }))
    }

    /// Adds a PNG or a JPEG, whichever the bytes are.
    pub fn add_image(&mut self, data: &[u8]) -> Result<ImageRef, String> {
        match image::Format::sniff(data) {
            Some(image::Format::Png) => self.add_png(data),
            Some(image::Format::Jpeg) => {
                let info = image::check_jpeg(data)?;
                Ok(self.push_image(Image::Dct {
                    data: data.to_vec(),
                    info,
                }))
            }
            None => Err("the image is neither a PNG nor a JPEG".into()),
        }
    }

    fn push_image(&mut self, img: Image) -> ImageRef {
        let (width, height) = match &img {
            Image::Dct { info, .. } => (info.width, info.height),
            Image::Flate { width, height, .. } => (*width, *height),
        };
        self.images.push(img);
        ImageRef {
            index: self.images.len() - 1,
            width,
            height,
        }
    }

    /// Appends a page.
    pub fn push(&mut self, page: Page) {
        self.pages.push(page);
    }

    /// Number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The finished file.
    pub fn finish(self) -> Vec<u8> {
        // 1 catalog, 2 page tree, 3-4 fonts, 5 info, then images (each
        // followed by its soft mask, if any), then each page and its
        // content stream.
        let first_image = 6;
        let mut image_obj = Vec::with_capacity(self.images.len());
        let mut next = first_image;
        for img in &self.images {
            image_obj.push(next);
            next += img.objects();
        }
        let first_page = next;
        let page_obj = |i: usize| first_page + 2 * i;
        let mut objects: Vec<Vec<u8>> = Vec::new();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..self.pages.len())
            .map(|i| format!("{} 0 R", page_obj(i)))
            .collect();
        objects.push(
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                self.pages.len()
            )
            .into_bytes(),
        );
        for name in ["Helvetica", "Helvetica-Bold"] {
            objects.push(
                format!(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>"
                )
                .into_bytes(),
            );
        }
        objects.push(
            format!("<< /Title {} /Producer (Aqueduct) >>", literal(&self.title)).into_bytes(),
        );
        let mut xobjects = String::new();
        for (i, img) in self.images.iter().enumerate() {
            let obj = image_obj[i];
            let _ = write!(xobjects, " /Im{} {obj} 0 R", i + 1);
            match img {
                Image::Dct { data, info } => {
                    let (space, decode) = match info.components {
                        1 => ("DeviceGray", ""),
                        3 => ("DeviceRGB", ""),
                        _ if info.adobe => ("DeviceCMYK", " /Decode [1 0 1 0 1 0 1 0]"),
                        _ => ("DeviceCMYK", ""),
                    };
                    objects.push(stream(
                        &format!(
                            "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /{space} \
                             /BitsPerComponent 8{decode} /Filter /DCTDecode",
                            info.width, info.height
                        ),
                        data,
                    ));
                }
                Image::Flate {
                    width,
                    height,
                    colour_space,
                    bits,
                    data,
                    smask,
                } => {
                    let mask = if smask.is_some() {
                        format!(" /SMask {} 0 R", obj + 1)
                    } else {
                        String::new()
                    };
                    objects.push(stream(
                        &format!(
                            "/Type /XObject /Subtype /Image /Width {width} /Height {height} \
                             /ColorSpace {colour_space} /BitsPerComponent {bits}{mask} \
                             /Filter /FlateDecode"
                        ),
                        data,
                    ));
                    if let Some(alpha) = smask {
                        objects.push(stream(
                            &format!(
                                "/Type /XObject /Subtype /Image /Width {width} /Height {height} \
                                 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode"
                            ),
                            alpha,
                        ));
                    }
                }
            }
        }
        let resources = if xobjects.is_empty() {
            "<< /Font << /F1 3 0 R /F2 4 0 R >> >>".to_owned()
        } else {
            format!("<< /Font << /F1 3 0 R /F2 4 0 R >> /XObject <<{xobjects} >> >>")
        };
        for (i, page) in self.pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources {resources} \
                     /Contents {} 0 R >>",
                    LETTER.0,
                    LETTER.1,
                    page_obj(i) + 1
                )
                .into_bytes(),
            );
            let mut obj = format!("<< /Length {} >>\nstream\n", page.ops.len()).into_bytes();
            obj.extend_from_slice(page.ops.as_bytes());
            obj.extend_from_slice(b"\nendstream");
            objects.push(obj);
        }
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for off in offsets {
            let _ = writeln!(table, "{off:010} 00000 n ");
        }
        let _ = writeln!(
            table,
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF",
            objects.len() + 1
        );
        out.extend_from_slice(table.as_bytes());
        out
    }
}

pub mod inspect {
    //! Reading our own output back (tests, and a check anyone can run on a
    //! bill): the cross-reference table, the pages' content streams and the
    //! text shown on them. Only for files this writer made.

    /// Byte offset of `needle` in `hay` at or after `from`.
    pub fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    }

    /// Checks the header, that `startxref` points at the table and that
    /// every in-use entry points at `N 0 obj`; returns the object count.
    pub fn xref(pdf: &[u8]) -> Result<usize, String> {
        if !pdf.starts_with(b"%PDF-1.4\n") {
            return Err("no %PDF-1.4 header".into());
        }
        let tail = find(pdf, b"startxref\n", pdf.len().saturating_sub(64)).ok_or("no startxref")?;
        let num: String = pdf[tail + 10..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|b| char::from(*b))
            .collect();
        let at: usize = num.parse().map_err(|_| "bad startxref")?;
        let rest = std::str::from_utf8(&pdf[at..]).map_err(|_| "xref not text")?;
        let mut lines = rest.lines();
        if lines.next() != Some("xref") {
            return Err(format!("startxref {at} does not point at xref"));
        }
        let head = lines.next().ok_or("no subsection")?;
        let count: usize = head
            .strip_prefix("0 ")
            .and_then(|c| c.parse().ok())
            .ok_or("bad subsection")?;
        for n in 0..count {
            let entry = lines.next().ok_or("short table")?;
            if entry.len() != 19 {
                return Err(format!("entry {n} is not 20 bytes: {entry:?}"));
            }
            if n == 0 {
                if !entry.ends_with(" f ") {
                    return Err("entry 0 not free".into());
                }
                continue;
            }
            let off: usize = entry[..10].parse().map_err(|_| "bad offset")?;
            let want = format!("{n} 0 obj");
            if pdf.get(off..off + want.len()) != Some(want.as_bytes()) {
                return Err(format!("xref entry {n} ({off}) does not point at '{want}'"));
            }
        }
        if !rest.contains("trailer") || !pdf.ends_with(b"%%EOF\n") {
            return Err("no trailer or %%EOF".into());
        }
        Ok(count - 1)
    }

    /// Each page's content stream, in page order (pages are written in
    /// order, each followed by its content).
    pub fn contents(pdf: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(p) = find(pdf, b"/Type /Page /Parent", at) {
            let Some(s) = find(pdf, b"stream\n", p) else {
                break;
            };
            let Some(e) = find(pdf, b"\nendstream", s) else {
                break;
            };
            out.push(String::from_utf8_lossy(&pdf[s + 7..e]).into_owned());
            at = e;
        }
        out
    }

    /// Decodes one PDF string literal starting after its `(`.
    fn unescape(s: &str) -> (String, usize) {
        let b = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b')' => return (out, i + 1),
                b'\\' => {
                    let n = b.get(i + 1).copied().unwrap_or(b'\\');
                    if n.is_ascii_digit() {
                        let code = s
                            .get(i + 1..i + 4)
                            .and_then(|o| u8::from_str_radix(o, 8).ok())
                            .unwrap_or(b'?');
                        out.push(char::from(code));
                        i += 4;
                    } else {
                        out.push(char::from(n));
                        i += 2;
                    }
                }
                c => {
                    out.push(char::from(c));
                    i += 1;
                }
            }
        }
        (out, i)
    }

    /// The strings shown with `Tj` on a page, in drawing order.
    pub fn texts(content: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in content.lines() {
            if let Some(p) = line.find(" Td (") {
                let (s, _) = unescape(&line[p + 5..]);
                out.push(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::inspect as check;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut d = Document::new("Test (1)");
        let mut p = Page::new();
        p.text(72, 700, Font::Bold, 14, "Hello (world) \\ año ¿qué?");
        p.line((72, 690), (300, 690), 5);
        p.dashed((72, 680), (300, 680), 5, 3);
        p.rect(72, 600, 20, 20);
        d.push(p);
        let mut q = Page::new();
        q.text_right(540, 700, Font::Regular, 10, "$1,234.56");
        d.push(q);
        d.finish()
    }

    #[test]
    fn every_xref_entry_points_at_its_object() {
        let pdf = sample();
        // catalog, pages, 2 fonts, info, 2 × (page + contents)
        assert_eq!(check::xref(&pdf), Ok(9));
        let mut broken = pdf.clone();
        // Shift every object by one byte: the table no longer matches.
        broken.insert(20, b' ');
        assert!(check::xref(&broken).is_err());
    }

    #[test]
    fn text_is_escaped_and_read_back() {
        let pdf = sample();
        let pages = check::contents(&pdf);
        assert_eq!(pages.len(), 2);
        assert_eq!(check::texts(&pages[0]), ["Hello (world) \\ año ¿qué?"]);
        assert_eq!(check::texts(&pages[1]), ["$1,234.56"]);
        assert!(pages[0].contains("\\361"), "ñ as WinAnsi octal");
        assert!(pages.iter().all(|p| p.is_ascii()));
    }

    #[test]
    fn content_length_matches_the_stream() {
        let pdf = sample();
        let text = String::from_utf8_lossy(&pdf).into_owned();
        for (i, part) in text.split("/Length ").skip(1).enumerate() {
            let n: usize = part[..part.find(' ').unwrap_or(0)].parse().unwrap_or(0);
            let start = part.find("stream\n").unwrap_or(0) + 7;
            assert_eq!(
                &part[start + n..start + n + 10],
                "\nendstream",
                "stream {i}"
            );
        }
    }

    #[test]
    fn widths_follow_helvetica_metrics() {
        // "Hello" = 722+556+222+222+556 = 2278 units → 22.78 pt at 10 pt.
        assert_eq!(text_width(Font::Regular, 10, "Hello"), 23);
        assert_eq!(text_width(Font::Bold, 10, "0000"), 23);
        assert!(text_width(Font::Bold, 10, "Wide") > text_width(Font::Regular, 10, "Wide"));
        let cut = fit(Font::Regular, 10, "A very long description of a charge", 80);
        assert!(cut.ends_with("...") && text_width(Font::Regular, 10, &cut) <= 80);
        let lines = wrap(Font::Regular, 10, "one two three four five six seven", 60);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(Font::Regular, 10, l) <= 60));
    }

    #[test]
    fn colours_and_jpeg_sizes() {
        assert_eq!(Rgb::parse("#2b6cb0"), Some(Rgb(0x2b, 0x6c, 0xb0)));
        assert_eq!(Rgb::parse("2b6cb0"), None);
        assert_eq!(Rgb(255, 0, 51).operands(), "1.000 0.000 0.200");
        // SOI, APP0 (2-byte body), SOF0 of 40×20 RGB, EOI.
        let jpeg = [
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 20,
            0x00, 40, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9,
        ];
        assert_eq!(jpeg_info(&jpeg), Some((40, 20, 3)));
        assert_eq!(jpeg_info(b"\x89PNG\r\n"), None);
        let mut d = Document::new("img");
        let img = d.add_jpeg(&jpeg).unwrap_or_else(|| panic!("jpeg refused"));
        let mut p = Page::new();
        p.image(img, 10, 10, 40, 20);
        d.push(p);
        let pdf = d.finish();
        assert_eq!(check::xref(&pdf), Ok(8));
        assert!(check::find(&pdf, b"/Filter /DCTDecode", 0).is_some());
        assert!(check::find(&pdf, b"/XObject << /Im1 6 0 R >>", 0).is_some());
    }

    /// Lengths checked on the bytes (image streams are binary).
    fn streams_have_their_length(pdf: &[u8]) {
        let mut at = 0;
        let mut seen = 0;
        while let Some(p) = check::find(pdf, b"/Length ", at) {
            let digits: String = pdf[p + 8..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|b| char::from(*b))
                .collect();
            let n: usize = digits.parse().unwrap();
            let start = check::find(pdf, b"stream\n", p).unwrap() + 7;
            assert_eq!(
                &pdf[start + n..start + n + 10],
                b"\nendstream",
                "stream at {p}"
            );
            at = start + n;
            seen += 1;
        }
        assert!(seen > 0);
    }

    #[test]
    fn png_logo_becomes_an_image_with_a_soft_mask() {
        use crate::image::tests::png;
        let rows = vec![
            vec![255, 0, 0, 255, 0, 0, 255, 0],
            vec![0, 255, 0, 128, 9, 9, 9, 255],
        ];
        let data = png((2, 2), 8, 6, &rows, &[4], &[]);
        let mut d = Document::new("logo");
        let img = d.add_image(&data).unwrap();
        assert_eq!((img.width, img.height), (2, 2));
        let jpeg = crate::image::tests::jpeg_bytes(0xc2, (30, 10), 4, true);
        let cmyk = d.add_image(&jpeg).unwrap();
        assert_eq!((cmyk.width, cmyk.height), (30, 10));
        assert!(d.add_image(b"GIF89a").is_err());
        let mut p = Page::new();
        p.image(img, 10, 10, 20, 20);
        p.image(cmyk, 40, 10, 30, 10);
        d.push(p);
        let pdf = d.finish();
        // catalog, pages, 2 fonts, info, image + mask, jpeg, page + contents
        assert_eq!(check::xref(&pdf), Ok(10));
        streams_have_their_length(&pdf);
        assert!(check::find(&pdf, b"/XObject << /Im1 6 0 R /Im2 8 0 R >>", 0).is_some());
        assert!(
            check::find(
                &pdf,
                b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /SMask 7 0 R /Filter /FlateDecode",
                0
            )
            .is_some()
        );
        assert!(
            check::find(
                &pdf,
                b"/DeviceCMYK /BitsPerComponent 8 /Decode [1 0 1 0 1 0 1 0] /Filter /DCTDecode",
                0
            )
            .is_some()
        );
        // The image stream inflates back to the colour samples, the mask
        // to the alpha.
        let at = check::find(&pdf, b"7 0 obj", 0).unwrap();
        let s = check::find(&pdf, b"stream\n", at).unwrap() + 7;
        let e = check::find(&pdf, b"\nendstream", s).unwrap();
        let alpha = miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[s..e]).unwrap();
        assert_eq!(alpha, [255, 0, 128, 255]);
        let at = check::find(&pdf, b"6 0 obj", 0).unwrap();
        let s = check::find(&pdf, b"stream\n", at).unwrap() + 7;
        let e = check::find(&pdf, b"\nendstream", s).unwrap();
        let rgb = miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[s..e]).unwrap();
        assert_eq!(rgb, [255, 0, 0, 0, 0, 255, 0, 255, 0, 9, 9, 9]);
        let pages = check::contents(&pdf);
        assert!(pages[0].contains("/Im1 Do") && pages[0].contains("/Im2 Do"));
    }

    #[test]
    fn palette_png_uses_an_indexed_colour_space() {
        use crate::image::tests::png;
        let pal = vec![0x11, 0x22, 0x33, 0xaa, 0xbb, 0xcc];
        let data = png((3, 1), 1, 3, &[vec![0b0100_0000]], &[0], &[(b"PLTE", pal)]);
        let mut d = Document::new("pal");
        d.add_png(&data).unwrap();
        d.push(Page::new());
        let pdf = d.finish();
        assert_eq!(check::xref(&pdf), Ok(8));
        assert!(
            check::find(
                &pdf,
                b"/ColorSpace [/Indexed /DeviceRGB 1 <112233aabbcc>] /BitsPerComponent 1 /Filter",
                0
            )
            .is_some()
        );
        assert!(check::find(&pdf, b"/SMask", 0).is_none());
    }
}
