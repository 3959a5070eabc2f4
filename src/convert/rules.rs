//! The core's own types for the exported pure rules (`applyBatch`,
//! `mergeCarts`, `rebasePending`, ...), in their snake_case wire shapes.

use super::json::{
    array, id_js, list, members, num, object, opt_str, opt_string, options, options_js, parse_id, string, uint, uint32,
    uint_or, Bad, Obj, Read,
};
use super::wire::{command, command_js, coupon, coupon_js, error_body_js, mutation_result, mutation_result_js};
use crate::json::Json;
use crate::prelude::*;
use cartsync_core::{
    AppliedEvent, BatchDecision, Cart, IdempotencyLog, IdempotencyRecord, Line, LineRef, MergeReport, MutationId,
    Reconciliation, SummedLine,
};

fn line(v: &Json) -> Read<Line> {
    Ok(Line {
        sku: cartsync_core::Sku(string(v, "sku")?),
        options: options(v, "options")?,
        quantity: uint32(v, "quantity")?,
    })
}

fn line_js(l: &Line) -> Json {
    Obj::new()
        .set("sku", l.sku.as_str())
        .set("options", options_js(&l.options))
        .set("quantity", l.quantity)
        .done()
}

/// `{version, owner?, lines?, coupons?, shipping_option?, updated_at?}`.
pub fn cart(v: &Json) -> Read<Cart> {
    Ok(Cart {
        version: uint(v, "version")?,
        owner: opt_string(v, "owner")?,
        lines: list(v, "lines", false, line)?,
        coupons: list(v, "coupons", false, coupon)?,
        shipping_option: opt_string(v, "shipping_option")?,
        updated_at: uint_or(v, "updated_at", 0)?,
    })
}

pub fn cart_js(c: &Cart) -> Json {
    Obj::new()
        .set("version", num(c.version))
        .set("owner", opt_str(c.owner.as_deref()))
        .set("lines", array(&c.lines, line_js))
        .set("coupons", array(&c.coupons, coupon_js))
        .set("shipping_option", opt_str(c.shipping_option.as_deref()))
        .set("updated_at", num(c.updated_at))
        .done()
}

fn record(v: &Json) -> Read<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        command: command(object(v, "command")?)?,
        result: mutation_result(object(v, "result")?)?,
    })
}

fn record_js(r: &IdempotencyRecord) -> Json {
    Obj::new()
        .set("command", command_js(&r.command))
        .set("result", mutation_result_js(&r.result))
        .done()
}

/// The idempotency records a caller passes to `applyBatch`. A JS object
/// has each key once, so a list with a linear lookup serves as the log
/// (a `BTreeMap` would add its insertion code, ~3 KB, for this one use).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Records(pub Vec<(MutationId, IdempotencyRecord)>);

impl IdempotencyLog for Records {
    fn lookup(&self, id: &MutationId) -> Option<IdempotencyRecord> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, r)| r.clone())
    }
}

/// `{mutationId: {command, result}}`.
pub fn records(v: &Json) -> Read<Records> {
    let mut out = Vec::new();
    for (k, r) in members(v, "records")? {
        out.push((parse_id(k).ok_or(Bad("records"))?, record(r)?));
    }
    Ok(Records(out))
}

fn event_js(e: &AppliedEvent) -> Json {
    Obj::new()
        .set("version", num(e.version))
        .set("mutation_id", id_js(&e.mutation_id))
        .set("command", command_js(&e.command))
        .set("at", num(e.at))
        .done()
}

/// `{cart, results, records: [[id, record]], events, conflict}`.
pub fn batch_decision_js(d: &BatchDecision) -> Json {
    let conflict = d.conflict.as_ref().map_or(Json::Null, |c| {
        Obj::new()
            .set("index", num(c.index as u64))
            .set("id", id_js(&c.id))
            .set("expected", num(c.expected))
            .set("found", num(c.found))
            .done()
    });
    let records = array(&d.records, |(id, r)| Json::Arr(vec![id_js(id), record_js(r)]));
    Obj::new()
        .set("cart", cart_js(&d.cart))
        .set("results", array(&d.results, mutation_result_js))
        .set("records", records)
        .set("events", array(&d.events, event_js))
        .set("conflict", conflict)
        .done()
}

fn summed_js(s: &SummedLine) -> Json {
    Obj::new()
        .set("sku", s.sku.as_str())
        .set("options", options_js(&s.options))
        .set("account_quantity", s.account_quantity)
        .set("anonymous_quantity", s.anonymous_quantity)
        .set("quantity", s.quantity)
        .set("excess", s.excess)
        .done()
}

fn line_ref_js(l: &LineRef) -> Json {
    Obj::new()
        .set("sku", l.sku.as_str())
        .set("options", options_js(&l.options))
        .set("quantity", l.quantity)
        .done()
}

fn strings_js(items: &[String]) -> Json {
    array(items, |s| Json::from(s.as_str()))
}

pub fn merge_report_js(r: &MergeReport) -> Json {
    Obj::new()
        .set("summed", array(&r.summed, summed_js))
        .set("added", array(&r.added, line_ref_js))
        .set("dropped", array(&r.dropped, line_ref_js))
        .set("coupons_pending", strings_js(&r.coupons_pending))
        .set("coupons_dropped", strings_js(&r.coupons_dropped))
        .set("shipping_option", opt_str(r.shipping_option.as_deref()))
        .done()
}

/// `{kind, ...}` as the core tags it.
pub fn reconciliation_js(r: &Reconciliation) -> Json {
    match r {
        Reconciliation::Restored {
            mutation_id,
            sku,
            options,
            quantity,
        } => Obj::new()
            .set("kind", "restored")
            .set("mutation_id", id_js(mutation_id))
            .set("sku", sku.as_str())
            .set("options", options_js(options))
            .set("quantity", *quantity),
        Reconciliation::WouldReject { mutation_id, error } => Obj::new()
            .set("kind", "would_reject")
            .set("mutation_id", id_js(mutation_id))
            .set("error", error_body_js(error)),
        Reconciliation::CouponPending { code } => Obj::new().set("kind", "coupon_pending").set("code", code.as_str()),
    }
    .done()
}

/// A mutation list argument.
pub fn mutations(v: &Json) -> Read<Vec<cartsync_core::Mutation>> {
    super::json::items(v, "mutations", super::wire::mutation)
}
