//! The bill as a print-ready PDF on US letter: the association's name (or
//! logo) and contact details, account and service address, period, reads
//! and use, each line item, previous balance, payments since, amount due
//! and due date, a 13-bill usage chart, an estimated-read notice when the
//! read was estimated, the pay-online link and its QR code, and a
//! remittance stub below a dashed cut line — in English or Spanish.

use crate::pdf::{self, Document, Font, Page, Rgb};
use crate::qr;
use aqueduct_billing::statement::Statement;
use chrono::{Datelike, NaiveDate};

/// The language a bill is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// `es…` is Spanish; anything else English.
    pub fn parse(code: &str) -> Lang {
        if code.trim().to_ascii_lowercase().starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }
}

/// What a bill shows about the association that sends it.
#[derive(Debug, Clone, Default)]
pub struct BillBranding {
    /// The association's name.
    pub association: String,
    /// Office phone.
    pub phone: Option<String>,
    /// Office email.
    pub email: Option<String>,
    /// Office (and remittance) address, free text; lines split on
    /// newlines or commas when long.
    pub address: Option<String>,
    /// Accent colour `#rrggbb`.
    pub colour: Option<String>,
    /// Logo, a PNG or JPEG file, printed at the top left (scaled into
    /// [`LOGO_BOX`], keeping its shape) with the name beside it.
    pub logo: Option<Vec<u8>>,
    /// The pay-online page, e.g. `https://host/cedar-creek/pay`; the
    /// account number is added as `?account=`.
    pub pay_base_url: String,
}

impl BillBranding {
    /// The pay-online link for `account_number`.
    pub fn pay_link(&self, account_number: &str) -> String {
        let mut enc = String::new();
        for b in account_number.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                enc.push(char::from(b));
            } else {
                enc.push_str(&format!("%{b:02X}"));
            }
        }
        format!("{}?account={enc}", self.pay_base_url.trim_end_matches('/'))
    }
}

/// The words on a bill.
struct Words {
    title: &'static str,
    bill_no: &'static str,
    issued: &'static str,
    voided: &'static str,
    holder: &'static str,
    account_number: &'static str,
    service_address: &'static str,
    amount_due: &'static str,
    due_by: &'static str,
    reads: &'static str,
    previous_read: &'static str,
    current_read: &'static str,
    date: &'static str,
    reading: &'static str,
    estimated: &'static str,
    usage: &'static str,
    period: &'static str,
    charges: &'static str,
    other_charges: &'static str,
    total_this_bill: &'static str,
    summary: &'static str,
    previous_balance: &'static str,
    payments_since: &'static str,
    this_bill: &'static str,
    total_due: &'static str,
    chart: &'static str,
    pay_online: &'static str,
    scan: &'static str,
    estimated_notice: &'static str,
    corrected_notice: &'static str,
    detach: &'static str,
    stub_title: &'static str,
    bill: &'static str,
    due_date: &'static str,
    enclosed: &'static str,
    mail_to: &'static str,
    payable: &'static str,
    months: [&'static str; 12],
}

const EN: Words = Words {
    title: "WATER BILL",
    bill_no: "Bill no.",
    issued: "Issued",
    voided: "VOIDED - replaced by a corrected bill",
    holder: "Account holder",
    account_number: "Account number",
    service_address: "Service address",
    amount_due: "Amount due",
    due_by: "Due by",
    reads: "Meter reads",
    previous_read: "Previous",
    current_read: "Current",
    date: "Date",
    reading: "Reading",
    estimated: "(estimated)",
    usage: "Use this period",
    period: "Service period",
    charges: "Charges this bill",
    other_charges: "Other charges",
    total_this_bill: "Total this bill",
    summary: "Account summary",
    previous_balance: "Previous balance",
    payments_since: "Payments and credits since",
    this_bill: "This bill",
    total_due: "Amount due by",
    chart: "Water use, last 13 bills",
    pay_online: "Pay online",
    scan: "Scan with your phone's camera, or visit:",
    estimated_notice: "This bill uses an ESTIMATED read. The difference will be settled on your next actual read.",
    corrected_notice: "Your meter was read: earlier bills estimated more water than you used, and this bill credits the difference.",
    detach: "Detach here and return the lower part with your payment",
    stub_title: "Payment stub",
    bill: "Bill no.",
    due_date: "Due date",
    enclosed: "Amount enclosed",
    mail_to: "Mail your payment to:",
    payable: "Make checks payable to",
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
};

const ES: Words = Words {
    title: "FACTURA DE AGUA",
    bill_no: "Factura n.º",
    issued: "Emitida",
    voided: "ANULADA - reemplazada por una factura corregida",
    holder: "Titular de la cuenta",
    account_number: "Número de cuenta",
    service_address: "Dirección del servicio",
    amount_due: "Monto a pagar",
    due_by: "Vence el",
    reads: "Lecturas del medidor",
    previous_read: "Anterior",
    current_read: "Actual",
    date: "Fecha",
    reading: "Lectura",
    estimated: "(estimada)",
    usage: "Consumo del período",
    period: "Período de servicio",
    charges: "Cargos de esta factura",
    other_charges: "Otros cargos",
    total_this_bill: "Total de esta factura",
    summary: "Resumen de la cuenta",
    previous_balance: "Saldo anterior",
    payments_since: "Pagos y créditos desde entonces",
    this_bill: "Esta factura",
    total_due: "Total a pagar antes del",
    chart: "Consumo de agua, últimas 13 facturas",
    pay_online: "Pague en línea",
    scan: "Escanee con la cámara de su teléfono o visite:",
    estimated_notice: "Esta factura usa una lectura ESTIMADA. La diferencia se ajustará con su próxima lectura real.",
    corrected_notice: "Se leyó su medidor: facturas anteriores estimaron más agua de la que usó, y esta factura acredita la diferencia.",
    detach: "Corte aquí y devuelva la parte inferior con su pago",
    stub_title: "Talón de pago",
    bill: "Factura n.º",
    due_date: "Vencimiento",
    enclosed: "Monto adjunto",
    mail_to: "Envíe su pago a:",
    payable: "Emita el cheque a nombre de",
    months: [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
    ],
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
    }
}

