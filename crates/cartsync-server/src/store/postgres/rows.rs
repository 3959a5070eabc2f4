//! Row mapping for the PostgreSQL backend (domain types carry no database
//! derives; these helpers turn rows into records).

use super::super::{CartRecord, CartState, EventRow, Revision, StoreError};
use cartsync_core::MutationId;
use tokio_postgres::Row;

type Result<T> = std::result::Result<T, StoreError>;

pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(StoreError::backend)
}

/// The columns every cart read selects, in this order.
pub(super) const CART_COLUMNS: &str =
    "c.id, c.state, c.merged_into, c.order_id, c.snapshot, c.quotes, c.created_at, c.revision";

/// A row of [`CART_COLUMNS`] as a record.
pub(super) fn cart_record(row: &Row) -> Result<CartRecord> {
    let state: &str = get(row, 1)?;
    let merged_into: Option<i64> = get(row, 2)?;
    let order_id: Option<String> = get(row, 3)?;
    let state = match (state, merged_into, order_id) {
        ("merged", Some(into), _) => CartState::Merged { into },
        ("closed", _, Some(order_id)) => CartState::Closed { order_id },
        _ => CartState::Open,
    };
    let snapshot: &str = get(row, 4)?;
    let quotes: &str = get(row, 5)?;
    Ok(CartRecord {
        id: get(row, 0)?,
        state,
        cart: serde_json::from_str(snapshot).map_err(StoreError::backend)?,
        quotes: serde_json::from_str(quotes).map_err(StoreError::backend)?,
        created_at: to_u64(get(row, 6)?),
        revision: Revision::Counter(get(row, 7)?),
    })
}

/// A row of `version, kind, mutation_id, body, at` as an event.
pub(super) fn event_row(row: &Row) -> Result<EventRow> {
    let kind: String = get(row, 1)?;
    let mutation_id: Option<uuid::Uuid> = get(row, 2)?;
    let body: &str = get(row, 3)?;
    let (command, merge_report) = if kind == "mutation" {
        (Some(serde_json::from_str(body).map_err(StoreError::backend)?), None)
    } else {
        (None, Some(serde_json::from_str(body).map_err(StoreError::backend)?))
    };
    Ok(EventRow {
        version: to_u64(get(row, 0)?),
        kind,
        mutation_id: mutation_id.map(MutationId),
        command,
        merge_report,
        at: to_u64(get(row, 4)?),
    })
}

/// The body stored for an event: its command or its merge report.
pub(super) fn event_body(row: &EventRow) -> Result<String> {
    Ok(match (&row.command, &row.merge_report) {
        (Some(c), _) => serde_json::to_string(c).map_err(StoreError::backend)?,
        (None, Some(r)) => serde_json::to_string(r).map_err(StoreError::backend)?,
        (None, None) => "null".to_string(),
    })
}
