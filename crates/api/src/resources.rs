//! JSON resources of an association under `/api/v1`.

mod accounts;
mod association;
mod locations;
mod meters;
mod staff;

use crate::registry::Routes;

pub(crate) fn routes(r: Routes) -> Routes {
    let r = association::routes(r);
    let r = accounts::routes(r);
    let r = locations::routes(r);
    let r = meters::routes(r);
    staff::routes(r)
}

/// Parses a path id, answering 404 (not 400) for malformed ones so a probe
/// learns nothing from the difference.
pub(crate) fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, crate::ApiError> {
    raw.parse().map_err(|_| crate::ApiError::NotFound)
}
