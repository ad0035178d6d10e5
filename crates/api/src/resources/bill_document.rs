//! The bill document: a print-ready HTML page (letter size) with the
//! association (and its logo), account and service address, period, reads and use, line
//! items, balance carried, payments since, amount due, a 13-month usage
//! chart, any estimated-read notice and a remittance stub.

use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pages::{escape, layout};
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::reports::dollars;
use aqueduct_billing::statement::{self, Statement};
use aqueduct_core::BillId;
use aqueduct_tenant::{Access, Role};
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Html;
use axum::routing::get;
use std::fmt::Write;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/bills/{bill_id}/document",
        Role::Viewer,
        get(document),
    )
}

async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(bill_id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let id: BillId = parse_id(&bill_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let s = statement::for_bill(&tx, id).await?;
    let logo = logo_html(&tx, &caller.tenant).await?;
    tx.commit().await?;
    Ok(page(&state, &caller.tenant, &s, logo.as_deref()))
}

/// The association's logo as the bill shows it (an `<img>` fitting
/// 1.2 × 0.6 inches at 96 px/in), if it has one.
pub(crate) async fn logo_html(
    tx: &aqueduct_tenant::TenantTx,
    tenant: &aqueduct_tenant::TenantCtx,
) -> Result<Option<String>, ApiError> {
    Ok(crate::branding::load_for(tx, tenant)
        .await?
        .logo_img("", (115, 58)))
}

/// The document of `s` in `tenant` (staff and the bill's own customer);
/// `logo` from [`logo_html`].
pub(crate) fn page(
    state: &AppState,
    tenant: &aqueduct_tenant::TenantCtx,
    s: &Statement,
    logo: Option<&str>,
) -> Html<String> {
    let pay_url = format!(
        "{}/{}/pay?account={}",
        state.settings().public_url,
        tenant.slug().as_str(),
        s.account.account_number
    );
    Html(render(tenant.name(), logo, &pay_url, s))
}

/// `$8.41`, `−$8.41` (a credit).
fn money(cents: i64) -> String {
    if cents < 0 {
        format!("−${}", dollars(-cents))
    } else {
        format!("${}", dollars(cents))
    }
}

/// A bar chart of use as inline SVG (no script, no inline style: the CSP
/// allows neither).
fn chart(history: &[(chrono::NaiveDate, i64)], unit: &str) -> String {
    chart_labelled(history, unit, "Water use, last 13 bills")
}

/// [`chart`] with the accessible name in the reader's language.
pub(crate) fn chart_labelled(
    history: &[(chrono::NaiveDate, i64)],
    unit: &str,
    label: &str,
) -> String {
    let max = history.iter().map(|(_, u)| *u).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"usage\" viewBox=\"0 0 390 130\" role=\"img\" aria-label=\"{}\">",
        escape(label)
    );
    for (i, (date, units)) in history.iter().enumerate() {
        let h = units.max(&0) * 100 / max;
        let x = i * 30 + 5;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"22\" height=\"{h}\" fill=\"#2b6cb0\">\
             <title>{}: {units} {}</title></rect>\
             <text x=\"{}\" y=\"125\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            105 - h,
            date.format("%b %Y"),
            escape(unit),
            x + 11,
            date.format("%b"),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn render(association: &str, logo: Option<&str>, pay_url: &str, s: &Statement) -> String {
    let b = &s.bill;
    let a = &s.account;
    let mut h = String::new();
    let _ = write!(
        h,
        "<article class=\"bill\"><header>{}<h1>{}</h1><p>Water bill no. {}{}</p></header>",
        logo.unwrap_or(""),
        escape(association),
        b.number,
        if s.voided { " — VOIDED" } else { "" }
    );
    let address = s
        .service_address
        .as_ref()
        .map(|l| {
            format!(
                "{}, {}, {} {}",
                l.address_line1, l.city, l.state, l.postal_code
            )
        })
        .unwrap_or_default();
    let _ = write!(
        h,
        "<section><p><strong>{}</strong><br>Account {}<br>Service address: {}</p>\
         <p>Billing period {} to {} · due <strong>{}</strong></p></section>",
        escape(&a.holder_name),
        escape(&a.account_number),
        escape(&address),
        b.period_start,
        b.period_end,
        b.due_on
    );
    let _ = write!(
        h,
        "<section><h2>Meter reads</h2><table><tr><th>Previous read</th><th>This read</th>\
         <th>Use</th></tr><tr><td>{} on {}</td><td>{} on {}{}</td><td>{} {}</td></tr></table>",
        b.previous_value,
        b.read_from,
        b.current_value,
        b.read_to,
        if b.estimated { " (estimated)" } else { "" },
        b.usage_units.max(0),
        escape(&b.usage_unit)
    );
    if b.estimated {
        h.push_str(
            "<p class=\"notice\">This bill uses an <strong>estimated</strong> read; \
             the difference is settled on your next actual read.</p>",
        );
    }
    if let Some(c) = s
        .lines
        .iter()
        .find(|l| l.kind == aqueduct_rates::LineKind::EstimateCorrection)
    {
        let _ = write!(
            h,
            "<p class=\"notice\" id=\"estimate-correction\">Your meter was read on {}: \
             earlier bills estimated more water than you used, and this bill credits the \
             difference — {}.</p>",
            b.read_to,
            escape(&c.description)
        );
    }
    if let Some(c) = &s.change_out {
        let _ = write!(
            h,
            "<p class=\"notice\">Your meter was replaced on {}: meter {} read {} when \
             removed, and the new meter {} started at {}. The use above includes both \
             meters.</p>",
            c.changed_on,
            escape(&c.old_serial),
            c.old_final_value,
            escape(&c.new_serial),
            c.new_initial_value
        );
    }
    h.push_str("</section><section><h2>Charges</h2><table>");
    for l in &s.lines {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"amount\">{}</td></tr>",
            escape(&l.description),
            money(l.amount.cents)
        );
    }
    let _ = write!(
        h,
        "<tr class=\"total\"><td>This bill</td><td class=\"amount\">{}</td></tr></table></section>",
        money(b.total_cents)
    );
    let _ = write!(
        h,
        "<section><h2>Your account</h2><table>\
         <tr><td>Previous balance</td><td class=\"amount\">{}</td></tr>\
         <tr><td>Payments and credits since</td><td class=\"amount\">−{}</td></tr>\
         <tr><td>This bill</td><td class=\"amount\">{}</td></tr>\
         <tr class=\"total\"><td>Amount due by {}</td><td class=\"amount\">{}</td></tr>\
         </table><p>Pay online: <a href=\"{}\">{}</a></p>\
         <p><a class=\"button\" href=\"/api/v1/bills/{}/pdf\" download>Download PDF</a></p></section>",
        money(s.previous_balance),
        money(s.payments_since),
        money(b.total_cents),
        b.due_on,
        money(s.amount_due),
        escape(pay_url),
        escape(pay_url),
        b.id
    );
    let _ = write!(
        h,
        "<section><h2>Water use</h2>{}</section>",
        chart(&s.usage_history, &b.usage_unit)
    );
    let _ = write!(
        h,
        "<footer class=\"stub\"><p>✂ Return this part with your payment</p>\
         <p>{} · Account {} · Bill {} · Amount due {} by {}</p></footer></article>",
        escape(association),
        escape(&a.account_number),
        b.number,
        money(s.amount_due),
        b.due_on
    );
    layout(&format!("Bill {}", b.number), &h)
}
