//! Authentication paths: Basic, personal access tokens, cookie sessions with CSRF,
//! throttling of failed logins, users and roles loaded through `/api/metadata`.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use serde_json::json;

use crate::harness::{TestApp, basic};

fn basic_with(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn get_with(t: &TestApp, uri: &str, header: Option<(&str, &str)>) -> crate::harness::Resp {
    let mut req = Request::get(uri);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    t.request(req.body(Body::empty()).unwrap()).await
}

fn assert_unauthorized(r: &crate::harness::Resp) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let j = r.json();
    assert_eq!(j["httpStatusCode"], 401);
    assert_eq!(j["status"], "ERROR");
    assert!(j["message"].is_string());
}

#[tokio::test]
async fn basic_auth_paths() {
    let t = TestApp::demo();
    let ok = get_with(&t, "/api/me", Some(("Authorization", &basic("admin")))).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["username"], "admin");
    for header in [
        None,
        Some(("Authorization", "")),
        Some(("Authorization", basic_with("admin", "wrong").as_str())),
        Some(("Authorization", basic_with("nobody", "district").as_str())),
        Some(("Authorization", "Basic !!!notbase64")),
        Some(("Authorization", "Bearer abc")),
    ] {
        let r = get_with(&t, "/api/me", header).await;
        assert_unauthorized(&r);
    }
    // A disabled user is refused with the right password.
    let mut reader = t.app.users().record("reader").unwrap().clone();
    reader.disabled = true;
    t.app.save_users(&[reader]).unwrap();
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Authorization", &basic("reader")))).await);
}

#[tokio::test]
async fn repeated_failures_lock_the_username_then_the_address() {
    let t = TestApp::demo();
    for _ in 0..5 {
        let r = get_with(
            &t,
            "/api/me",
            Some(("Authorization", &basic_with("importer", "x"))),
        )
        .await;
        assert_unauthorized(&r);
    }
    // Locked: even the right password is refused, with a message that says why.
    let r = get_with(&t, "/api/me", Some(("Authorization", &basic("importer")))).await;
    assert_unauthorized(&r);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Too many failed")
    );
    // Other users are not affected.
    let r = get_with(&t, "/api/me", Some(("Authorization", &basic("admin")))).await;
    assert_eq!(r.status, StatusCode::OK);

    // One address trying many usernames is locked for every username.
    let from = |user: &str, password: &str| {
        let mut req = Request::get("/api/me")
            .header("Authorization", basic_with(user, password))
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [10, 0, 0, 7],
                5000,
            ))));
        req
    };
    for i in 0..20 {
        assert_unauthorized(&t.request(from(&format!("guess{i}"), "x")).await);
    }
    let r = t.request(from("admin", "district")).await;
    assert_unauthorized(&r);
    let r = get_with(&t, "/api/me", Some(("Authorization", &basic("admin")))).await;
    assert_eq!(r.status, StatusCode::OK, "another address still works");
}

