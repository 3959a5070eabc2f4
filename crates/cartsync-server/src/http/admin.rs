//! The catalog, and the `--dev` endpoints: dev login and the admin levers
//! that stand in for the pricing and inventory services.

use super::error::ApiError;
use super::json::ApiJson;
use crate::app::{now_ms, AppState};
use crate::catalog::{CouponRule, DemoCatalog, ProductUpdate};
use axum::extract::{Path, State};
use axum::Json;
use cartsync_core::protocol::v1::{CatalogResponse, Product};
use cartsync_core::{Limits, Sku};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `GET /api/v1/catalog`: products with the inventory's current stock.
pub async fn catalog(State(app): State<AppState>) -> Result<Json<CatalogResponse>, ApiError> {
    let levels = app.inventory.levels().await?;
    let products = app
        .pricing
        .products()
        .into_iter()
        .map(|p| with_stock(p, &levels))
        .collect();
    Ok(Json(CatalogResponse { products }))
}

fn with_stock(p: Product, levels: &std::collections::BTreeMap<Sku, u32>) -> Product {
    let stock = levels.get(&p.sku).copied().unwrap_or(0);
    Product { stock, ..p }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
}

impl super::json::Body for LoginRequest {}
impl super::json::Body for ProductUpdate {
    const OBJECT_FIELDS: &'static [&'static str] = &["price"];
}
impl super::json::Body for TaxBody {}
impl super::json::Body for TransferBody {
    const OBJECT_FIELDS: &'static [&'static str] = &["amount"];
}
impl super::json::Body for CouponBody {
    const OBJECT_FIELDS: &'static [&'static str] = &["amount_off", "min_subtotal"];
}

#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub token: String,
}

/// `POST /api/v1/dev/login {"user"}` → `{"token"}` (an HS256 user token).
pub async fn login(
    State(app): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = check_user(&req.user)?;
    let exp = now_ms() / 1000 + app.user_token_ttl_secs;
    Ok(Json(LoginResponse {
        token: app.jwt.issue(user, exp),
    }))
}

/// Longest user name, in characters (not bytes: `"ü"` is one).
pub const MAX_USER_CHARS: usize = 64;

/// A dev login's user name: 1 to 64 characters as sent, no control
/// characters, not blank; the id is the name without surrounding
/// whitespace. (The length is judged before trimming, as the spec's
/// `maxLength` is.)
fn check_user(user: &str) -> Result<&str, ApiError> {
    let chars = user.chars().count();
    if chars == 0 || chars > MAX_USER_CHARS {
        return Err(ApiError::bad_request(format!(
            "user: must be 1 to {MAX_USER_CHARS} characters (got {chars})"
        )));
    }
    if user.chars().any(char::is_control) {
        return Err(ApiError::bad_request("user: must not contain control characters"));
    }
    let trimmed = user.trim();
    if trimmed.is_empty() {
        return Err(ApiError::bad_request("user: must not be blank"));
    }
    Ok(trimmed)
}

fn admin(app: &AppState) -> Result<&Arc<DemoCatalog>, ApiError> {
    app.admin.as_ref().ok_or_else(ApiError::not_found)
}

/// `PUT /api/v1/admin/catalog/{sku}` with any of `{"price", "stock", "name",
/// "image"}` → the product. 404 `unknown_sku` for a SKU the catalog lacks.
pub async fn put_product(
    State(app): State<AppState>,
    Path(sku): Path<String>,
    ApiJson(update): ApiJson<ProductUpdate>,
) -> Result<Json<Product>, ApiError> {
    let catalog = admin(&app)?;
    let sku = Sku::new(sku);
    if let Some(price) = &update.price {
        if price.currency != app.pricing.currency() || price.amount < 0 {
            return Err(ApiError::bad_request(format!(
                "price: must be a non-negative amount in {}",
                app.pricing.currency()
            )));
        }
    }
    if update.stock.is_some_and(|n| n > i32::MAX as u32) {
        return Err(ApiError::bad_request(format!("stock: must be 0 to {}", i32::MAX)));
    }
    let stock = update.stock;
    let product = catalog.update_product(&sku, update).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_sku",
            format!("sku {:?} is not in the catalog", sku.0),
        )
    })?;
    if let Some(stock) = stock {
        app.inventory.set_stock(&sku, stock).await?;
    }
    let levels = app.inventory.levels().await?;
    Ok(Json(with_stock(product, &levels)))
}

/// `PUT /api/v1/admin/coupons/{code}` with `{"percent_off" | "amount_off",
/// "min_subtotal", "active"}` → the coupon (created or replaced).
pub async fn put_coupon(
    State(app): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<CouponBody>,
) -> Result<Json<CouponRule>, ApiError> {
    let catalog = admin(&app)?;
    Limits::default()
        .check_coupon(&code)
        .map_err(|e| ApiError::bad_request(format!("code: {e}")))?;
    if body.percent_off.is_some_and(|p| p > 100) {
        return Err(ApiError::bad_request("percent_off: must be 0 to 100"));
    }
    let currency = app.pricing.currency();
    for (field, money) in [("amount_off", &body.amount_off), ("min_subtotal", &body.min_subtotal)] {
        if money.as_ref().is_some_and(|m| m.currency != currency || m.amount < 0) {
            return Err(ApiError::bad_request(format!(
                "{field}: must be a non-negative amount in {currency}"
            )));
        }
    }
    Ok(Json(catalog.put_coupon(CouponRule {
        code,
        percent_off: body.percent_off,
        amount_off: body.amount_off,
        min_subtotal: body.min_subtotal,
        active: body.active.unwrap_or(true),
    })))
}

