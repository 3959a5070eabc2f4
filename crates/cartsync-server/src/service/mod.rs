//! The cart flows behind the HTTP handlers: open, read, mutate, attach.
//! The decisions themselves are the core's (`decide_batch`, `merge`);
//! these files only load, commit and project.

mod flight;
mod mutate;

pub use flight::Flights;
pub use mutate::{mutate, Mutated};

use crate::app::{now_ms, App};
use crate::auth::Claims;
use crate::cache::{HotCopy, Projection};
use crate::catalog::{price_cart, Priced};
use crate::http::error::ApiError;
use crate::metrics::inc;
use crate::store::{CartRecord, CartState, MergeCommit, MergeTarget, Revision, StoreError, TokenHash};
use crate::tokens;
use cartsync_core::protocol::v1::CartView;
use cartsync_core::{merge, Cart, CartError, MergeReport};

/// How often a batch is decided again when the cart moved on between the
/// read and the conditional commit (another request won the race).
pub(crate) const MAX_ATTEMPTS: usize = 16;

/// Who is calling: the verified user token, if one was sent.
pub type Caller<'a> = Option<&'a Claims>;

/// Account carts are readable and writable only by their owner.
pub fn authorize(owner: Option<&str>, caller: Caller<'_>) -> Result<(), ApiError> {
    match (owner, caller) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(ApiError::unauthorized(
            "this is an account cart: send the owner's bearer token",
        )),
        (Some(o), Some(c)) if c.sub == o => Ok(()),
        (Some(_), Some(_)) => Err(ApiError::forbidden()),
    }
}

/// The cart a token opens, read from the store: unknown → 404, merged →
/// 410, and the owner check. Closed carts can still be read. Concurrent
/// opens of one token in this process share one store read.
pub async fn open(app: &App, token: &TokenHash, caller: Caller<'_>) -> Result<CartRecord, ApiError> {
    let record = app
        .loads
        .run(*token, || async {
            app.store.load_by_token(token).await.map_err(ApiError::from)
        })
        .await?;
    if let CartState::Merged { .. } = record.state {
        return Err(CartError::CartMerged.into());
    }
    authorize(record.cart.owner.as_deref(), caller)?;
    Ok(record)
}

/// Prices a cart and remembers the projection for this token; with the
/// store revision the cart was read or committed at, it is also the hot
/// copy the next mutation decides on.
pub async fn project(app: &App, token: TokenHash, record_id: i64, cart: &Cart, revision: Option<Revision>) -> Priced {
    let priced = price_cart(cart, app.pricing.as_ref());
    remember(app, token, record_id, cart.clone(), priced.view.clone(), revision).await;
    priced
}

pub(crate) async fn remember(
    app: &App,
    token: TokenHash,
    record_id: i64,
    cart: Cart,
    view: CartView,
    revision: Option<Revision>,
) {
    app.cache
        .put(
            token,
            Projection {
                cart_id: record_id,
                owner: cart.owner.clone(),
                view,
                hot: revision.map(|revision| HotCopy { cart, revision }),
            },
        )
        .await;
}

/// `POST /carts`: a new anonymous cart and its token.
pub async fn create(app: &App) -> Result<(String, CartView), ApiError> {
    let (token, hash) = tokens::mint()?;
    let record = app.store.create_cart(&hash, now_ms()).await?;
    let priced = project(app, hash, record.id, &record.cart, Some(record.revision)).await;
    Ok((token, priced.view))
}

/// `GET /carts/{token}`: the session cache's projection if it is still at
/// the stored version (one indexed lookup: another process may have written
/// the cart), else rebuilt from the store.
pub async fn read(app: &App, token: &TokenHash, caller: Caller<'_>) -> Result<CartView, ApiError> {
    if let Some(p) = app.cache.get(token).await {
        let head = app.store.head(token).await?;
        if head.merged {
            app.cache.invalidate(head.id, head.version).await;
            return Err(CartError::CartMerged.into());
        }
        if head.id == p.cart_id && head.version == p.view.version {
            inc(&app.metrics.cache_hits);
            authorize(p.owner.as_deref(), caller)?;
            return Ok(p.view.clone());
        }
    }
    inc(&app.metrics.cache_misses);
    let record = open(app, token, caller).await?;
    Ok(project(app, *token, record.id, &record.cart, Some(record.revision))
        .await
        .view)
}

