//! Limits every layer reads: the HTTP layer enforces them, the domain
//! checks against them, and `/ServiceProviderConfig` advertises them, so a
//! number is written once. Nothing here depends on another module.

/// Largest request body the HTTP layer reads (a Bulk request is the biggest
/// legitimate one; JSON overhead around it fits in the difference).
pub const REQUEST_BODY_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Bulk (RFC 7644 §3.7): advertised as `bulk.maxOperations`.
pub const BULK_MAX_OPERATIONS: usize = 1000;
/// Bulk: advertised as `bulk.maxPayloadSize`.
pub const BULK_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Page size when a list request names no `count`.
pub const LIST_DEFAULT_COUNT: usize = 100;
/// Largest page: advertised as `filter.maxResults` and the cursor pagination's `maxPageSize`.
pub const LIST_MAX_RESULTS: usize = 1000;
