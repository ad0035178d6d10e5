//! Stripe's form encoding: `a[b][c]=x`, `a[0][b]=y`, `a[]=z` → a JSON tree of strings.

use serde_json::{Map, Value};

/// Decodes `%XX` escapes and `+` (space) in one form component.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hi = (bytes[i + 1] as char).to_digit(16);
                let lo = (bytes[i + 2] as char).to_digit(16);
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `a[b][0][]` into `["a", "b", "0", ""]`.
fn split_key(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    parts.push(head.to_owned());
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(end) => {
                parts.push(stripped[..end].to_owned());
                rest = &stripped[end + 1..];
            }
            None => break,
        }
    }
    parts
}

/// Inserts `value` at `path` below `node`, creating objects and arrays on the way.
/// Numeric segments and `[]` address arrays (kept as objects keyed by index until
/// [`finish`] turns them into arrays, so that sparse or unordered indices work).
fn insert(node: &mut Map<String, Value>, path: &[String], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = if first.is_empty() {
        // `a[]=x`: append
        format!("{:010}", node.len())
    } else if first.chars().all(|c| c.is_ascii_digit()) {
        format!("{:010}", first.parse::<u64>().unwrap_or(0))
    } else {
        first.clone()
    };
    if rest.is_empty() {
        node.insert(key, Value::String(value));
        return;
    }
    let child = node.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(map) = child {
        insert(map, rest, value);
    }
}

/// Turns objects whose keys are all zero-padded indices into arrays, recursively.
fn finish(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_array = !map.is_empty()
                && map
                    .keys()
                    .all(|k| k.len() == 10 && k.chars().all(|c| c.is_ascii_digit()));
            if is_array {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Array(entries.into_iter().map(|(_, v)| finish(v)).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, finish(v))).collect())
            }
        }
        other => other,
    }
}

/// Parses a form-encoded body or query string into a JSON object of strings.
pub fn parse(input: &str) -> Value {
    let mut root = Map::new();
    for pair in input.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k);
        let path = split_key(&key);
        insert(&mut root, &path, decode(v));
    }
    finish(Value::Object(root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_arrays_and_escapes() {
        let v = parse(
            "amount=1000&metadata[bill_id]=b%201&line_items[1][quantity]=2&line_items[0][price_data][unit_amount]=5\
             &payment_method_types[]=card&payment_method_types[]=us_bank_account&expand%5B0%5D=latest_charge&x=a+b",
        );
        assert_eq!(
            v,
            json!({
                "amount": "1000",
                "metadata": {"bill_id": "b 1"},
                "line_items": [{"price_data": {"unit_amount": "5"}}, {"quantity": "2"}],
                "payment_method_types": ["card", "us_bank_account"],
                "expand": ["latest_charge"],
                "x": "a b"
            })
        );
    }
}
