//! The bill as a PDF: one bill for staff, the print-and-mail batch of a
//! run (non-paperless customers, route order, one page each), and the
//! attachment of "bill ready" mails for associations that chose it.

use super::notifications::paper_bills;
use super::parse_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::state::AppState;
use aqueduct_billing::statement::{self, Statement};
use aqueduct_core::{AccountId, BillId, BillRunId};
use aqueduct_documents::{BillBranding, Lang, render_bill_pdf, render_bills_pdf};
use aqueduct_notify::deliver::{AttachFuture, Attachments};
use aqueduct_notify::{Attachment, Kind, prefs};
use aqueduct_tenant::{Access, Db, Role, TenantCtx, TenantTx};
use axum::extract::{Path, Query, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(
        Method::GET,
        "/api/v1/bills/{bill_id}/pdf",
        Role::Viewer,
        get(bill_pdf),
    )
    .tenant(
        Method::GET,
        "/api/v1/bill-runs/{run_id}/print-mail.pdf",
        Role::Viewer,
        get(print_mail_pdf),
    )
}

/// What a bill shows about `tenant`: name, contact details, colour and
/// the uploaded logo from its branding; the pay-online page under
/// `public_url`. (A logo given only as a path on the server is not
/// printed: the PDF is made from what the database holds.)
pub(crate) async fn branding_for(
    tx: &TenantTx,
    tenant: &TenantCtx,
    public_url: &str,
) -> Result<BillBranding, ApiError> {
    let b = crate::branding::load(tx).await?;
    Ok(BillBranding {
        association: tenant.name().to_owned(),
        phone: b.contact_phone,
        email: b.contact_email,
        address: b.contact_address,
        colour: b.colour,
        logo: crate::branding::logo::file(tx).await?,
        pay_base_url: format!(
            "{}/{}/pay",
            public_url.trim_end_matches('/'),
            tenant.slug().as_str()
        ),
    })
}

/// The customer's language: their choice, else the association's
/// default, else English.
pub(crate) async fn lang_for(tx: &TenantTx, account: AccountId) -> Result<Lang, ApiError> {
    if let Some(l) = prefs::get(tx, account).await?.locale {
        return Ok(Lang::parse(&l));
    }
    Ok(prefs::settings(tx)
        .await?
        .map(|s| Lang::parse(&s.default_locale))
        .unwrap_or_default())
}

fn pdf_response(filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    /// `en` or `es`; the customer's language when absent.
    lang: Option<String>,
}

fn chosen(q: &LangQuery) -> Result<Option<Lang>, ApiError> {
    match q.lang.as_deref() {
        None | Some("") => Ok(None),
        Some("en") => Ok(Some(Lang::En)),
        Some("es") => Ok(Some(Lang::Es)),
        Some(_) => Err(ApiError::Invalid("lang must be en or es".into())),
    }
}

/// `GET /api/v1/bills/{bill_id}/pdf[?lang=en|es]` (viewer+).
async fn bill_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(bill_id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let id: BillId = parse_id(&bill_id)?;
    let forced = chosen(&q)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let s = statement::for_bill(&tx, id).await?;
    let lang = match forced {
        Some(l) => l,
        None => lang_for(&tx, AccountId::from_uuid(s.account.id)).await?,
    };
    let branding = branding_for(&tx, &caller.tenant, &state.settings().public_url).await?;
    tx.commit().await?;
    let bytes = render_bill_pdf(&s, &branding, lang);
    Ok(pdf_response(&format!("bill-{}.pdf", s.bill.number), bytes))
}

/// `GET /api/v1/bill-runs/{run_id}/print-mail.pdf` (viewer+): the bills
/// of the run's non-paperless customers in route order, one page each,
/// each in its customer's language.
async fn print_mail_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: BillRunId = parse_id(&run_id)?;
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    let rows = paper_bills(&tx, id).await?;
    let mut bills: Vec<(Statement, Lang)> = Vec::with_capacity(rows.len());
    for (bill, account, _) in &rows {
        let s = statement::for_bill(&tx, BillId::from_uuid(bill.id)).await?;
        let lang = lang_for(&tx, AccountId::from_uuid(account.id)).await?;
        bills.push((s, lang));
    }
    let branding = branding_for(&tx, &caller.tenant, &state.settings().public_url).await?;
    tx.commit().await?;
    let refs: Vec<(&Statement, Lang)> = bills.iter().map(|(s, l)| (s, *l)).collect();
    let bytes = render_bills_pdf(&format!("Print and mail, run {id}"), &refs, &branding);
    Ok(pdf_response(&format!("print-mail-{id}.pdf"), bytes))
}

/// Attaches the bill's PDF to "bill ready" mails (for associations that
/// chose `attach`); the worker hands it to the notification delivery.
#[derive(Debug, Clone)]
pub struct BillPdfAttachments {
    db: Db,
    public_url: String,
}

impl BillPdfAttachments {
    /// Renders bills from `db`, linking to the pay page under `public_url`.
    pub fn new(db: Db, public_url: &str) -> Self {
        Self {
            db,
            public_url: public_url.to_owned(),
        }
    }

    async fn render(
        &self,
        tenant: &TenantCtx,
        subject_id: &str,
        locale: &str,
    ) -> Result<Vec<Attachment>, ApiError> {
        let Some(id) = subject_id
            .strip_prefix("bill:")
            .and_then(|s| s.parse::<BillId>().ok())
        else {
            return Ok(Vec::new());
        };
        let tx = self.db.tenant_with(tenant, Access::Read).await?;
        let s = statement::for_bill(&tx, id).await?;
        let branding = branding_for(&tx, tenant, &self.public_url).await?;
        tx.commit().await?;
        let data = render_bill_pdf(&s, &branding, Lang::parse(locale));
        Ok(vec![Attachment {
            filename: format!("bill-{}.pdf", s.bill.number),
            content_type: "application/pdf".into(),
            data,
        }])
    }
}

impl Attachments for BillPdfAttachments {
    fn for_notification<'a>(
        &'a self,
        tenant: &'a TenantCtx,
        kind: Kind,
        subject_id: &'a str,
        locale: &'a str,
    ) -> AttachFuture<'a> {
        Box::pin(async move {
            if kind != Kind::BillReady {
                return Ok(Vec::new());
            }
            self.render(tenant, subject_id, locale)
                .await
                .map_err(|e| format!("bill PDF: {e}"))
        })
    }
}
