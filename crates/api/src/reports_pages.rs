//! The reports page: the billing reports with their CSV exports (the
//! same `GET /api/v1/reports/*.csv` routes; a signed-in browser downloads
//! them with its session) and each finalized run's register.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::Routes;
use crate::session::CurrentSession;
use crate::state::AppState;
use crate::web;
use crate::workspace::{chrome, usd};
use aqueduct_billing::aging;
use aqueduct_billing::entity::bill_run;
use aqueduct_tenant::{Access, Role, scoped};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};

pub(crate) fn routes(r: Routes) -> Routes {
    r.tenant(Method::GET, "/app/reports", Role::Viewer, get(reports))
}

#[derive(Template)]
#[template(path = "app_reports.html")]
struct ReportsPage {
    page: web::Chrome,
    aging: [String; 5],
    runs: Vec<(String, String, String)>,
}

async fn reports(
    State(state): State<AppState>,
    caller: Caller,
    s: Option<Extension<CurrentSession>>,
) -> Result<Response, ApiError> {
    let today = state.clock().now().date_naive();
    let tx = state.db().tenant_with(&caller.tenant, Access::Read).await?;
    // Aggregated by the database, as on the dashboard (per account, summed).
    let a = aging::totals(&tx, today).await?;
    let runs = scoped::<bill_run::Entity>(&tx)
        .filter(bill_run::Column::Status.eq("finalized"))
        .order_by_desc(bill_run::Column::PeriodEnd)
        .limit(24)
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(web::render(&ReportsPage {
        page: chrome(&caller, s.as_ref(), "Reports", "reports"),
        aging: [
            usd(a.current),
            usd(a.days_30),
            usd(a.days_60),
            usd(a.days_90_plus),
            usd(a.total),
        ],
        runs: runs
            .into_iter()
            .map(|r| {
                (
                    r.id.to_string(),
                    format!("{} – {}", r.period_start, r.period_end),
                    r.due_on.to_string(),
                )
            })
            .collect(),
    }))
}
