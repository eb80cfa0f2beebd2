//! The storage endpoint `/_storage/{key}`: what S3 does for presigned URLs. PUT stores an
//! object or a part, GET (and HEAD) downloads; each needs a valid, unexpired signature.

use super::error::StorageError;
use super::keys::ObjectKey;
use super::signing::Grant;
use super::store::DiskObjectStore;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use ferry_core::values::ContentMd5;
use std::sync::Arc;

type Store = State<Arc<DiskObjectStore>>;

/// Serves `/_storage/{*key}` for the store's presigned URLs.
pub fn router(store: Arc<DiskObjectStore>) -> Router {
    Router::new()
        .route(
            "/_storage/{*key}",
            get(download)
                .put(upload)
                .fallback(|| async { StorageError::MethodNotAllowed }),
        )
        // The bucket itself is not listable.
        .route("/_storage", any(|| async { StorageError::NoSuchKey }))
        .route("/_storage/", any(|| async { StorageError::NoSuchKey }))
        .with_state(store)
}

async fn upload(
    State(store): Store,
    key: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, StorageError> {
    let key = parse_key(key)?;
    let grant = store.verify(&Method::PUT, &key, query.as_deref().unwrap_or_default())?;
    let body = body.into_data_stream();
    let md5 = match grant {
        Grant::Put { md5, size } => {
            check_content_md5(&headers, &md5)?;
            check_content_length(&headers, size)?;
            store.store_object(&key, &md5, size, body).await?
        }
        Grant::Part {
            upload_id,
            number,
            md5,
            size,
        } => {
            check_content_md5(&headers, &md5)?;
            check_content_length(&headers, size)?;
            store
                .store_part(&key, &upload_id, number, &md5, size, body)
                .await?
        }
        Grant::Get { .. } => return Err(StorageError::MethodNotAllowed),
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(md5)))
        .map_err(|e| StorageError::Unexpected(e.into()))?;
    Ok((StatusCode::OK, [(header::ETAG, etag)]).into_response())
}

/// A declared length that differs from the signed one is refused before a byte is written.
fn check_content_length(headers: &HeaderMap, size: u64) -> Result<(), StorageError> {
    match content_length(headers).filter(|n| *n != size) {
        Some(declared) => Err(StorageError::SizeMismatch {
            expected: size,
            actual: Some(declared),
        }),
        None => Ok(()),
    }
}

async fn download(
    State(store): Store,
    method: Method,
    key: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, StorageError> {
    let key = parse_key(key)?;
    let grant = store.verify(&method, &key, query.as_deref().unwrap_or_default())?;
    let Grant::Get {
        content_type,
        disposition,
    } = grant
    else {
        return Err(StorageError::MethodNotAllowed);
    };
    let Some((bytes, len)) = store.download(&key).await? else {
        return Err(StorageError::NoSuchKey);
    };
    // Both were checked when the URL was signed, and the signature covers them.
    let signed = |value: String| {
        HeaderValue::try_from(value).map_err(|e| StorageError::Unexpected(e.into()))
    };
    let mut response = Body::from_stream(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, signed(content_type)?);
    headers.insert(header::CONTENT_DISPOSITION, signed(disposition)?);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The portal's origin serves these bytes: should a browser render them anyway, no script runs.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox; frame-ancestors 'none'"),
    );
    Ok(response)
}

fn parse_key(key: Result<Path<String>, PathRejection>) -> Result<ObjectKey, StorageError> {
    let Path(key) =
        key.map_err(|_| StorageError::InvalidKey("the key is not valid UTF-8".into()))?;
    ObjectKey::parse(&key).map_err(|e| StorageError::InvalidKey(e.to_string()))
}

/// The client sends the Content-MD5 that was signed, as S3 requires of a signed header.
fn check_content_md5(headers: &HeaderMap, signed: &ContentMd5) -> Result<(), StorageError> {
    let sent = headers
        .get("content-md5")
        .ok_or(StorageError::ContentMd5Header(
            "send the Content-MD5 header the upload plan gives",
        ))?;
    let sent = sent.to_str().ok().and_then(|v| ContentMd5::parse(v).ok());
    if sent.as_ref() != Some(signed) {
        return Err(StorageError::ContentMd5Header(
            "the Content-MD5 header differs from the one the URL was signed for",
        ));
    }
    Ok(())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
