//! The association's uploaded logo: `PUT /api/v1/branding/logo` (the raw
//! PNG or JPEG as the body), `DELETE /api/v1/branding/logo` (admins), and
//! `GET /{slug}/logo` for everyone (the pages' `<img>`, cached five
//! minutes, with an ETag). The bytes live in `branding_logos`, one row per
//! association; the image is checked completely before it is stored
//! (`aqueduct_documents::image`), so whatever is stored also prints on the
//! PDF bill.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use aqueduct_documents::image::{self, Format};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{Access, TenantCtx, TenantOwned, TenantStatus, TenantTx, directory, scoped};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest logo file accepted, in bytes.
pub(crate) const MAX_BYTES: usize = 256 * 1024;
/// Largest width and height accepted, in pixels.
pub(crate) const MAX_SIDE: u32 = 2000;

/// The `branding_logos` table.
pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    /// An association's uploaded logo.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "branding_logos")]
    pub struct Model {
        /// Association.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        /// Always the association's id: one row each.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `image/png` or `image/jpeg`.
        pub content_type: String,
        /// The file as uploaded.
        pub data: Vec<u8>,
        /// Width in pixels.
        pub width: i32,
        /// Height in pixels.
        pub height: i32,
        /// Size of `data` in bytes.
        pub byte_len: i32,
        /// SHA-256 of `data`, hex.
        pub sha256: String,
        /// Who uploaded it.
        pub updated_by: String,
        /// When (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated through the ORM.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl TenantOwned for entity::Entity {
    fn tenant_column() -> Self::Column {
        entity::Column::TenantId
    }
}

/// The uploaded logo as the API shows it (read-only in `Branding`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct UploadedLogo {
    /// Where pages load it: `/{slug}/logo?v=<version>` (the version
    /// changes with the file, so caches refresh).
    pub url: String,
    /// `image/png` or `image/jpeg`.
    pub content_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// File size in bytes.
    pub bytes: u32,
}

/// The version in the URL: the first 16 hex digits of the SHA-256.
fn version(sha256: &str) -> &str {
    sha256.get(..16).unwrap_or(sha256)
}

/// The ETag: the first 32 hex digits of the SHA-256, quoted.
fn etag(sha256: &str) -> String {
    format!("\"{}\"", sha256.get(..32).unwrap_or(sha256))
}

/// What pages need of the uploaded logo: its description, not its bytes.
#[derive(Debug, sea_orm::FromQueryResult)]
pub(crate) struct LogoRow {
    content_type: String,
    width: i32,
    height: i32,
    byte_len: i32,
    sha256: String,
}

/// The query for [`LogoRow`] (the caller adds the tenant).
pub(crate) fn info_query() -> sea_orm::Select<entity::Entity> {
    entity::Entity::find()
        .select_only()
        .column(entity::Column::ContentType)
        .column(entity::Column::Width)
        .column(entity::Column::Height)
        .column(entity::Column::ByteLen)
        .column(entity::Column::Sha256)
}

/// The uploaded logo `row` describes, as `tenant`'s pages link it.
pub(crate) fn uploaded(row: LogoRow, tenant: &TenantCtx) -> UploadedLogo {
    UploadedLogo {
        url: format!(
            "/{}/logo?v={}",
            tenant.slug().as_str(),
            version(&row.sha256)
        ),
        content_type: row.content_type,
        width: u32::try_from(row.width).unwrap_or(0),
        height: u32::try_from(row.height).unwrap_or(0),
        bytes: u32::try_from(row.byte_len).unwrap_or(0),
    }
}

/// The uploaded logo's description (not its bytes), if there is one.
pub(crate) async fn info(
    tx: &TenantTx,
    tenant: &TenantCtx,
) -> Result<Option<UploadedLogo>, ApiError> {
    let row = info_query()
        .filter(entity::Column::TenantId.eq(tx.tenant_id().uuid()))
        .into_model::<LogoRow>()
        .one(tx.conn())
        .await?;
    Ok(row.map(|r| uploaded(r, tenant)))
}

/// The uploaded logo's file, if there is one (for the PDF bill).
pub(crate) async fn file(tx: &TenantTx) -> Result<Option<Vec<u8>>, ApiError> {
    Ok(scoped::<entity::Entity>(tx)
        .one(tx.conn())
        .await?
        .map(|m| m.data))
}

/// What a file that is not a PNG or JPEG looks like, for the message.
fn looks_like(data: &[u8]) -> Option<&'static str> {
    let head = data.get(..64).unwrap_or(data);
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if data.starts_with(b"GIF8") {
        Some("a GIF")
    } else if data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP".as_slice()) {
        Some("a WebP image")
    } else if text.trim_start().starts_with("<svg") || text.trim_start().starts_with("<?xml") {
        Some("an SVG or XML file")
    } else if data.starts_with(b"BM") {
        Some("a BMP image")
    } else if data.starts_with(b"%PDF") {
        Some("a PDF")
    } else {
        None
    }
}