/// The body of `PUT /admin/coupons/{code}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    #[serde(default)]
    pub percent_off: Option<u32>,
    #[serde(default)]
    pub amount_off: Option<cartsync_core::Money>,
    #[serde(default)]
    pub min_subtotal: Option<cartsync_core::Money>,
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct FlushResponse {
    pub flushed: u64,
}

/// `POST /api/v1/admin/cache/flush` → `{"flushed": n}` (this instance's
/// in-process cache, or every instance's Redis keys under the prefix).
pub async fn flush_cache(State(app): State<AppState>) -> Result<Json<FlushResponse>, ApiError> {
    admin(&app)?;
    let flushed = app.cache.flush().await.map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "cache_unavailable",
            format!("the session cache did not answer: {e}"),
        )
    })?;
    tracing::info!(flushed, "session cache flushed");
    Ok(Json(FlushResponse { flushed }))
}

/// The body of `PUT /admin/tax/{country}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxBody {
    /// Basis points (1900 = 19 %); `null` removes the country's rate. The
    /// field is required (the spec says so; schemathesis found a body
    /// without it taken as a removal): serde takes a missing `Option`
    /// field as `None` unless it is read with a function of its own.
    #[serde(deserialize_with = "present")]
    pub rate_bp: Option<u32>,
}

/// An `Option` that must be present, `null` or a value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::deserialize(d)
}

/// `PUT /api/v1/admin/tax/{country}` with `{"rate_bp"}` → the tax table
/// (this instance's catalog).
pub async fn put_tax(
    State(app): State<AppState>,
    Path(country): Path<String>,
    ApiJson(body): ApiJson<TaxBody>,
) -> Result<Json<cartsync_core::TaxRules>, ApiError> {
    let catalog = admin(&app)?;
    if !crate::catalog::is_country(&country) {
        return Err(ApiError::bad_request(
            "country: must be an upper-case ISO 3166-1 alpha-2 code",
        ));
    }
    if body.rate_bp.is_some_and(|r| r > cartsync_core::tax::MAX_RATE_BP) {
        return Err(ApiError::bad_request("rate_bp: must be 0 to 10000"));
    }
    Ok(Json(catalog.put_tax_rate(&country, body.rate_bp)))
}

/// The body of `POST /admin/orders/{id}/transfer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// `transfer.received` or `transfer.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What arrived (default: the intent's amount).
    #[serde(default)]
    pub amount: Option<cartsync_core::Money>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/admin/orders/{id}/transfer` stands in for the bank: it
/// writes the bank's callback for the order's transfer reference, signs it
/// with the server's callback secret and sends it through the real callback
/// path → that callback's answer.
pub async fn simulate_transfer(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<Json<crate::http::payments::CallbackResponse>, ApiError> {
    admin(&app)?;
    let not_found = || ApiError::new(axum::http::StatusCode::NOT_FOUND, "order_not_found", "no such order");
    let order = app.store.order(&id).await?.ok_or_else(not_found)?.order;
    let Some(cartsync_core::protocol::v1::NextAction::BankTransfer { reference, amount, .. }) =
        order.payment.as_ref().and_then(|p| p.next_action.clone())
    else {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "payment_intent_not_found",
            "the order has no bank transfer waiting to be paid",
        ));
    };
    let event_id: [u8; 12] = crate::tokens::random_bytes()?;
    let event = serde_json::json!({
        "id": format!("evt_dev_{}", event_id.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        "type": body.kind,
        "reference": reference,
        "amount": body.amount.unwrap_or(amount),
        "reason": body.reason,
    });
    let bytes = serde_json::to_vec(&event).map_err(|e| ApiError::internal(&e))?;
    let header = crate::payment::signature::sign(&app.payment_callback_secret, now_ms() / 1000, &bytes);
    crate::http::payments::process(&app, crate::payment::bank_transfer::NAME, Some(&header), &bytes)
        .await
        .map(Json)
}

#[cfg(test)]
mod tests {
    use super::check_user;

    #[test]
    fn user_names_are_counted_in_characters() {
        assert_eq!(check_user(&"ü".repeat(64)).unwrap().chars().count(), 64);
        assert!(check_user(&"ü".repeat(65)).is_err());
        assert!(check_user(&"a".repeat(65)).is_err());
        assert_eq!(check_user(" ada ").unwrap(), "ada");
        for bad in ["", "   ", "a\u{0}b", "tab\there", "\u{85}"] {
            assert!(check_user(bad).is_err(), "{bad:?}");
        }
    }
}
