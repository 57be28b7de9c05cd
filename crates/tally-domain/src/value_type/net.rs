//! EMAIL and URL rules of §4.4: Apache Commons Validator's `EmailValidator` (no local
//! addresses, no bare TLDs) and `UrlValidator` with its defaults (schemes http, https and
//! ftp; no local hosts; no `//` in the path; fragments allowed), rewritten by hand.
//!
//! Two parts of those validators are approximated because they rest on data tables:
//!
//! * **Top-level domains.** Commons checks the last label against the IANA list
//!   compiled into the library. Here a TLD is accepted when it looks like one: at least
//!   two letters, or an `xn--` IDN label. So `a@example.com` passes and `a@example.c`,
//!   `a@example.123` and `http://localhost` fail as in DHIS2, but a well-formed yet
//!   unassigned TLD such as `.invalid` passes here and fails in DHIS2.
//! * **Internationalised names.** Commons converts a non-ASCII host with Java's
//!   `IDN.toASCII` before checking it. Here a non-ASCII label is accepted when it
//!   consists of letters, digits and inner hyphens.

use super::{is_java_space, is_line_terminator};

/// Longest domain name DHIS2 accepts (after IDN conversion), in characters.
const MAX_DOMAIN_LENGTH: usize = 253;

/// Longest local part of an e-mail address, in UTF-16 code units.
const MAX_EMAIL_USER_LENGTH: usize = 64;

// ---------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------

/// EMAIL, as `EmailValidator.getInstance().isValid`:
///
/// 1. a value ending in `.` is invalid;
/// 2. the whole value must match `^(.+)@(\S+)$`, which splits at the last `@`;
/// 3. the local part must be at most 64 characters of dot-separated words, each either
///    a run of permitted characters (with `\x` escapes) or a quoted string;
/// 4. the domain must be a valid domain name, or an IP address in brackets.
pub(super) fn is_email(s: &str) -> bool {
    if s.ends_with('.') {
        return false;
    }
    let Some((user, domain)) = s.rsplit_once('@') else {
        return false;
    };
    // `(.+)` cannot cross a line terminator and `(\S+)` cannot hold ASCII whitespace;
    // any other split would leave an `@` in the domain, which never validates.
    if user.is_empty() || domain.is_empty() {
        return false;
    }
    if user.chars().any(is_line_terminator) || domain.chars().any(is_java_space) {
        return false;
    }
    is_email_user(user) && is_email_domain(domain)
}

/// A character allowed unescaped in an unquoted word of the local part: anything but
/// ASCII whitespace, ASCII controls and `()<>@,;:\".[]`; the apostrophe is allowed.
fn is_atom_char(c: char) -> bool {
    !(is_java_space(c)
        || c.is_ascii_control()
        || matches!(
            c,
            '(' | ')' | '<' | '>' | '@' | ',' | ';' | ':' | '\\' | '"' | '.' | '[' | ']'
        ))
}

/// The local part, `^WORD(\.WORD)*$` with `WORD = ((\\.|[^specials])|')+ | "(\\"|[^"])*"`.
fn is_email_user(user: &str) -> bool {
    if user.encode_utf16().nth(MAX_EMAIL_USER_LENGTH).is_some() {
        return false;
    }
    // At most 64 UTF-16 units means at most 192 bytes; remember failed word starts so
    // quoted words with many possible ends cannot make the search exponential.
    let mut failed = [false; 3 * MAX_EMAIL_USER_LENGTH + 1];
    words_from(user, 0, &mut failed)
}

/// Whether `user[start..]` is `WORD(\.WORD)*`.
fn words_from(user: &str, start: usize, failed: &mut [bool]) -> bool {
    if failed.get(start).copied().unwrap_or(false) {
        return false;
    }
    let rest = user.get(start..).unwrap_or_default();
    let mut ok = false;
    if let Some(len) = atom_word_len(rest) {
        ok = after_word(user, start + len, failed);
    }
    if !ok && rest.starts_with('"') {
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            if c == '"' {
                // Every `"` can close the word; one not preceded by `\` must close it.
                if after_word(user, start + i + 1, failed) {
                    ok = true;
                    break;
                }
                if !escaped {
                    break;
                }
            }
            escaped = c == '\\';
        }
    }
    if !ok && let Some(slot) = failed.get_mut(start) {
        *slot = true;
    }
    ok
}

/// After a word ending at `end`: either the end of the local part, or `.` and more words.
fn after_word(user: &str, end: usize, failed: &mut [bool]) -> bool {
    match user.get(end..) {
        Some("") => true,
        Some(rest) if rest.starts_with('.') => words_from(user, end + 1, failed),
        _ => false,
    }
}

/// Length in bytes of the unquoted word at the start of `s`, if there is one. Its
/// tokens are `\` plus any character but a line terminator, or an atom character; no
/// token starts with `.`, so only the longest run can be followed by `.` or the end.
fn atom_word_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().peekable();
    let mut end = 0;
    while let Some(&(i, c)) = chars.peek() {
        if c == '\\' {
            chars.next();
            match chars.next() {
                Some((j, e)) if !is_line_terminator(e) => end = j + e.len_utf8(),
                _ => break,
            }
        } else if is_atom_char(c) {
            chars.next();
            end = i + c.len_utf8();
        } else {
            break;
        }
    }
    (end > 0).then_some(end)
}

