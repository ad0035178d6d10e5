//! JSON resources of an association under `/api/v1`.

pub(crate) mod accounts;
pub(crate) mod api_keys;
mod association;
pub(crate) mod bill_document;
mod bill_pdf;
mod bill_runs;
mod imports;
mod late_fees;
mod ledger;
mod lifecycle;
mod locations;
mod meters;
pub(crate) mod notifications;
mod rates;
mod reads;
mod reports;
pub(crate) mod staff;

pub use bill_pdf::BillPdfAttachments;

use crate::registry::Routes;

pub(crate) fn routes(r: Routes) -> Routes {
    let r = association::routes(r);
    let r = accounts::routes(r);
    let r = locations::routes(r);
    let r = meters::routes(r);
    let r = reads::routes(r);
    let r = imports::routes(r);
    let r = ledger::routes(r);
    let r = rates::routes(r);
    let r = bill_runs::routes(r);
    let r = late_fees::routes(r);
    let r = reports::routes(r);
    let r = bill_document::routes(r);
    let r = staff::routes(r);
    let r = api_keys::routes(r);
    let r = notifications::routes(r);
    let r = notifications::print_routes(r);
    let r = bill_pdf::routes(r);
    lifecycle::routes(r)
}

/// Parses a path id, answering 404 (not 400) for malformed ones so a probe
/// learns nothing from the difference.
pub(crate) fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, crate::ApiError> {
    raw.parse().map_err(|_| crate::ApiError::NotFound)
}