fn month(w: &Words, d: NaiveDate) -> &'static str {
    w.months[usize::try_from(d.month0()).unwrap_or(0)]
}

/// `Dec 20, 2026` / `20 dic 2026`.
fn date(lang: Lang, d: NaiveDate) -> String {
    let w = words(lang);
    match lang {
        Lang::En => format!("{} {}, {}", month(w, d), d.day(), d.year()),
        Lang::Es => format!("{} {} {}", d.day(), month(w, d), d.year()),
    }
}

/// `12,345`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `$1,234.56`, `-$5.00`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!(
        "{sign}${}.{:02}",
        grouped(i64::try_from(abs / 100).unwrap_or(i64::MAX)),
        abs % 100
    )
}

fn unit(lang: Lang, u: &str) -> &str {
    match (lang, u) {
        (Lang::En, "gallons") => "gallons",
        (Lang::Es, "gallons") => "galones",
        (Lang::En, "cubic_feet") => "cubic feet",
        (Lang::Es, "cubic_feet") => "pies cúbicos",
        (_, "m3") => "m³",
        (_, other) => other,
    }
}

/// Address text split into lines that fit `max` points.
fn address_lines(text: &str, size: i32, max: i32) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split('\n').map(str::trim).filter(|p| !p.is_empty()) {
        if pdf::text_width(Font::Regular, size, part) <= max {
            out.push(part.to_owned());
        } else {
            // "12 Main St, Cedar Creek, TX 78000": break after commas.
            let mut line = String::new();
            for piece in part.split(',').map(str::trim) {
                let candidate = if line.is_empty() {
                    piece.to_owned()
                } else {
                    format!("{line}, {piece}")
                };
                if line.is_empty() || pdf::text_width(Font::Regular, size, &candidate) <= max {
                    line = candidate;
                } else {
                    out.extend(pdf::wrap(Font::Regular, size, &line, max));
                    line = piece.to_owned();
                }
            }
            out.extend(pdf::wrap(Font::Regular, size, &line, max));
        }
    }
    out
}