/// The domain of an e-mail address: `[IPv4]` or `[IPv6]`, else a domain name.
fn is_email_domain(domain: &str) -> bool {
    if let Some(ip) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return is_ipv4(ip) || is_ipv6(ip);
    }
    is_domain_name(domain)
}

// ---------------------------------------------------------------------------------
// Domain names and IP addresses
// ---------------------------------------------------------------------------------

/// `DomainValidator.isValid` without local names: two or more dot-separated labels,
/// an optional final dot, at most 253 characters, and a plausible top-level domain.
/// ASCII labels are 1-63 letters, digits or hyphens, starting and ending with a letter
/// or digit; the top label starts with a letter.
fn is_domain_name(domain: &str) -> bool {
    if !domain.is_ascii() {
        return is_idn_domain_name(domain);
    }
    if domain.len() > MAX_DOMAIN_LENGTH {
        return false;
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    labels.split('.').all(is_ascii_label)
        && is_ascii_label(tld)
        && tld.starts_with(|c: char| c.is_ascii_alphabetic())
        && is_plausible_tld(tld)
}

fn is_ascii_label(label: &str) -> bool {
    let b = label.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Stand-in for the IANA list: two or more letters, or an `xn--` label.
fn is_plausible_tld(tld: &str) -> bool {
    let b = tld.as_bytes();
    let is_idn = b.len() > 4 && b[..4].eq_ignore_ascii_case(b"xn--");
    is_idn || (b.len() >= 2 && b.iter().all(u8::is_ascii_alphabetic))
}

/// Approximation of `IDN.toASCII` followed by [`is_domain_name`]: labels split on the
/// four IDN dots, each made of letters, digits and inner hyphens; the top label made of
/// letters only (two or more).
fn is_idn_domain_name(domain: &str) -> bool {
    let is_dot = |c: char| matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}');
    let domain = domain.strip_suffix(is_dot).unwrap_or(domain);
    let Some((labels, tld)) = domain.rsplit_once(is_dot) else {
        return false;
    };
    // The ASCII form is never shorter than the Unicode one, so these length limits are
    // necessary conditions.
    let label_ok = |label: &str| {
        (1..=63).contains(&label.chars().count())
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let tld_ok =
        (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)) || is_plausible_tld(tld);
    domain.chars().count() <= MAX_DOMAIN_LENGTH
        && labels.split(is_dot).all(label_ok)
        && label_ok(tld)
        && tld_ok
}

/// `InetAddressValidator.isValidInet4Address`: four decimal parts of one to three
/// digits, each at most 255, without leading zeros.
fn is_ipv4(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        parts += 1;
        let b = part.as_bytes();
        let ok = (1..=3).contains(&b.len())
            && b.iter().all(u8::is_ascii_digit)
            && !(b.len() > 1 && b[0] == b'0')
            && part.parse::<u16>().is_ok_and(|v| v <= 255);
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

/// An IPv6 address: up to eight groups of one to four hex digits separated by `:`, at
/// most one `::` standing for one or more zero groups, and optionally an IPv4 address
/// in place of the last two groups. (Commons also accepts a `%zone` and a `/prefix`;
/// those are not useful in e-mail or URL hosts and are refused here.)
fn is_ipv6(s: &str) -> bool {
    let (head, tail, compressed) = match s.split_once("::") {
        Some((head, tail)) => {
            if tail.contains("::") {
                return false;
            }
            (head, tail, true)
        }
        None => (s, "", false),
    };
    let mut groups = 0;
    for (side, text) in [(0, head), (1, tail)] {
        if text.is_empty() {
            continue;
        }
        let parts: usize = text.split(':').count();
        for (i, part) in text.split(':').enumerate() {
            let last_of_address = i + 1 == parts && (side == 1 || !compressed);
            if last_of_address && part.contains('.') {
                if !is_ipv4(part) {
                    return false;
                }
                groups += 2;
                continue;
            }
            if !(1..=4).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return false;
            }
            groups += 1;
        }
    }
    if compressed { groups < 8 } else { groups == 8 }
}

// ---------------------------------------------------------------------------------
// URL
// ---------------------------------------------------------------------------------

/// Characters `java.net.URI` accepts outside the ASCII range: anything that is not an
/// ISO control and not a Unicode space separator.
fn is_uri_other(c: char) -> bool {
    !c.is_ascii() && !('\u{80}'..='\u{9F}').contains(&c) && !c.is_whitespace()
}

/// RFC 2396 `unreserved`: letters, digits and `-_.!~*'()`.
fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '!' | '~' | '*' | '\'' | '(' | ')')
}

/// Checks that every character of `s` is legal for `java.net.URI` in a component whose
/// extra ASCII characters are given by `extra`: unreserved characters, `%` followed by
/// two hex digits, and non-ASCII "other" characters are always legal.
fn uri_chars_ok(s: &str, extra: fn(char) -> bool) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit());
            if !(hex(chars.next()) && hex(chars.next())) {
                return false;
            }
        } else if !(is_unreserved(c) || is_uri_other(c) || extra(c)) {
            return false;
        }
    }
    true
}

