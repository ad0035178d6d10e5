//! The in-memory state: every object as the JSON Stripe would return, its owner
//! (platform or connected account), the event log, and sim-only side data.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::ids::{new_id, now};

/// Stripe API version stamped on events (the version async-stripe 1.0.0-rc.10 pins).
pub const API_VERSION: &str = "2026-09-30.endive";

/// One stored object.
#[derive(Debug, Clone)]
pub struct Obj {
    /// `None` for the platform account, `Some(acct_…)` for a connected account.
    pub owner: Option<String>,
    /// Creation order, for newest-first lists.
    pub seq: u64,
    /// The object as Stripe returns it.
    pub json: Value,
}

/// Who caused an event: the API request id and its idempotency key, if any.
#[derive(Debug, Clone, Default)]
pub struct ReqInfo {
    /// `req_…` of the API call, `None` for dashboard/automatic actions.
    pub id: Option<String>,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// All simulated state; lives behind one mutex.
#[derive(Debug, Default)]
pub struct Store {
    seq: u64,
    objects: HashMap<String, Obj>,
    /// Every event emitted, oldest first.
    pub events: Vec<Value>,
    /// Events emitted since the last drain, handed to the webhook deliverer.
    pub outbox: Vec<Value>,
    /// Sim-only data keyed by object id (never returned by the API).
    pub internal: HashMap<String, Value>,
    /// Balance transaction id → payout id it was paid out in.
    pub payout_of: HashMap<String, String>,
    /// Whether a webhook endpoint is configured (sets `pending_webhooks`).
    pub webhook_enabled: bool,
}

impl Store {
    /// Stores a new object owned by `owner` and returns it.
    pub fn insert(&mut self, owner: Option<&str>, json: Value) -> Value {
        self.seq += 1;
        let id = json["id"].as_str().unwrap_or_default().to_owned();
        self.objects.insert(
            id,
            Obj {
                owner: owner.map(str::to_owned),
                seq: self.seq,
                json: json.clone(),
            },
        );
        json
    }

    /// Any object by id, whoever owns it (for the hosted pages and control routes).
    pub fn raw(&self, id: &str) -> Option<&Obj> {
        self.objects.get(id)
    }

    /// The object `id` of kind `object` if `owner` may see it; Stripe's 404 otherwise.
    pub fn get(
        &self,
        owner: Option<&str>,
        object: &str,
        id: &str,
        noun: &str,
        param: &str,
    ) -> Result<Value, ApiError> {
        match self.objects.get(id) {
            Some(o) if o.owner.as_deref() == owner && o.json["object"] == object => {
                Ok(o.json.clone())
            }
            _ => Err(ApiError::no_such(noun, id, param)),
        }
    }

    /// Changes a stored object in place and returns the new JSON.
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut Map<String, Value>)) -> Value {
        match self.objects.get_mut(id) {
            Some(o) => {
                if let Value::Object(map) = &mut o.json {
                    f(map);
                }
                o.json.clone()
            }
            None => Value::Null,
        }
    }

    /// All objects of a kind visible to `owner`, newest first.
    pub fn all(&self, owner: Option<&str>, object: &str) -> Vec<Value> {
        let mut found: Vec<&Obj> = self
            .objects
            .values()
            .filter(|o| o.owner.as_deref() == owner && o.json["object"] == object)
            .collect();
        found.sort_by_key(|o| std::cmp::Reverse(o.seq));
        found.into_iter().map(|o| o.json.clone()).collect()
    }

    /// Records an event (and queues it for webhook delivery).
    pub fn emit(
        &mut self,
        account: Option<&str>,
        kind: &str,
        object: &Value,
        previous: Option<Value>,
        req: &ReqInfo,
    ) -> Value {
        let mut data = Map::new();
        data.insert("object".into(), object.clone());
        if let Some(prev) = previous {
            data.insert("previous_attributes".into(), prev);
        }
        let mut ev = json!({
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": now(),
            "data": data,
            "livemode": false,
            "pending_webhooks": i64::from(self.webhook_enabled),
            "request": {"id": req.id, "idempotency_key": req.idempotency_key},
            "type": kind,
        });
        if let (Some(acct), Value::Object(map)) = (account, &mut ev) {
            map.insert("account".into(), json!(acct));
        }
        self.events.push(ev.clone());
        self.outbox.push(ev.clone());
        ev
    }

    /// Replaces top-level id strings named in `expand` (and `data.x` in lists) by the objects.
    pub fn expand(&self, value: &mut Value, expand: &[String]) {
        for path in expand {
            if let Some(field) = path.strip_prefix("data.") {
                if let Some(items) = value.get_mut("data").and_then(Value::as_array_mut) {
                    for item in items {
                        self.expand_field(item, field);
                    }
                }
            } else {
                self.expand_field(value, path);
            }
        }
    }

    fn expand_field(&self, value: &mut Value, field: &str) {
        let (head, rest) = match field.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (field, None),
        };
        let Some(slot) = value.get_mut(head) else {
            return;
        };
        if let Some(id) = slot.as_str()
            && let Some(obj) = self.objects.get(id)
        {
            *slot = obj.json.clone();
        }
        if let Some(rest) = rest {
            self.expand_field(slot, rest);
        }
    }
}

/// Pages a newest-first list the way Stripe does (`limit`, `starting_after`, `ending_before`).
pub fn paginate(items: Vec<Value>, params: &Value, url: &str) -> Result<Value, ApiError> {
    let limit = match params.get("limit").and_then(Value::as_str) {
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    Some("parameter_invalid_integer"),
                    "Invalid integer: limit must be between 1 and 100",
                    Some("limit"),
                ));
            }
        },
        None => 10,
    };
    let position = |key: &str| -> Result<Option<usize>, ApiError> {
        match params.get(key).and_then(Value::as_str) {
            None => Ok(None),
            Some(id) => items
                .iter()
                .position(|v| v["id"] == id)
                .map(Some)
                .ok_or_else(|| ApiError::no_such("object", id, key)),
        }
    };
    let (start, end) = if let Some(pos) = position("starting_after")? {
        (pos + 1, items.len().min(pos + 1 + limit))
    } else if let Some(pos) = position("ending_before")? {
        (pos.saturating_sub(limit), pos)
    } else {
        (0, items.len().min(limit))
    };
    let has_more = if params.get("ending_before").is_some() {
        start > 0
    } else {
        end < items.len()
    };
    let data: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok(json!({"object": "list", "data": data, "has_more": has_more, "url": url}))
}
