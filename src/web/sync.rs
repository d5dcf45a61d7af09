//! Several tabs of one storefront share one IndexedDB history. Each engine keeps an in-memory
//! mirror for speed, so a write in one tab must reach the others: after every committed write
//! an engine posts on a `BroadcastChannel` named after the database, and an engine that hears
//! it re-reads the store before its next operation. Only "something changed" crosses the
//! channel — never an event — and only between same-origin pages of this shopper.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::lock::{Mutex, MutexGuard};
use gloo_events::EventListener;
use wasm_bindgen::JsValue;
use web_sys::BroadcastChannel;

use super::log_warning;
use crate::history::History;
use crate::idb::BrowserStore;

pub struct SharedHistory {
    history: Mutex<History<BrowserStore>>,
    channel: Option<BroadcastChannel>,
    stale: Rc<Cell<bool>>,
    /// The channel's `message` listener; dropping it removes the listener.
    on_message: RefCell<Option<EventListener>>,
}

impl SharedHistory {
    /// `database`: the IndexedDB name, or `None` for a memory-only history (nothing to share).
    pub fn new(history: History<BrowserStore>, database: Option<&str>) -> Self {
        let stale = Rc::new(Cell::new(false));
        // BroadcastChannel is missing in a few old browsers: then each tab sees its own writes
        // until it reopens, which is what happened before this existed.
        let channel = database.and_then(|name| BroadcastChannel::new(&format!("localrank:{name}")).ok());
        let on_message = channel.as_ref().map(|channel| {
            let stale = stale.clone();
            EventListener::new(channel, "message", move |_| stale.set(true))
        });
        SharedHistory { history: Mutex::new(history), channel, stale, on_message: RefCell::new(on_message) }
    }

    /// The history, re-read first if another tab changed the database since the last call.
    pub async fn lock(&self) -> MutexGuard<'_, History<BrowserStore>> {
        let mut guard = self.history.lock().await;
        // A history that fell back to memory no longer shares anything with other tabs.
        if self.stale.replace(false)
            && guard.storage_kind() == "indexeddb"
            && let Err(error) = guard.reload(js_sys::Date::now()).await
        {
            log_warning(&error);
        }
        guard
    }

    /// Tells the other tabs that this one committed a write.
    pub fn changed(&self) {
        if let Some(channel) = &self.channel {
            let _ = channel.post_message(&JsValue::from_str("changed"));
        }
    }

    pub fn close(&self) {
        // Dropping the listener removes it; a closed channel delivers nothing anyway.
        self.on_message.borrow_mut().take();
        if let Some(channel) = &self.channel {
            channel.close();
        }
    }
}