/// Sign-in resent after its answer was lost: the cart was merged into
/// `user`'s account cart already, so the resend gets a fresh token for that
/// cart and the report the merge got — never a second merge. A cart merged
/// into someone else's account, or into one checked out since, stays `410
/// cart_merged`.
async fn reattach(app: &App, anonymous: &TokenHash, user: &Claims) -> Result<Attached, ApiError> {
    let merged = app.store.load_by_token(anonymous).await?;
    let CartState::Merged { into } = merged.state else {
        return Err(CartError::CartMerged.into());
    };
    let account = app.store.load(into).await?;
    if account.cart.owner.as_deref() != Some(user.sub.as_str()) || account.state != CartState::Open {
        return Err(CartError::CartMerged.into());
    }
    let (token, hash) = tokens::mint()?;
    let (account, report) = app.store.reattach(merged.id, &hash, now_ms()).await?;
    let view = project(app, hash, account.id, &account.cart, Some(account.revision))
        .await
        .view;
    Ok(Attached { token, view, report })
}

/// What an attach came to.
#[derive(Debug)]
pub struct Attached {
    pub token: String,
    pub view: CartView,
    pub report: MergeReport,
}

/// `POST /carts/{token}/attach`: merges the anonymous cart into `user`'s
/// account cart (created if there is none) with the core's merge rules.
pub async fn attach(app: &App, anonymous: &TokenHash, token: &str, user: &Claims) -> Result<Attached, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let record = match open(app, anonymous, Some(user)).await {
            Err(e) if e.code == "cart_merged" => return reattach(app, anonymous, user).await,
            other => other?,
        };
        if let CartState::Closed { .. } = record.state {
            return Err(CartError::CartClosed.into());
        }
        if record.cart.owner.is_some() {
            // Already this user's account cart (`open` checked the owner):
            // attaching it again changes nothing.
            let view = project(app, *anonymous, record.id, &record.cart, Some(record.revision))
                .await
                .view;
            return Ok(Attached {
                token: token.to_string(),
                view,
                report: MergeReport::default(),
            });
        }
        let now = now_ms();
        let (base, target) = match app.store.find_account_cart(&user.sub).await? {
            Some(account) => {
                let expected_version = account.cart.version;
                (
                    account.cart,
                    MergeTarget::Existing {
                        id: account.id,
                        expected_version,
                    },
                )
            }
            None => (
                Cart {
                    owner: Some(user.sub.clone()),
                    ..Cart::default()
                },
                MergeTarget::New {
                    owner: user.sub.clone(),
                },
            ),
        };
        let (mut merged, report) = merge(&base, &record.cart, &app.limits);
        merged.version = base.version + 1;
        merged.updated_at = now.max(base.updated_at);
        merged.owner = Some(user.sub.clone());
        let priced = price_cart(&merged, app.pricing.as_ref());
        let (new_token, hash) = tokens::mint()?;
        let commit = MergeCommit {
            anonymous: record.id,
            anonymous_version: record.cart.version,
            target,
            merged: merged.clone(),
            report: report.clone(),
            quotes: priced.quotes,
            token_hash: hash,
            now,
        };
        match app.store.commit_merge(&commit).await {
            Ok(account_id) => {
                app.cache.invalidate(record.id, record.cart.version).await;
                // No hot copy: the merge's revision is not returned, and
                // attaching is rare.
                let view = project(app, hash, account_id, &merged, None).await.view;
                return Ok(Attached {
                    token: new_token,
                    view,
                    report,
                });
            }
            Err(StoreError::VersionConflict { .. }) => {
                inc(&app.metrics.store_retries);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the carts are changing too fast; retry",
    ))
}
