//! Prometheus metrics, served on their own listen address (never on the
//! public one). Kept dependency-free: a few counters and one histogram
//! family are all the product needs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in milliseconds.
const BUCKETS_MS: &[u64] = &[1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

#[derive(Debug, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS_MS.len()],
    count: u64,
    sum_ms: u64,
}

/// One series of a route: its method and status.
#[derive(Debug, Clone)]
struct Series {
    method: String,
    status: u16,
    h: Histogram,
}

/// HTTP request metrics by (method, route, status).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// Route → its series. Looked up by the borrowed route and method, so
    /// a request of a series seen before allocates nothing.
    series: Mutex<HashMap<String, Vec<Series>>>,
}

impl HttpMetrics {
    /// Records one finished request. `route` is the matched template, so
    /// the number of series stays bounded.
    pub fn observe(&self, method: &str, route: &str, status: u16, latency_ms: u64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let of_route = match series.get_mut(route) {
            Some(v) => v,
            None => series.entry(route.to_owned()).or_default(),
        };
        let at = match of_route
            .iter()
            .position(|s| s.status == status && s.method == method)
        {
            Some(i) => i,
            None => {
                of_route.push(Series {
                    method: method.to_owned(),
                    status,
                    h: Histogram {
                        buckets: [0; BUCKETS_MS.len()],
                        count: 0,
                        sum_ms: 0,
                    },
                });
                of_route.len() - 1
            }
        };
        let h = &mut of_route[at].h;
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            if latency_ms <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum_ms += latency_ms;
    }

    /// Appends the exposition text for the HTTP histogram.
    pub fn render(&self, out: &mut String) {
        let mut series: Vec<(String, String, u16, Histogram)> = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flat_map(|(route, v)| {
                v.iter()
                    .map(|s| (s.method.clone(), route.clone(), s.status, s.h.clone()))
            })
            .collect();
        series.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
        out.push_str(
            "# HELP aqueduct_http_request_duration_ms HTTP request latency by route and status.\n",
        );
        out.push_str("# TYPE aqueduct_http_request_duration_ms histogram\n");
        for (method, route, status, h) in &series {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                escape(method),
                escape(route)
            );
            for (bound, n) in BUCKETS_MS.iter().zip(&h.buckets) {
                let _ = writeln!(
                    out,
                    "aqueduct_http_request_duration_ms_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "aqueduct_http_request_duration_ms_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "aqueduct_http_request_duration_ms_sum{{{labels}}} {}",
                h.sum_ms
            );
            let _ = writeln!(
                out,
                "aqueduct_http_request_duration_ms_count{{{labels}}} {}",
                h.count
            );
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends one gauge.
pub fn gauge(out: &mut String, name: &str, help: &str, value: i64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// Appends one counter.
pub fn counter(out: &mut String, name: &str, help: &str, value: i64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

/// Job kind of the scheduled backup, whose last success is the backup age.
pub const BACKUP_JOB: &str = "backup.run";

/// One gauge with a value per label value, e.g. per job kind.
pub fn labelled_gauge(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, i64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (v, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_gauges_escape_their_labels() {
        let mut out = String::new();
        labelled_gauge(&mut out, "g", "Help.", "kind", &[("a\"b", 3), ("c", 0)]);
        assert!(out.contains("# TYPE g gauge\n"), "{out}");
        assert!(out.contains("g{kind=\"a\\\"b\"} 3\n"), "{out}");
        assert!(out.contains("g{kind=\"c\"} 0\n"), "{out}");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = HttpMetrics::default();
        m.observe("GET", "/healthz", 200, 3);
        m.observe("GET", "/healthz", 200, 40);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains(r#"aqueduct_http_request_duration_ms_bucket{method="GET",route="/healthz",status="200",le="2"} 0"#));
        assert!(out.contains(r#"aqueduct_http_request_duration_ms_bucket{method="GET",route="/healthz",status="200",le="5"} 1"#));
        assert!(out.contains(r#"aqueduct_http_request_duration_ms_bucket{method="GET",route="/healthz",status="200",le="50"} 2"#));
        assert!(out.contains(r#"aqueduct_http_request_duration_ms_count{method="GET",route="/healthz",status="200"} 2"#));
        assert!(out.contains(r#"aqueduct_http_request_duration_ms_sum{method="GET",route="/healthz",status="200"} 43"#));
    }
}
