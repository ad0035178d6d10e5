//! Just enough `multipart/form-data` for our own upload forms (a CSV file
//! and a few text fields): the parts of a body split on its boundary.
//! Anything malformed reads as "no such field".

/// One part: its `name`, the file name if it is a file, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub data: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<&str> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn param<'a>(disposition: &'a str, name: &str) -> Option<&'a str> {
    disposition
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// Every part of `body`, in order.
pub(crate) fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let Some(mut at) = find(body, delim.as_bytes(), 0) else {
        return out;
    };
    let next_delim = format!("\r\n--{boundary}");
    loop {
        at += delim.len();
        if body.get(at..at + 2) == Some(b"--".as_slice()) {
            break;
        }
        let Some(head_end) = find(body, b"\r\n\r\n", at) else {
            break;
        };
        let Ok(head) = std::str::from_utf8(&body[at..head_end]) else {
            break;
        };
        let start = head_end + 4;
        let Some(end) = find(body, next_delim.as_bytes(), start) else {
            break;
        };
        let disposition = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(v)
            })
            .unwrap_or("");
        if let Some(name) = param(disposition, "name") {
            out.push(Part {
                name,
                filename: param(disposition, "filename"),
                data: &body[start..end],
            });
        }
        at = end + 2;
    }
    out
}

/// The text of field `name`, if present and UTF-8.
pub(crate) fn text<'a>(parts: &[Part<'a>], name: &str) -> Option<&'a str> {
    parts
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| std::str::from_utf8(p.data).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fields_and_files() {
        let ct = "multipart/form-data; boundary=----x1";
        let b = boundary(ct).unwrap();
        assert_eq!(b, "----x1");
        let body = b"------x1\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n\
------x1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n\r\n\
------x1--\r\n";
        let p = parts(body, b);
        assert_eq!(p.len(), 2);
        assert_eq!(text(&p, "csrf_token"), Some("abc"));
        assert_eq!(p[1].filename, Some("r.csv"));
        assert_eq!(p[1].data, b"a,b\r\n1,2\r\n");
        assert!(parts(b"garbage", b).is_empty());
        assert!(boundary("application/x-www-form-urlencoded").is_none());
    }
}
