//! Paging: `paging`, `page`, `pageSize` and DHIS2's `pager` object.
//!
//! As in DHIS2 (`Pager`, `DefaultLinkService`): the page size defaults to 50, the
//! reported page is clamped to `1..=pageCount`, `pageCount` is at least 1 (also for an
//! empty list), and `nextPage`/`prevPage` are absolute links that repeat the other query
//! parameters. The items of a page past the end are empty (the query runs with the
//! requested offset) while the pager reports the last page.

use serde::Serialize;

/// DHIS2's default page size.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// The page a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number (values below 1 mean 1).
    pub page: u64,
    /// Items per page (values below 1 mean 1).
    pub page_size: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// The items of this page out of `total`: `(offset, count)`.
    #[must_use]
    pub fn window(&self, total: usize) -> (usize, usize) {
        let size = usize::try_from(self.page_size.max(1)).unwrap_or(usize::MAX);
        let page = usize::try_from(self.page.max(1)).unwrap_or(usize::MAX);
        let offset = (page - 1).saturating_mul(size).min(total);
        (offset, size.min(total - offset))
    }
}

/// DHIS2's `pager` object. Fields serialize in DHIS2's (Jackson) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pager {
    /// The page, clamped to `1..=pageCount`.
    pub page: u64,
    /// Number of matching objects.
    pub total: u64,
    /// Items per page.
    pub page_size: u64,
    /// Link to the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
    /// Link to the previous page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_page: Option<String>,
    /// Number of pages (at least 1).
    pub page_count: u64,
}

impl Pager {
    /// The pager for a request over `total` objects, without links.
    #[must_use]
    pub fn new(request: PageRequest, total: u64) -> Self {
        let page_size = request.page_size.max(1);
        let page_count = total.div_ceil(page_size).max(1);
        Self {
            page: request.page.clamp(1, page_count),
            total,
            page_size,
            next_page: None,
            prev_page: None,
            page_count,
        }
    }

    /// Adds `nextPage`/`prevPage` links. `endpoint` is the absolute collection URL
    /// (`http://host/api/dataElements`, with the request's `.json` if it had one);
    /// `params` are the request's other query parameters, already encoded
    /// (see [`encode_params`]).
    pub fn add_links(&mut self, endpoint: &str, params: &str) {
        let default_size = self.page_size == DEFAULT_PAGE_SIZE;
        let tail = |first: bool| {
            if params.is_empty() {
                String::new()
            } else if first {
                format!("?{params}")
            } else {
                format!("&{params}")
            }
        };
        let size = if default_size {
            String::new()
        } else {
            format!("&pageSize={}", self.page_size)
        };
        if self.page < self.page_count {
            self.next_page = Some(format!(
                "{endpoint}?page={}{size}{}",
                self.page + 1,
                tail(false)
            ));
        }
        if self.page > 1 {
            self.prev_page = Some(if self.page == 2 {
                if default_size {
                    format!("{endpoint}{}", tail(true))
                } else {
                    format!("{endpoint}?pageSize={}{}", self.page_size, tail(false))
                }
            } else {
                format!("{endpoint}?page={}{size}{}", self.page - 1, tail(false))
            });
        }
    }
}

/// Encodes query parameters as Java's `URLEncoder` does (what DHIS2's links use),
/// leaving out `page` and `pageSize`.
#[must_use]
pub fn encode_params(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .filter(|(k, _)| k != "page" && k != "pageSize")
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(page: u64, page_size: u64) -> PageRequest {
        PageRequest { page, page_size }
    }

    #[test]
    fn dhis2_pager_shape_and_links() {
        let mut p = Pager::new(req(2, 50), 120);
        assert_eq!((p.page, p.page_count), (2, 3));
        p.add_links("http://h/api/dataElements", "fields=id%2Cname");
        assert_eq!(
            p.next_page.as_deref(),
            Some("http://h/api/dataElements?page=3&fields=id%2Cname")
        );
        assert_eq!(
            p.prev_page.as_deref(),
            Some("http://h/api/dataElements?fields=id%2Cname")
        );
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"page":2,"total":120,"pageSize":50,"nextPage":"http://h/api/dataElements?page=3&fields=id%2Cname","prevPage":"http://h/api/dataElements?fields=id%2Cname","pageCount":3}"#
        );
        let mut p = Pager::new(req(3, 10), 120);
        p.add_links("/api/x", "");
        assert_eq!(p.next_page.as_deref(), Some("/api/x?page=4&pageSize=10"));
        assert_eq!(p.prev_page.as_deref(), Some("/api/x?page=2&pageSize=10"));
        let mut p = Pager::new(req(2, 10), 120);
        p.add_links("/api/x", "a=b");
        assert_eq!(p.prev_page.as_deref(), Some("/api/x?pageSize=10&a=b"));
        let empty = Pager::new(req(1, 50), 0);
        assert_eq!((empty.page, empty.page_count), (1, 1));
        assert_eq!(
            encode_params(&[
                ("page".into(), "2".into()),
                ("filter".into(), "name:ilike:a b".into()),
                ("fields".into(), "id,children[id]".into()),
            ]),
            "filter=name%3Ailike%3Aa+b&fields=id%2Cchildren%5Bid%5D"
        );
    }

    proptest! {
        #[test]
        fn pages_partition_the_list(total in 0usize..400, size in 1u64..60, extra in 1u64..5) {
            let pager = Pager::new(req(1, size), total as u64);
            let mut seen = 0usize;
            for page in 1..=pager.page_count {
                let (offset, count) = req(page, size).window(total);
                prop_assert_eq!(offset, seen, "pages are contiguous");
                prop_assert!(count as u64 <= size);
                if page < pager.page_count {
                    prop_assert_eq!(count as u64, size, "only the last page is short");
                }
                seen += count;
                let p = Pager::new(req(page, size), total as u64);
                prop_assert_eq!(p.page, page);
            }
            prop_assert_eq!(seen, total, "every item on exactly one page");
            // Past the end: no items, the pager reports the last page.
            let past = pager.page_count + extra;
            prop_assert_eq!(req(past, size).window(total).1, 0);
            let p = Pager::new(req(past, size), total as u64);
            prop_assert_eq!(p.page, p.page_count);
            prop_assert!(p.page_count >= 1);
        }

        #[test]
        fn links_exist_exactly_when_there_is_a_neighbour(total in 0u64..500, size in 1u64..80, page in 0u64..20) {
            let mut p = Pager::new(req(page, size), total);
            p.add_links("/api/x", "");
            prop_assert_eq!(p.next_page.is_some(), p.page < p.page_count);
            prop_assert_eq!(p.prev_page.is_some(), p.page > 1);
            prop_assert!(p.page >= 1 && p.page <= p.page_count);
        }
    }
}
