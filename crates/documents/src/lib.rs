//! Print-ready documents. [`pdf`] is a small PDF 1.4 writer of our own
//! (the standard Helvetica fonts with WinAnsi encoding, text, lines,
//! rectangles, a cross-reference table): a bill needs nothing more, and a
//! PDF library would bring fonts, images and compression we do not use.
//! [`bill`] lays out one bill on a US-letter page with a detachable
//! remittance stub; [`qr`] turns the pay-online link into modules.

pub mod bill;
pub mod pdf;
pub mod qr;

pub use bill::{BillBranding, Lang, render_bill_pdf, render_bills_pdf};