#[tokio::test]
async fn personal_access_tokens() {
    let t = TestApp::demo();
    let r = t
        .post("/api/apiToken", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let j = r.json();
    assert_eq!(j["httpStatusCode"], 201);
    assert_eq!(j["response"]["responseType"], "ApiTokenCreationResponse");
    let key = j["response"]["key"].as_str().unwrap().to_owned();
    let id = j["response"]["uid"].as_str().unwrap().to_owned();
    t.redact(&id, "[token id]");
    assert!(key.starts_with("d2pat_") && key.len() == 48, "{key}");
    let auth = format!("ApiToken {key}");

    let me = get_with(&t, "/api/me", Some(("Authorization", &auth))).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "admin");
    // As in DHIS2's e2e test: a PAT reaches parameter validation (409), not 401.
    let r = get_with(&t, "/api/dataValueSets", Some(("Authorization", &auth))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // The list never shows keys.
    let list = t.get("/api/apiToken").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text().contains(&key));
    assert_eq!(list.json()["apiToken"][0]["id"], id.as_str());

    // A token with a wrong checksum, an unknown token, a past expiry.
    let mut forged = key.clone();
    forged.replace_range(10..11, if &key[10..11] == "a" { "b" } else { "a" });
    assert_unauthorized(
        &get_with(
            &t,
            "/api/me",
            Some(("Authorization", &format!("ApiToken {forged}"))),
        )
        .await,
    );
    let unknown = tally_core::users::tokens::generate_key();
    assert_unauthorized(
        &get_with(
            &t,
            "/api/me",
            Some(("Authorization", &format!("ApiToken {unknown}"))),
        )
        .await,
    );
    let past = t
        .post(
            "/api/apiToken",
            "application/json",
            br#"{"expire": 1000}"#.to_vec(),
        )
        .await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST, "{}", past.text());

    // Revoked (expired now): refused. Someone else's token cannot be revoked.
    let other = t
        .request(
            Request::delete(format!("/api/apiToken/{id}"))
                .header("Authorization", basic("importer"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let del = t
        .request(
            Request::delete(format!("/api/apiToken/{id}"))
                .header("Authorization", basic("admin"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.text());
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Authorization", &auth))).await);

    // Tokens of a disabled user stop working.
    let r = t
        .post_as("importer", "/api/apiTokens", "application/json", Vec::new())
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let key = r.json()["response"]["key"].as_str().unwrap().to_owned();
    t.redact(
        r.json()["response"]["uid"].as_str().unwrap(),
        "[token id 2]",
    );
    let auth = format!("ApiToken {key}");
    assert_eq!(
        get_with(&t, "/api/me", Some(("Authorization", &auth)))
            .await
            .status,
        StatusCode::OK
    );
    let mut importer = t.app.users().record("importer").unwrap().clone();
    importer.disabled = true;
    t.app.save_users(&[importer]).unwrap();
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Authorization", &auth))).await);
}

fn cookie_of(r: &crate::harness::Resp) -> String {
    let set = r.header("set-cookie").expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn cookie_sessions_with_csrf_and_logout() {
    let t = TestApp::demo();
    let login = |body: serde_json::Value| {
        Request::post("/api/auth/login")
            .header("Content-Type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let bad = t
        .request(login(json!({"username": "admin", "password": "nope"})))
        .await;
    assert_unauthorized(&bad);
    assert_eq!(bad.json()["message"], "Bad credentials");
    assert!(bad.header("set-cookie").is_none());
    let r = t
        .request(login(json!({"username": "admin", "password": "district"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["loginStatus"], "SUCCESS");
    let cookie = cookie_of(&r);
    assert!(cookie.starts_with("JSESSIONID="));

    let me = get_with(&t, "/api/me", Some(("Cookie", &cookie))).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "admin");
    // The app runtime sends an empty Authorization header along with the cookie.
    let req = Request::get("/api/me")
        .header("Authorization", "")
        .header("Cookie", format!("other=1; {cookie}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(t.request(req).await.status, StatusCode::OK);

    // A state change through the cookie needs X-Requested-With or a same-origin Origin.
    let body = br#"{"dataValues":[]}"#.to_vec();
    let post = |extra: Option<(&str, &str)>| {
        let mut req = Request::post("/api/dataValueSets")
            .header("Cookie", &cookie)
            .header("Host", "tally.example:8080")
            .header("Content-Type", "application/json");
        if let Some((k, v)) = extra {
            req = req.header(k, v);
        }
        req.body(Body::from(body.clone())).unwrap()
    };
    let r = t.request(post(None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = t
        .request(post(Some(("Origin", "https://evil.example"))))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .request(post(Some(("X-Requested-With", "XMLHttpRequest"))))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .request(post(Some(("Origin", "http://tally.example:8080"))))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let out = t
        .request(
            Request::post("/api/auth/logout")
                .header("Cookie", &cookie)
                .header("X-Requested-With", "XMLHttpRequest")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Cookie", &cookie))).await);
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Cookie", "JSESSIONID=made-up"))).await);

    // loginConfig tells DHIS2 apps to use this login API.
    let config = get_with(&t, "/api/loginConfig", None).await;
    assert_eq!(config.status, StatusCode::OK);
}

#[tokio::test]
async fn users_and_roles_through_the_metadata_api() {
    let t = TestApp::demo();
    let doc = json!({
        "userRoles": [{"id": "yrB6vc5Ip3r", "name": "Data entry clerk",
                       "authorities": ["F_DATAVALUE_ADD", "F_DATAVALUE_DELETE"]}],
        "userGroups": [{"id": "wl5cDMuUhmF", "name": "Bo clerks",
                        "users": [{"id": "xE7jOejl9FI"}]}],
        "users": [{"id": "xE7jOejl9FI", "username": "boclerk", "firstName": "Ama",
                   "surname": "Koroma", "password": "Clerk-2026!",
                   "userRoles": [{"id": "yrB6vc5Ip3r"}],
                   "organisationUnits": [{"id": "O6uvpzGd5pu"}]}]
    });
    let r = t
        .post(
            "/api/metadata",
            "application/json",
            doc.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let stats = &r.json()["response"]["stats"];
    assert_eq!(stats["created"], 3, "{}", r.text());

    let auth = basic_with("boclerk", "Clerk-2026!");
    let me = get_with(&t, "/api/me/authorization", Some(("Authorization", &auth))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json(), json!(["F_DATAVALUE_ADD", "F_DATAVALUE_DELETE"]));
    let has = get_with(
        &t,
        "/api/me/authorization/F_DATAVALUE_ADD",
        Some(("Authorization", &auth)),
    )
    .await;
    assert_eq!(has.json(), json!(true));
    let has = get_with(
        &t,
        "/api/me/authorization/ALL",
        Some(("Authorization", &auth)),
    )
    .await;
    assert_eq!(has.json(), json!(false));
    let me = get_with(&t, "/api/me", Some(("Authorization", &auth))).await;
    assert_eq!(
        me.json()["organisationUnits"],
        json!([{"id": "O6uvpzGd5pu"}])
    );

    // The role's authorities change with the role; the password stays.
    let doc = json!({"userRoles": [{"id": "yrB6vc5Ip3r", "name": "Data entry clerk",
                                   "authorities": ["F_DATAVALUE_ADD"]}]});
    let r = t
        .post(
            "/api/metadata",
            "application/json",
            doc.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let me = get_with(&t, "/api/me/authorization", Some(("Authorization", &auth))).await;
    assert_eq!(me.json(), json!(["F_DATAVALUE_ADD"]));

    // Broken references refuse the whole document: nothing is created.
    let doc = json!({
        "organisationUnits": [{"id": "Zx9Kf2Lm3Qa", "name": "New clinic", "shortName": "New clinic",
                               "openingDate": "2020-01-01", "parent": {"id": "O6uvpzGd5pu"}}],
        "users": [{"id": "GOLswS44mh8", "username": "ghost", "password": "Ghost-2026!",
                   "userRoles": [{"id": "aaaaaaaaaaa"}],
                   "organisationUnits": [{"id": "bbbbbbbbbbb"}]}]
    });
    let r = t
        .post(
            "/api/metadata",
            "application/json",
            doc.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("E5002") && text.contains("aaaaaaaaaaa") && text.contains("bbbbbbbbbbb"),
        "{text}"
    );
    assert_unauthorized(
        &get_with(
            &t,
            "/api/me",
            Some(("Authorization", &basic_with("ghost", "Ghost-2026!"))),
        )
        .await,
    );
    assert!(
        t.app
            .snapshot()
            .org_unit_id(tally_domain::metadata::LookupScheme::Uid, "Zx9Kf2Lm3Qa")
            .is_none()
    );

    // Users survive a restart with their roles.
    let dir = t.into_dir();
    let t = TestApp::reopen(dir);
    let me = get_with(&t, "/api/me/authorization", Some(("Authorization", &auth))).await;
    assert_eq!(me.json(), json!(["F_DATAVALUE_ADD"]));
}

/// The paths the other tests leave out: a token that expires by itself, logins of
/// unknown and disabled users, and a session that ends when its user is disabled.
#[tokio::test]
async fn expiring_tokens_and_disabled_users_sessions() {
    let t = TestApp::demo();
    let expire = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1500;
    let r = t
        .post_as(
            "importer",
            "/api/apiToken",
            "application/json",
            json!({ "expire": expire }).to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    t.redact(r.json()["response"]["uid"].as_str().unwrap(), "[token id]");
    let auth = format!("ApiToken {}", r.json()["response"]["key"].as_str().unwrap());
    let me = get_with(&t, "/api/me", Some(("Authorization", &auth))).await;
    assert_eq!(me.status, StatusCode::OK, "valid before its expiry");
    assert_eq!(me.json()["username"], "importer");
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Authorization", &auth))).await);

    let login = |username: &str| {
        Request::post("/api/auth/login")
            .header("Content-Type", "application/json")
            .body(Body::from(
                json!({"username": username, "password": "district"}).to_string(),
            ))
            .unwrap()
    };
    // Unknown users are refused like wrong passwords.
    let r = t.request(login("nobody")).await;
    assert_unauthorized(&r);
    assert_eq!(r.json()["message"], "Bad credentials");
    assert!(r.header("set-cookie").is_none());

    // A session ends when its user is disabled, and the user cannot log in again.
    let r = t.request(login("reader")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cookie = cookie_of(&r);
    let me = get_with(&t, "/api/me", Some(("Cookie", &cookie))).await;
    assert_eq!(me.json()["username"], "reader");
    let mut reader = t.app.users().record("reader").unwrap().clone();
    reader.disabled = true;
    t.app.save_users(&[reader]).unwrap();
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Cookie", &cookie))).await);
    let r = t.request(login("reader")).await;
    assert_unauthorized(&r);
    assert!(r.header("set-cookie").is_none());
    // Basic with the right password is refused too (the other paths are in
    // `basic_auth_paths`).
    assert_unauthorized(&get_with(&t, "/api/me", Some(("Authorization", &basic("reader")))).await);
}
