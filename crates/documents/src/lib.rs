//! Print-ready documents. [`pdf`] is a small PDF 1.4 writer of our own
//! (the standard Helvetica fonts with WinAnsi encoding, text, lines,
//! rectangles, images, a cross-reference table): a bill needs nothing
//! more, and a PDF library would bring fonts and much else we do not use.
//! [`image`] reads the association's logo (PNG or JPEG) by hand; the only
//! dependency for it is `miniz_oxide` (zlib inflate/deflate).
//! [`bill`] lays out one bill on a US-letter page with a detachable
//! remittance stub; [`qr`] turns the pay-online link into modules.

pub mod bill;
pub mod image;
pub mod pdf;
pub mod qr;

pub use bill::{BillBranding, Lang, render_bill_pdf, render_bills_pdf};