/// Checks an uploaded logo: size, kind (by its content, and that it
/// matches `declared` when the client named one), the whole image, and
/// its dimensions. The error is the message the uploader sees.
pub(crate) fn validate(data: &[u8], declared: Option<Format>) -> Result<image::Info, ApiError> {
    if data.is_empty() {
        return Err(ApiError::Invalid("the logo file is empty".into()));
    }
    if data.len() > MAX_BYTES {
        return Err(ApiError::Invalid(format!(
            "the logo is {} KiB; at most {} KiB is allowed (save it smaller, e.g. \
             at most 600 pixels wide)",
            data.len().div_ceil(1024),
            MAX_BYTES / 1024
        )));
    }
    let Some(found) = Format::sniff(data) else {
        return Err(ApiError::Invalid(match looks_like(data) {
            Some(kind) => format!("the logo must be a PNG or JPEG image; this file is {kind}"),
            None => "the logo must be a PNG or JPEG image; this file is neither".into(),
        }));
    };
    if let Some(d) = declared
        && d != found
    {
        return Err(ApiError::Invalid(format!(
            "the file is {} but was sent as {}",
            found.mime(),
            d.mime()
        )));
    }
    let unusable = |m: String| ApiError::Invalid(format!("the logo cannot be used: {m}"));
    // The size from the headers first: nothing large is ever decoded.
    let head = image::dimensions(data).map_err(unusable)?;
    if head.width > MAX_SIDE || head.height > MAX_SIDE {
        return Err(ApiError::Invalid(format!(
            "the logo is {}×{} pixels; at most {MAX_SIDE}×{MAX_SIDE} is allowed",
            head.width, head.height
        )));
    }
    image::check(data).map_err(unusable)
}

/// Checks and stores `data` as the association's logo (replacing any),
/// audited; the JSON route and the settings page share this.
pub(crate) async fn store(
    state: &AppState,
    caller: &Caller,
    data: &[u8],
    declared: Option<Format>,
) -> Result<UploadedLogo, ApiError> {
    let info = validate(data, declared)?;
    let sha = hex::encode(Sha256::digest(data));
    let width = i32::try_from(info.width).unwrap_or(0);
    let height = i32::try_from(info.height).unwrap_or(0);
    let byte_len = i32::try_from(data.len()).unwrap_or(0);
    let tx = state.db().tenant(&caller.tenant).await?;
    let tenant = tx.tenant_id().uuid();
    let row = entity::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(tenant),
        content_type: Set(info.format.mime().to_owned()),
        data: Set(data.to_vec()),
        width: Set(width),
        height: Set(height),
        byte_len: Set(byte_len),
        sha256: Set(sha.clone()),
        updated_by: Set(caller.actor.clone()),
        updated_at: Set(state.clock().now()),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([entity::Column::TenantId, entity::Column::Id])
                .update_columns([
                    entity::Column::ContentType,
                    entity::Column::Data,
                    entity::Column::Width,
                    entity::Column::Height,
                    entity::Column::ByteLen,
                    entity::Column::Sha256,
                    entity::Column::UpdatedBy,
                    entity::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await?;
    audit::record_in(
        &tx,
        state.clock(),
        AuditEntry {
            tenant: Some(caller.tenant.id()),
            actor: caller.actor.clone(),
            action: "branding.logo_uploaded".into(),
            target: None,
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "content_type": info.format.mime(),
                "width": info.width,
                "height": info.height,
                "bytes": data.len(),
                "sha256": sha,
            })),
        },
    )
    .await?;
    let saved = info_or_internal(&tx, &caller.tenant).await?;
    tx.commit().await?;
    Ok(saved)
}

async fn info_or_internal(tx: &TenantTx, tenant: &TenantCtx) -> Result<UploadedLogo, ApiError> {
    info(tx, tenant)
        .await?
        .ok_or_else(|| ApiError::Internal("the logo just stored is not there".into()))
}