/// URL, as `new UrlValidator().isValid` (commons-validator 1.7+, which first parses the
/// value as a `java.net.URI`):
///
/// * the scheme is `http`, `https` or `ftp`, in any case;
/// * `//` and a non-empty authority follow: `[userinfo@]host[:port]` where the host is
///   a domain name (see the module notes), an IPv4 address, or `[IPv6]`, and the port,
///   if any digits are given, is at most 65535;
/// * the path is empty or `/` followed by `-`, letters, digits, `_` and
///   `:@&?=+,.!/~*'%$;()`, never contains `//`, and never climbs above the root with
///   `..`;
/// * the query and fragment may hold any legal URI characters.
pub(super) fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = ["http", "https", "ftp"]
        .iter()
        .any(|known| scheme.eq_ignore_ascii_case(known));
    if !scheme_ok {
        return false;
    }
    let Some(rest) = rest.strip_prefix("//") else {
        // An opaque URI (`http:x`) or one without authority has no host to check.
        return false;
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let uric = |c: char| {
        matches!(
            c,
            ';' | '/' | '?' | ':' | '@' | '&' | '=' | '+' | '$' | ',' | '[' | ']'
        )
    };
    let fragment_ok = fragment.is_none_or(|f| uri_chars_ok(f, uric));
    let query_ok = query.is_none_or(|q| uri_chars_ok(q, uric));
    fragment_ok && query_ok && is_url_authority(authority) && is_url_path(path)
}

/// The authority: legal URI characters, then commons' pattern
/// `(?:\[(IPv6)\]|(?:userinfo@)?([\p{Alnum}\-.]*))(?::(\d*))?(.*)` with an empty tail.
fn is_url_authority(authority: &str) -> bool {
    let legal = |c: char| matches!(c, '$' | ',' | ';' | ':' | '@' | '&' | '=' | '+' | '[' | ']');
    if authority.is_empty() || !uri_chars_ok(authority, legal) {
        return false;
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((ip, after)) = bracketed.split_once(']') else {
            return false;
        };
        let shape_ok = ip.strip_prefix("::FFFF:").is_some_and(is_ipv4)
            || (!ip.is_empty() && ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'));
        return shape_ok && is_ipv6(ip) && is_port_and_nothing_else(after);
    }
    let host_and_port = match userinfo_len(authority) {
        Some(len) => &authority[len..],
        None => authority,
    };
    let host_len = host_and_port
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '-' || c == '.'))
        .map_or(host_and_port.len(), |(i, _)| i);
    let (host, after) = host_and_port.split_at(host_len);
    (is_domain_name(host) || is_ipv4(host)) && is_port_and_nothing_else(after)
}

/// Length of a `userinfo@` prefix: one or more characters of
/// `[a-zA-Z0-9%-._~!$&'()*+,;=]` (the `%-.` is a range in commons' pattern, which adds
/// `&'()*+,`), optionally `:` and more of them, then `@`.
fn userinfo_len(authority: &str) -> Option<usize> {
    let is_info = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'%'..=b'.' | b'_' | b'~' | b'!' | b'$' | b';' | b'=')
    };
    let b = authority.as_bytes();
    let name = b.iter().take_while(|&&c| is_info(c)).count();
    if name == 0 {
        return None;
    }
    let mut end = name;
    if b.get(end) == Some(&b':') {
        end += 1;
        end += b[end..].iter().take_while(|&&c| is_info(c)).count();
    }
    (b.get(end) == Some(&b'@')).then_some(end + 1)
}

/// `(?::(\d*))?` with nothing after it: an optional `:` and port of at most 65535
/// (an empty port is allowed).
fn is_port_and_nothing_else(s: &str) -> bool {
    match s.strip_prefix(':') {
        None => s.is_empty(),
        Some("") => true,
        Some(port) => {
            port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| p <= 65_535)
        }
    }
}

/// The path: `^(/[-\w:@&?=+,.!/~*'%$;()]*)?$` (ASCII `\w`), no `//`, and no `..`
/// segment that would climb above the root once `.` and `x/..` are resolved.
fn is_url_path(path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    let chars_ok = path.starts_with('/')
        && path.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_'
                        | b':'
                        | b'@'
                        | b'&'
                        | b'?'
                        | b'='
                        | b'+'
                        | b','
                        | b'.'
                        | b'!'
                        | b'/'
                        | b'~'
                        | b'*'
                        | b'\''
                        | b'%'
                        | b'$'
                        | b';'
                        | b'('
                        | b')'
                )
        });
    // java.net.URI also requires every `%` to start an escape.
    if !chars_ok
        || path.contains("//")
        || !uri_chars_ok(path, |c| {
            matches!(c, ':' | '@' | '&' | '=' | '+' | '$' | ',' | ';' | '/')
        })
    {
        return false;
    }
    let mut depth = 0usize;
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => depth += 1,
        }
    }
    true
}