/// A link split into pieces no wider than `max` points (links have no
/// spaces to break at).
fn chop(s: &str, size: i32, max: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for c in s.chars() {
        line.push(c);
        if pdf::text_width(Font::Regular, size, &line) > max {
            line.pop();
            out.push(std::mem::take(&mut line));
            line.push(c);
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

const LEFT: i32 = 36;
const RIGHT: i32 = 576;
/// The left column ends here; the right one starts at `COL2`.
const COL1_END: i32 = 356;
const COL2: i32 = 380;
/// The cut line.
const CUT: i32 = 216;
const GREY: Rgb = Rgb(0x55, 0x55, 0x55);
/// The header's left part (name, contact) ends here.
const HEADER_END: i32 = LEFT + 330;
/// The box a logo is scaled into, in points: 1.2 × 0.6 inches.
pub const LOGO_BOX: (i32, i32) = (86, 43);
/// The top edge of the logo.
const LOGO_TOP: i32 = 764;

/// The logo's size on the page: as large as fits [`LOGO_BOX`], keeping
/// its aspect ratio (at least 1 point each way).
fn logo_size(img: pdf::ImageRef) -> (i32, i32) {
    let (bw, bh) = (i64::from(LOGO_BOX.0), i64::from(LOGO_BOX.1));
    let (w, h) = (i64::from(img.width.max(1)), i64::from(img.height.max(1)));
    // Wider than the box's shape: full width; else full height.
    let (dw, dh) = if w * bh >= h * bw {
        (bw, (h * bw + w / 2) / w)
    } else {
        ((w * bh + h / 2) / h, bh)
    };
    (
        i32::try_from(dw.max(1)).unwrap_or(LOGO_BOX.0),
        i32::try_from(dh.max(1)).unwrap_or(LOGO_BOX.1),
    )
}
const LIGHT: Rgb = Rgb(0xee, 0xf2, 0xf7);
const BAR: Rgb = Rgb(0xa0, 0xae, 0xc0);

fn section(page: &mut Page, accent: Rgb, x: i32, end: i32, y: i32, title: &str) {
    page.fill(accent);
    page.text(x, y, Font::Bold, 11, title);
    page.stroke(accent);
    page.line((x, y - 4), (end, y - 4), 8);
    page.fill(Rgb::BLACK);
    page.stroke(Rgb::BLACK);
}

fn row(page: &mut Page, x: i32, end: i32, y: i32, font: Font, label: &str, value: &str) {
    let value_w = pdf::text_width(font, 10, value);
    page.text(
        x,
        y,
        font,
        10,
        &pdf::fit(font, 10, label, end - x - value_w - 8),
    );
    page.text_right(end, y, font, 10, value);
}

/// A boxed notice in the left column below `y`; returns the `y` after it.
fn notice(p: &mut Page, y: i32, text: &str) -> i32 {
    let y = y - 4;
    let lines = pdf::wrap(Font::Bold, 9, text, COL1_END - LEFT - 16);
    let h = i32::try_from(lines.len()).unwrap_or(2) * 11 + 10;
    p.fill(Rgb(0xfd, 0xf0, 0xd5));
    p.rect(LEFT, y - h, COL1_END - LEFT, h);
    p.stroke(Rgb(0xc0, 0x7a, 0x00));
    p.frame(LEFT, y - h, COL1_END - LEFT, h, 8);
    p.stroke(Rgb::BLACK);
    p.fill(Rgb::BLACK);
    let mut ny = y - 13;
    for l in &lines {
        p.text(LEFT + 8, ny, Font::Bold, 9, l);
        ny -= 11;
    }
    y - h - 6
}

/// Lays out one bill on one page.
fn bill_page(logo: Option<pdf::ImageRef>, s: &Statement, b: &BillBranding, lang: Lang) -> Page {
    let w = words(lang);
    let bill = &s.bill;
    let acct = &s.account;
    let accent = b
        .colour
        .as_deref()
        .and_then(Rgb::parse)
        .unwrap_or(Rgb(0x1f, 0x4e, 0x79));
    let pay = b.pay_link(&acct.account_number);
    let mut p = Page::new();
    p.comment(&format!(
        "bill {} account {}",
        bill.number, acct.account_number
    ));

    // Header: logo or name, contact; title and bill number on the right.
    p.fill(accent);
    p.rect(0, 772, pdf::LETTER.0, 20);
    p.fill(Rgb::BLACK);
    // Where the name and contact lines start, and how wide they may be.
    let (mut x, mut y, mut size_max, mut size_min) = (LEFT, 742, 18, 12);
    if let Some(img) = logo {
        let (lw, lh) = logo_size(img);
        p.comment("logo");
        p.image(img, LEFT, LOGO_TOP - lh, lw, lh);
        x = LEFT + lw + 10;
        y = 750;
        size_max = 14;
        size_min = 10;
    }
    let width = HEADER_END - x;
    // The largest size from `size_max` down to `size_min` that fits.
    let size = (size_min..=size_max)
        .rev()
        .find(|s| pdf::text_width(Font::Bold, *s, &b.association) <= width)
        .unwrap_or(size_min);
    p.fill(accent);
    p.text(
        x,
        y,
        Font::Bold,
        size,
        &pdf::fit(Font::Bold, size, &b.association, width),
    );
    p.fill(Rgb::BLACK);
    y -= if logo.is_some() { 14 } else { 16 };
    let contact: Vec<&str> = [b.phone.as_deref(), b.email.as_deref()]
        .into_iter()
        .flatten()
        .filter(|c| !c.trim().is_empty())
        .collect();
    p.fill(GREY);
    if !contact.is_empty() {
        p.text(
            x,
            y,
            Font::Regular,
            9,
            &pdf::fit(Font::Regular, 9, &contact.join("  |  "), width),
        );
        y -= 11;
    }
    if let Some(addr) = b.address.as_deref() {
        for line in address_lines(addr, 9, width).iter().take(2) {
            p.text(x, y, Font::Regular, 9, line);
            y -= 11;
        }
    }
    p.fill(accent);
    p.text_right(RIGHT, 742, Font::Bold, 16, w.title);
    p.fill(Rgb::BLACK);
    p.text_right(
        RIGHT,
        726,
        Font::Regular,
        10,
        &format!("{} {}", w.bill_no, bill.number),
    );
    p.text_right(
        RIGHT,
        713,
        Font::Regular,
        10,
        &format!("{} {}", w.issued, date(lang, bill.issued_at.date_naive())),
    );
    if s.voided {
        p.fill(Rgb(0xb0, 0x1c, 0x1c));
        p.text_right(RIGHT, 700, Font::Bold, 10, w.voided);
        p.fill(Rgb::BLACK);
    }
    p.stroke(GREY);
    p.line((LEFT, 692), (RIGHT, 692), 5);
    p.stroke(Rgb::BLACK);

    // Who, where, how much.
    let mut y = 676;
    p.fill(GREY);
    p.text(LEFT, y, Font::Bold, 8, &w.holder.to_uppercase());
    p.text(206, y, Font::Bold, 8, &w.account_number.to_uppercase());
    p.fill(Rgb::BLACK);
    y -= 13;
    p.text(
        LEFT,
        y,
        Font::Bold,
        10,
        &pdf::fit(Font::Bold, 10, &acct.holder_name, 160),
    );
    p.text(206, y, Font::Bold, 12, &acct.account_number);
    let mailing: Vec<String> = [
        acct.mailing_line1.clone(),
        acct.mailing_line2.clone(),
        match (
            &acct.mailing_city,
            &acct.mailing_state,
            &acct.mailing_postal_code,
        ) {
            (Some(c), st, z) => Some(format!(
                "{c}, {} {}",
                st.as_deref().unwrap_or(""),
                z.as_deref().unwrap_or("")
            )),
            _ => None,
        },
    ]
    .into_iter()
    .flatten()
    .filter(|l| !l.trim().is_empty())
    .collect();
    let mut my = y - 12;
    for line in &mailing {
        p.text(
            LEFT,
            my,
            Font::Regular,
            9,
            &pdf::fit(Font::Regular, 9, line, 160),
        );
        my -= 11;
    }
    p.fill(GREY);
    p.text(
        206,
        y - 18,
        Font::Bold,
        8,
        &w.service_address.to_uppercase(),
    );
    p.fill(Rgb::BLACK);
    let service: Vec<String> = s
        .service_address
        .as_ref()
        .map(|l| {
            let mut v = vec![l.address_line1.clone()];
            v.extend(l.address_line2.clone().filter(|x| !x.trim().is_empty()));
            v.push(format!("{}, {} {}", l.city, l.state, l.postal_code));
            v
        })
        .unwrap_or_default();
    let mut sy = y - 30;
    for line in &service {
        p.text(
            206,
            sy,
            Font::Regular,
            9,
            &pdf::fit(Font::Regular, 9, line, 160),
        );
        sy -= 11;
    }
    // The amount-due box.
    p.fill(LIGHT);
    p.rect(396, 612, 180, 72);
    p.fill(accent);
    p.rect(396, 612, 4, 72);
    p.fill(GREY);
    p.text(410, 668, Font::Bold, 9, &w.amount_due.to_uppercase());
    p.fill(Rgb::BLACK);
    p.text(410, 642, Font::Bold, 22, &money(s.amount_due));
    p.text(
        410,
        622,
        Font::Regular,
        10,
        &format!("{} {}", w.due_by, date(lang, bill.due_on)),
    );

    // Left column: reads, charges.
    let mut y = 586;
    section(&mut p, accent, LEFT, COL1_END, y, w.reads);
    y -= 18;
    p.fill(GREY);
    p.text(120, y, Font::Bold, 8, &w.date.to_uppercase());
    p.text_right(300, y, Font::Bold, 8, &w.reading.to_uppercase());
    p.fill(Rgb::BLACK);
    y -= 13;
    p.text(LEFT, y, Font::Regular, 10, w.previous_read);
    p.text(120, y, Font::Regular, 10, &date(lang, bill.read_from));
    p.text_right(300, y, Font::Regular, 10, &grouped(bill.previous_value));
    y -= 13;
    p.text(LEFT, y, Font::Regular, 10, w.current_read);
    p.text(120, y, Font::Regular, 10, &date(lang, bill.read_to));
    p.text_right(300, y, Font::Regular, 10, &grouped(bill.current_value));
    if bill.estimated {
        p.fill(Rgb(0xb0, 0x1c, 0x1c));
        p.text(304, y, Font::Bold, 7, w.estimated);
        p.fill(Rgb::BLACK);
    }
    y -= 15;
    row(
        &mut p,
        LEFT,
        COL1_END,
        y,
        Font::Bold,
        w.usage,
        &format!(
            "{} {}",
            grouped(bill.usage_units.max(0)),
            unit(lang, &bill.usage_unit)
        ),
    );
    y -= 13;
    row(
        &mut p,
        LEFT,
        COL1_END,
        y,
        Font::Regular,
        w.period,
        &format!(
            "{} - {}",
            date(lang, bill.period_start),
            date(lang, bill.period_end)
        ),
    );
    y -= 12;
    if bill.estimated {
        y = notice(&mut p, y, w.estimated_notice);
    }
    // An actual read that trued up over-estimates: say so, with the
    // correction line's numbers in full (the charges column cuts long
    // descriptions).
    if let Some(c) = s
        .lines
        .iter()
        .find(|l| l.kind == aqueduct_rates::LineKind::EstimateCorrection)
    {
        y = notice(
            &mut p,
            y,
            &format!("{} {}.", w.corrected_notice, c.description),
        );
    }
    y -= 14;
    section(&mut p, accent, LEFT, COL1_END, y, w.charges);
    y -= 17;
    // Room for the lines above the total and the cut line; the rest, if
    // any, is summed as one line so the total still adds up.
    let room = usize::try_from((y - (CUT + 40)) / 13).unwrap_or(1).max(1);
    let shown = if s.lines.len() > room {
        room - 1
    } else {
        s.lines.len()
    };
    for l in &s.lines[..shown] {
        row(
            &mut p,
            LEFT,
            COL1_END,
            y,
            Font::Regular,
            &l.description,
            &money(l.amount.cents),
        );
        y -= 13;
    }
    if shown < s.lines.len() {
        let rest: i64 = s.lines[shown..].iter().map(|l| l.amount.cents).sum();
        row(
            &mut p,
            LEFT,
            COL1_END,
            y,
            Font::Regular,
            &format!("{} ({})", w.other_charges, s.lines.len() - shown),
            &money(rest),
        );
        y -= 13;
    }
    p.line((COL1_END - 120, y + 9), (COL1_END, y + 9), 5);
    y -= 3;
    row(
        &mut p,
        LEFT,
        COL1_END,
        y,
        Font::Bold,
        w.total_this_bill,
        &money(bill.total_cents),
    );

    // Right column: usage chart, account summary, pay online.
    let mut y = 586;
    section(&mut p, accent, COL2, RIGHT, y, w.chart);
    y -= 14;
    let chart_top = y;
    let chart_h = 70;
    let base = chart_top - chart_h;
    let max = s
        .usage_history
        .iter()
        .map(|(_, u)| *u)
        .max()
        .unwrap_or(0)
        .max(1);
    p.fill(GREY);
    p.text(
        COL2,
        chart_top + 1 - 8,
        Font::Regular,
        6,
        &format!("{} {}", grouped(max), unit(lang, &bill.usage_unit)),
    );
    p.stroke(GREY);
    p.line((COL2, base), (RIGHT, base), 5);
    p.stroke(Rgb::BLACK);
    let n = s.usage_history.len();
    for (i, (d, units)) in s.usage_history.iter().enumerate() {
        let slot = i32::try_from(i).unwrap_or(0) * 15;
        let x = COL2 + 2 + slot;
        let h = i32::try_from((*units).max(0) * i64::from(chart_h - 12) / max).unwrap_or(0);
        p.fill(if i + 1 == n { accent } else { BAR });
        if h > 0 {
            p.rect(x, base, 11, h);
        }
        p.fill(GREY);
        p.text_center(x + 6, base - 8, Font::Regular, 6, month(w, *d));
    }
    p.fill(Rgb::BLACK);
    y = base - 26;
    section(&mut p, accent, COL2, RIGHT, y, w.summary);
    y -= 17;
    row(
        &mut p,
        COL2,
        RIGHT,
        y,
        Font::Regular,
        w.previous_balance,
        &money(s.previous_balance),
    );
    y -= 13;
    row(
        &mut p,
        COL2,
        RIGHT,
        y,
        Font::Regular,
        w.payments_since,
        &money(-s.payments_since),
    );
    y -= 13;
    row(
        &mut p,
        COL2,
        RIGHT,
        y,
        Font::Regular,
        w.this_bill,
        &money(bill.total_cents),
    );
    y -= 4;
    p.line((RIGHT - 90, y + 1), (RIGHT, y + 1), 5);
    y -= 11;
    row(
        &mut p,
        COL2,
        RIGHT,
        y,
        Font::Bold,
        &format!("{} {}", w.total_due, date(lang, bill.due_on)),
        &money(s.amount_due),
    );
    y -= 24;
    section(&mut p, accent, COL2, RIGHT, y, w.pay_online);
    y -= 10;
    if let Some(code) = qr::encode(&pay) {
        // 3 points a module when it fits in 100 points, else 2.
        let width = i32::try_from(code.width).unwrap_or(0);
        let m = if width * 3 <= 100 { 3 } else { 2 };
        let top = y - 4;
        p.comment(&format!("qr {} {} {m} {}", COL2 + 8, top, code.width));
        for (row_i, yy) in (0..code.width).zip(0..) {
            let mut x = 0;
            while x < code.width {
                if code.is_dark(x, row_i) {
                    let start = x;
                    while x < code.width && code.is_dark(x, row_i) {
                        x += 1;
                    }
                    let (sx, len) = (
                        i32::try_from(start).unwrap_or(0),
                        i32::try_from(x - start).unwrap_or(0),
                    );
                    p.rect(COL2 + 8 + sx * m, top - (yy + 1) * m, len * m, m);
                } else {
                    x += 1;
                }
            }
        }
        p.comment("end qr");
        let tx = COL2 + 16 + width * m;
        let mut ty = top - 8;
        for l in pdf::wrap(Font::Regular, 8, w.scan, RIGHT - tx) {
            p.text(tx, ty, Font::Regular, 8, &l);
            ty -= 10;
        }
        p.fill(accent);
        for l in chop(&pay, 8, RIGHT - tx) {
            p.text(tx, ty, Font::Regular, 8, &l);
            ty -= 10;
        }
        p.fill(Rgb::BLACK);
    } else {
        p.text(
            COL2,
            y - 10,
            Font::Regular,
            8,
            &pdf::fit(Font::Regular, 8, &pay, 196),
        );
    }

    // The cut line and the remittance stub.
    p.fill(GREY);
    p.text_center(306, CUT + 5, Font::Regular, 7, w.detach);
    p.stroke(GREY);
    p.dashed((LEFT - 18, CUT), (RIGHT + 18, CUT), 7, 4);
    p.stroke(Rgb::BLACK);
    p.fill(accent);
    p.text(LEFT, CUT - 28, Font::Bold, 13, w.stub_title);
    p.fill(Rgb::BLACK);
    p.text(
        LEFT,
        CUT - 42,
        Font::Regular,
        9,
        &pdf::fit(Font::Regular, 9, &b.association, 250),
    );
    let mut y = CUT - 62;
    let stub_rows = [
        (w.account_number, acct.account_number.clone(), Font::Bold),
        (
            w.holder,
            pdf::fit(Font::Regular, 10, &acct.holder_name, 140),
            Font::Regular,
        ),
        (w.bill, bill.number.to_string(), Font::Regular),
        (w.due_date, date(lang, bill.due_on), Font::Regular),
        (w.amount_due, money(s.amount_due), Font::Bold),
    ];
    for (label, value, font) in &stub_rows {
        p.text(LEFT, y, Font::Regular, 10, label);
        p.text_right(286, y, *font, 10, value);
        y -= 14;
    }
    y -= 8;
    p.text(LEFT, y, Font::Bold, 10, w.enclosed);
    p.frame(186, y - 6, 100, 20, 8);
    p.text(190, y, Font::Regular, 10, "$");
    // Mail-to block where a window envelope shows it.
    let mut my = CUT - 62;
    p.fill(GREY);
    p.text(330, my, Font::Bold, 8, &w.mail_to.to_uppercase());
    p.fill(Rgb::BLACK);
    my -= 16;
    p.text(
        342,
        my,
        Font::Bold,
        11,
        &pdf::fit(Font::Bold, 11, &b.association, 230),
    );
    my -= 14;
    if let Some(addr) = b.address.as_deref() {
        for line in address_lines(addr, 11, 230).iter().take(3) {
            p.text(342, my, Font::Regular, 11, line);
            my -= 14;
        }
    }
    p.fill(GREY);
    p.text(
        330,
        48,
        Font::Regular,
        8,
        &pdf::fit(
            Font::Regular,
            8,
            &format!("{} {}", w.payable, b.association),
            246,
        ),
    );
    p.fill(Rgb::BLACK);
    p
}

/// One bill as a PDF in `lang`.
pub fn render_bill_pdf(statement: &Statement, branding: &BillBranding, lang: Lang) -> Vec<u8> {
    render_bills_pdf(
        &format!("Bill {}", statement.bill.number),
        &[(statement, lang)],
        branding,
    )
}

/// Several bills in one PDF, each on its own page, in the order given
/// (the print-and-mail batch).
pub fn render_bills_pdf(
    title: &str,
    bills: &[(&Statement, Lang)],
    branding: &BillBranding,
) -> Vec<u8> {
    let mut doc = Document::new(title);
    // A logo that cannot be read (it was checked at upload, so this is
    // unexpected) leaves the name alone in the header.
    let logo = branding
        .logo
        .as_deref()
        .and_then(|data| doc.add_image(data).ok());
    for (s, lang) in bills {
        let page = bill_page(logo, s, branding, *lang);
        doc.push(page);
    }
    doc.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pdf::inspect as check;
    use aqueduct_billing::entity::{account, bill, service_location};
    use aqueduct_core::Money;
    use aqueduct_rates::{LineItem, LineKind};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn line(description: &str, cents: i64) -> LineItem {
        LineItem {
            service: None,
            kind: LineKind::FlatFee,
            description: description.into(),
            quantity: None,
            unit: None,
            rate: None,
            amount: Money::usd(cents),
            exact_amount: rust_decimal::Decimal::new(cents, 2),
            version: None,
        }
    }

    /// A realistic statement: five lines, $61.60 due.
    pub(crate) fn statement(number: &str, estimated: bool) -> Statement {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single();
        let now = now.unwrap_or_else(|| panic!("date"));
        let tenant = Uuid::nil();
        let lines = vec![
            line("Water base charge, 5/8\" meter", 2_250),
            line("Water use 0-2,000 gal @ $4.10/1,000 gal", 820),
            line("Water use 2,001-10,000 gal @ $5.25/1,000 gal", 2_100),
            line("Sewer, 80% of water", 960),
            line("State regulatory assessment 0.5%", 30),
        ];
        let total: i64 = lines.iter().map(|l| l.amount.cents).sum();
        Statement {
            bill: bill::Model {
                tenant_id: tenant,
                id: Uuid::now_v7(),
                bill_run_id: Uuid::now_v7(),
                account_id: Uuid::now_v7(),
                meter_id: Uuid::now_v7(),
                number: 1207,
                revision: 0,
                period_start: day("2026-11-01"),
                period_end: day("2026-11-30"),
                read_from: day("2026-10-28"),
                read_to: day("2026-11-27"),
                previous_value: 10_000,
                current_value: 16_000,
                usage_units: 6_000,
                usage_unit: "gallons".into(),
                estimated,
                total_cents: total,
                lines: String::new(),
                due_on: day("2026-12-20"),
                issued_at: now,
            },
            voided: false,
            change_out: None,
            account: account::Model {
                tenant_id: tenant,
                id: Uuid::now_v7(),
                account_number: number.into(),
                holder_name: "María Núñez".into(),
                co_holder_name: None,
                email: None,
                phone: None,
                mailing_line1: Some("PO Box 12".into()),
                mailing_line2: None,
                mailing_city: Some("Cedar Creek".into()),
                mailing_state: Some("TX".into()),
                mailing_postal_code: Some("78612".into()),
                status: "active".into(),
                opened_on: day("2020-01-01"),
                closed_at: None,
                paperless: false,
                autopay: false,
                notes: None,
                created_at: now,
                updated_at: now,
            },
            service_address: Some(service_location::Model {
                tenant_id: tenant,
                id: Uuid::now_v7(),
                address_line1: "418 Pecan Hollow Rd".into(),
                address_line2: None,
                city: "Cedar Creek".into(),
                state: "TX".into(),
                postal_code: "78612".into(),
                route: Some("R1".into()),
                sequence: Some(10),
                status: "active".into(),
                created_at: now,
            }),
            lines,
            previous_balance: 5_830,
            payments_since: 5_830,
            amount_due: total,
            usage_history: (0..13)
                .map(|i| {
                    let d = day("2025-11-27") + chrono::Months::new(i);
                    (d, 3_000 + i64::from(i % 5) * 1_100)
                })
                .collect(),
        }
    }

    pub(crate) fn branding() -> BillBranding {
        BillBranding {
            association: "Cedar Creek Water Supply Corporation".into(),
            phone: Some("(512) 555-0134".into()),
            email: Some("office@cedarcreek.example".into()),
            address: Some("PO Box 88, Cedar Creek, TX 78612".into()),
            colour: Some("#1d5c8c".into()),
            logo: None,
            pay_base_url: "https://pay.example.org/cedar-creek/pay".into(),
        }
    }

    /// Decodes the QR code drawn on a page from its rectangles.
    pub(crate) fn page_qr(content: &str) -> Option<String> {
        let start = content.find("% qr ")?;
        let end = content[start..].find("% end qr")? + start;
        let head: Vec<i32> = content[start + 5..]
            .lines()
            .next()?
            .split(' ')
            .filter_map(|n| n.parse().ok())
            .collect();
        let (x0, top, m, width) = (head[0], head[1], head[2], head[3]);
        let side = width * m + 8 * m;
        let (left, upper) = (x0 - 4 * m, top + 4 * m);
        let mut dark = vec![false; usize::try_from(side * side).ok()?];
        for op in content[start..end].lines().filter(|l| l.ends_with(" re f")) {
            let n: Vec<i32> = op.split(' ').filter_map(|v| v.parse().ok()).collect();
            for y in n[1]..n[1] + n[3] {
                for x in n[0]..n[0] + n[2] {
                    let (px, py) = (x - left, upper - 1 - y);
                    dark[usize::try_from(py * side + px).ok()?] = true;
                }
            }
        }
        let side = usize::try_from(side).ok()?;
        crate::qr::decode::image(side, side, |x, y| dark[y * side + x])
    }

    #[test]
    fn a_bill_shows_what_the_customer_must_know() {
        let s = statement("100-0042", false);
        let pdf = render_bill_pdf(&s, &branding(), Lang::En);
        // `AQ_SAMPLE_PDF=/tmp/bill.pdf` keeps the sample to look at.
        if let Some(path) = std::env::var_os("AQ_SAMPLE_PDF") {
            std::fs::write(path, &pdf).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(check::xref(&pdf).is_ok(), "{:?}", check::xref(&pdf));
        let pages = check::contents(&pdf);
        assert_eq!(pages.len(), 1);
        let text = check::texts(&pages[0]);
        let has = |t: &str| text.iter().any(|x| x == t);
        assert!(has("100-0042"), "{text:?}");
        assert!(has("$61.60"), "amount due: {text:?}");
        assert!(has("Due by Dec 20, 2026"));
        assert!(has("Cedar Creek Water Supply Corporation"));
        assert!(has("418 Pecan Hollow Rd"));
        assert!(has("Water use 2,001-10,000 gal @ $5.25/1,000 gal"));
        assert!(has("$21.00"));
        assert!(has("6,000 gallons"));
        assert!(has("Previous balance") && has("-$58.30"));
        assert!(has("Payment stub"));
        assert!(has("PO Box 88, Cedar Creek, TX 78612"));
        assert!(!text.iter().any(|t| t.contains("ESTIMATED")));
        // The cut line is dashed.
        assert!(pages[0].contains("[4 4] 0 d"));
        // 13 usage bars plus the QR code's runs.
        assert_eq!(
            text.iter()
                .filter(|t| t.len() == 3 && t.chars().all(char::is_alphabetic))
                .count(),
            13
        );
    }

    #[test]
    fn a_logo_is_printed_top_left_in_its_box_with_the_name_beside_it() {
        use crate::image::tests::png;
        // A 200×50 RGBA logo (4:1, wider than the 2:1 box): full box width.
        let rows: Vec<Vec<u8>> = (0..50u8)
            .map(|y| (0..200u8).flat_map(|x| [x, y, 90, 255 - y]).collect())
            .collect();
        let logo = png((200, 50), 8, 6, &rows, &[1, 4], &[]);
        let b = BillBranding {
            logo: Some(logo),
            ..branding()
        };
        let s = statement("100-0042", false);
        let pdf = render_bills_pdf("two", &[(&s, Lang::En), (&s, Lang::Es)], &b);
        if let Some(path) = std::env::var_os("AQ_SAMPLE_PDF_LOGO") {
            std::fs::write(path, &pdf).unwrap_or_else(|e| panic!("{e}"));
        }
        // Catalog, pages, 2 fonts, info, logo + its mask (once for both
        // pages), 2 × (page + contents).
        assert_eq!(check::xref(&pdf), Ok(11));
        assert!(check::find(&pdf, b"/Subtype /Image /Width 200 /Height 50", 0).is_some());
        assert!(check::find(&pdf, b"/SMask 7 0 R", 0).is_some());
        let pages = check::contents(&pdf);
        assert_eq!(pages.len(), 2);
        for page in &pages {
            // 86 × 22 points (4:1), its top edge at 764, at the left margin.
            assert!(page.contains("q 86 0 0 22 36 742 cm /Im1 Do Q"), "{page}");
            let text = check::texts(page);
            assert!(
                text.iter()
                    .any(|t| t == "Cedar Creek Water Supply Corporation")
            );
        }
        // The name starts right of the logo.
        assert!(
            pages[0].contains(" 132 750 Td (Cedar Creek"),
            "{}",
            pages[0]
        );
        // A tall logo fills the box's height instead.
        let tall = pdf::ImageRef::for_tests(10, 40);
        assert_eq!(logo_size(tall), (11, 43));
        assert_eq!(logo_size(pdf::ImageRef::for_tests(86, 43)), (86, 43));
        // An unreadable logo leaves the name where it always was.
        let broken = BillBranding {
            logo: Some(b"\x89PNG\r\n\x1a\nnonsense".to_vec()),
            ..branding()
        };
        let pdf = render_bill_pdf(&s, &broken, Lang::En);
        assert_eq!(check::xref(&pdf), Ok(7));
        assert!(check::contents(&pdf)[0].contains(" 36 742 Td (Cedar Creek"));
    }

    #[test]
    fn the_qr_code_on_the_page_decodes_to_the_pay_link() {
        let s = statement("100-0042", false);
        let pdf = render_bill_pdf(&s, &branding(), Lang::En);
        let pages = check::contents(&pdf);
        assert_eq!(
            page_qr(&pages[0]).as_deref(),
            Some("https://pay.example.org/cedar-creek/pay?account=100-0042")
        );
        let text = check::texts(&pages[0]).join("");
        assert!(text.contains("pay.example.org/cedar-creek/pay?account=100-0042"));
    }

    #[test]
    fn an_estimate_correction_is_explained_in_full_on_the_page() {
        let mut s = statement("8", false);
        let description =
            "Correction of estimated use: 9,000 gallons billed on estimates, 5,000 used";
        s.lines.push(LineItem {
            kind: LineKind::EstimateCorrection,
            quantity: Some(rust_decimal::Decimal::from(-4_000)),
            ..line(description, -1_640)
        });
        s.bill.total_cents += -1_640;
        s.bill.usage_units = -4_000;
        let pdf = render_bill_pdf(&s, &branding(), Lang::En);
        let text = check::texts(&check::contents(&pdf)[0]).join(" ");
        // The notice carries both numbers (wrapped over its lines).
        assert!(
            text.contains("estimated more water than you used"),
            "{text}"
        );
        assert!(text.contains("9,000 gallons billed on") && text.contains("5,000 used"));
        assert!(text.contains("-$16.40"), "{text}");
        // No negative use printed: the correction line says what happened.
        assert!(!text.contains("-4,000"), "{text}");
        // Without a correction there is no such notice.
        let plain = render_bill_pdf(&statement("9", false), &branding(), Lang::En);
        let plain = check::texts(&check::contents(&plain)[0]).join(" ");
        assert!(!plain.contains("estimated more water"));
    }

    #[test]
    fn estimated_reads_are_flagged_and_spanish_is_spanish() {
        let s = statement("7", true);
        let pdf = render_bill_pdf(&s, &branding(), Lang::Es);
        if let Some(path) = std::env::var_os("AQ_SAMPLE_PDF_ES") {
            std::fs::write(path, &pdf).unwrap_or_else(|e| panic!("{e}"));
        }
        let pages = check::contents(&pdf);
        let text = check::texts(&pages[0]);
        let has = |t: &str| text.iter().any(|x| x == t);
        assert!(has("FACTURA DE AGUA"), "{text:?}");
        assert!(has("Vence el 20 dic 2026"));
        assert!(has("(estimada)"));
        assert!(text.iter().any(|t| t.contains("lectura ESTIMADA")));
        assert!(has("Talón de pago"));
        assert!(has("6,000 galones"));
        // á and ó travel as WinAnsi octal escapes.
        assert!(pages[0].contains("Tal\\363n"));
    }

    #[test]
    fn many_lines_still_add_up_on_one_page() {
        let mut s = statement("9", true);
        s.lines = (0..40).map(|i| line(&format!("Charge {i}"), 100)).collect();
        s.bill.total_cents = 4_000;
        let pdf = render_bill_pdf(&s, &branding(), Lang::En);
        let pages = check::contents(&pdf);
        assert_eq!(pages.len(), 1);
        let text = check::texts(&pages[0]);
        let other = text.iter().position(|t| t.starts_with("Other charges ("));
        let other = other.unwrap_or_else(|| panic!("{text:?}"));
        let shown = text.iter().filter(|t| t.starts_with("Charge ")).count();
        assert_eq!(text[other], format!("Other charges ({})", 40 - shown));
        assert_eq!(
            text[other + 1],
            money(100 * i64::try_from(40 - shown).unwrap_or(0))
        );
        assert!(text.iter().any(|t| t == "$40.00"));
    }

    #[test]
    fn batch_puts_each_bill_on_its_own_page_in_order() {
        let (a, b, c) = (
            statement("A-1", false),
            statement("B-2", false),
            statement("C-3", true),
        );
        let pdf = render_bills_pdf(
            "Batch",
            &[(&a, Lang::En), (&b, Lang::Es), (&c, Lang::En)],
            &branding(),
        );
        assert!(check::xref(&pdf).is_ok());
        let pages = check::contents(&pdf);
        assert_eq!(pages.len(), 3);
        for (page, number) in pages.iter().zip(["A-1", "B-2", "C-3"]) {
            assert!(check::texts(page).iter().any(|t| t == number));
        }
        assert!(String::from_utf8_lossy(&pdf).contains("/Count 3"));
    }

    #[test]
    fn formats() {
        assert_eq!(money(123_456_789), "$1,234,567.89");
        assert_eq!(money(-500), "-$5.00");
        assert_eq!(money(7), "$0.07");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(date(Lang::Es, day("2026-01-05")), "5 ene 2026");
        assert_eq!(Lang::parse("es-MX"), Lang::Es);
        assert_eq!(Lang::parse("fr"), Lang::En);
        let b = branding();
        assert_eq!(
            b.pay_link("A B"),
            "https://pay.example.org/cedar-creek/pay?account=A%20B"
        );
    }
}