/// Removes the association's uploaded logo (pages fall back to the
/// `logo_url` path, if set, or to the name alone); `true` when there was
/// one. Audited when something was removed.
pub(crate) async fn remove(state: &AppState, caller: &Caller) -> Result<bool, ApiError> {
    let tx = state.db().tenant(&caller.tenant).await?;
    let gone = entity::Entity::delete_many()
        .filter(entity::Column::TenantId.eq(tx.tenant_id().uuid()))
        .exec(tx.conn())
        .await?
        .rows_affected;
    if gone > 0 {
        audit::record_in(
            &tx,
            state.clock(),
            AuditEntry {
                tenant: Some(caller.tenant.id()),
                actor: caller.actor.clone(),
                action: "branding.logo_removed".into(),
                target: None,
                outcome: Outcome::Success,
                request_id: None,
                ip: None,
                details: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(gone > 0)
}

/// `PUT /api/v1/branding/logo` (admin): the raw file as the body with
/// `Content-Type: image/png` or `image/jpeg`.
pub(super) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<UploadedLogo>, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(declared) = Format::from_mime(ct) else {
        return Err(ApiError::Invalid(format!(
            "send the logo file itself as the body with Content-Type image/png or \
             image/jpeg (got {})",
            if ct.is_empty() { "none" } else { ct }
        )));
    };
    Ok(Json(store(&state, &caller, &body, Some(declared)).await?))
}

/// `DELETE /api/v1/branding/logo` (admin): 204 whether or not there was one.
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    remove(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `If-None-Match` names `etag` (or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// `GET /{slug}/logo` (public): the uploaded logo; 404 when the
/// association has none or is unknown or closed.
pub(super) async fn serve(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = directory::by_slug(state.db(), &slug)
        .await?
        .filter(|t| t.status() != TenantStatus::Closed)
        .ok_or(ApiError::NotFound)?;
    let tx = state.db().tenant_with(&tenant, Access::Read).await?;
    let row = scoped::<entity::Entity>(&tx).one(tx.conn()).await?;
    tx.commit().await?;
    let row = row.ok_or(ApiError::NotFound)?;
    let tag = etag(&row.sha256);
    let mut h = HeaderMap::new();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    let ct = Format::from_mime(&row.content_type).map_or("application/octet-stream", Format::mime);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    Ok((h, row.data).into_response())
}

/// An `<img>` for `src` fitting `box_w`×`box_h` CSS pixels (keeping the
/// shape when the size is known; else only the height is set).
pub(crate) fn img_tag(
    src: &str,
    size: Option<(u32, u32)>,
    alt: &str,
    (box_w, box_h): (u32, u32),
) -> String {
    let esc = crate::pages::escape;
    let dims = match size {
        Some((w, h)) if w > 0 && h > 0 => {
            let (w, h) = (u64::from(w), u64::from(h));
            let (bw, bh) = (u64::from(box_w), u64::from(box_h));
            let (dw, dh) = if w * bh >= h * bw {
                (bw, (h * bw).div_ceil(w))
            } else {
                ((w * bh).div_ceil(h), bh)
            };
            format!(" width=\"{dw}\" height=\"{dh}\"")
        }
        _ => format!(" height=\"{box_h}\""),
    };
    format!(
        "<img class=\"logo\" src=\"{}\" alt=\"{}\"{dims}>",
        esc(src),
        esc(alt)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_strong_weak_and_star() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"other\", W/\"abc\""),
        );
        assert!(not_modified(&h, "\"abc\""));
        assert!(!not_modified(&h, "\"abd\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, "\"x\""));
        assert!(!not_modified(&HeaderMap::new(), "\"x\""));
    }

    #[test]
    fn uploads_are_checked_before_anything_is_stored() {
        let msg = |r: Result<image::Info, ApiError>| match r {
            Err(ApiError::Invalid(m)) => m,
            other => panic!("expected a 422, got {other:?}"),
        };
        assert!(msg(validate(b"", None)).contains("empty"));
        assert!(msg(validate(&vec![0u8; MAX_BYTES + 1], None)).contains("at most 256 KiB"));
        assert!(msg(validate(b"GIF89a\x01\x00", None)).contains("GIF"));
        assert!(msg(validate(b"<svg xmlns=''/>", None)).contains("SVG"));
        assert!(msg(validate(b"hello", None)).contains("neither"));
        assert!(
            msg(validate(b"\xff\xd8\xff\xe0", Some(Format::Png))).contains("sent as image/png")
        );
        assert!(msg(validate(b"\x89PNG\r\n\x1a\nxx", None)).contains("cannot be used"));
    }

    #[test]
    fn img_tags_keep_the_shape() {
        assert_eq!(
            img_tag("/a/logo?v=1", Some((400, 100)), "", (160, 60)),
            "<img class=\"logo\" src=\"/a/logo?v=1\" alt=\"\" width=\"160\" height=\"40\">"
        );
        assert!(
            img_tag("/x.png", None, "A&B", (160, 60)).ends_with("alt=\"A&amp;B\" height=\"60\">")
        );
        assert!(
            img_tag("/a", Some((10, 100)), "", (160, 60)).contains("width=\"6\" height=\"60\"")
        );
    }
}
