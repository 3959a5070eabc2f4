//! `view()` as a JavaScript snapshot that stays the same object until the
//! view changes, and whose change redoes only what changed: the engine says
//! which line moved ([`LineChanges`]), the lines array is copied natively
//! (`slice`) with that one line converted, and every unchanged line keeps
//! its object, so `useSyncExternalStore` and memoised rows see equal
//! references. Snapshots are frozen: a page cannot edit one that another
//! render still holds.

use crate::convert::api;
use cartsync_core::engine::{Engine, LineChanges};
use cartsync_core::protocol::v1::LineView;
use cartsync_core::ErrorBody;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The last snapshot handed out, and what it was built from.
#[derive(Default)]
pub struct ViewCache {
    /// The engine's view revision the snapshot shows.
    revision: u64,
    snapshot: Option<JsValue>,
    /// The snapshot's lines array, and the lines it shows (to reuse the
    /// objects of lines that did not change when many may have).
    lines: Option<Array>,
    shown: Vec<LineView>,
}

impl ViewCache {
    /// The current snapshot (the same object while nothing changed).
    pub fn get(&mut self, engine: &mut Engine) -> Result<JsValue, ErrorBody> {
        if let Some(snapshot) = &self.snapshot {
            if self.revision == engine.view_revision() {
                return Ok(snapshot.clone());
            }
        }
        let changes = engine.take_view_changes();
        let lines = self.lines(engine, changes.lines)?;
        let head = api(&engine.view_head())?;
        let _ = Reflect::set(&head, &JsValue::from_str("lines"), &lines);
        Object::<JsValue>::freeze(head.unchecked_ref());
        self.revision = engine.view_revision();
        self.snapshot = Some(head.clone());
        Ok(head)
    }

    fn lines(&mut self, engine: &Engine, changes: LineChanges) -> Result<Array, ErrorBody> {
        let now = &engine.view_cart().lines;
        let in_step = self
            .lines
            .as_ref()
            .is_some_and(|l| l.length() as usize == self.shown.len());
        let lines = match (&self.lines, changes) {
            _ if !in_step => self.rebuild(now)?,
            (Some(old), LineChanges::None) if old.length() as usize == now.len() => return Ok(old.clone()),
            (Some(old), LineChanges::Set(i)) if i < now.len() && old.length() as usize == now.len() => {
                let copy = old.slice(0, old.length());
                copy.set(i as u32, line(&now[i])?);
                self.shown[i] = now[i].clone();
                copy
            }
            (Some(old), LineChanges::Insert(i)) if i < now.len() && old.length() as usize + 1 == now.len() => {
                let copy = old.slice(0, old.length());
                copy.splice(i as u32, 0, &line(&now[i])?);
                self.shown.insert(i, now[i].clone());
                copy
            }
            (Some(old), LineChanges::Remove(i)) if i <= now.len() && old.length() as usize == now.len() + 1 => {
                let len = old.length();
                let copy = old.slice(0, i as u32).concat(&old.slice(i as u32 + 1, len));
                self.shown.remove(i);
                copy
            }
            _ => self.rebuild(now)?,
        };
        // The array itself is not frozen: V8 copies a frozen array on the
        // slow path (`slice` of 1,000 lines took ~110 µs instead of ~2).
        self.lines = Some(lines.clone());
        Ok(lines)
    }

    /// Every line compared with what was shown: equal lines keep their
    /// objects (searching on from the last match, as lines keep their
    /// order), the rest are converted.
    fn rebuild(&mut self, now: &[LineView]) -> Result<Array, ErrorBody> {
        let old = self.lines.take();
        let array = Array::new_with_length(now.len() as u32);
        let mut next = 0;
        for (i, l) in now.iter().enumerate() {
            let found = self.shown[next.min(self.shown.len())..]
                .iter()
                .position(|s| s == l)
                .map(|p| p + next)
                .or_else(|| self.shown.iter().position(|s| s == l));
            let value = match (found, &old) {
                (Some(at), Some(old)) => {
                    next = at + 1;
                    old.get(at as u32)
                }
                _ => line(l)?,
            };
            array.set(i as u32, value);
        }
        self.shown = now.to_vec();
        Ok(array)
    }
}

/// One line for the page, frozen.
fn line(l: &LineView) -> Result<JsValue, ErrorBody> {
    let value = api(l)?;
    Object::<JsValue>::freeze(value.unchecked_ref());
    Ok(value)
}
