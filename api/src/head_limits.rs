//! Limits on a request's URI and headers, answered in problem+json (414, 431) well below the
//! buffer limits at which hyper would answer the same statuses itself, without a body.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The longest path and query accepted; real ones are a few hundred bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The most header fields accepted.
pub const MAX_HEADERS: usize = 100;

/// Middleware: refuses an overlong URI (414) or oversized headers (431).
pub async fn limit_head(request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return ApiError::UriTooLong(MAX_URI_BYTES).into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADERS {
        return ApiError::HeadersTooLarge(MAX_HEADER_BYTES, MAX_HEADERS).into_response();
    }
    next.run(request).await
}
