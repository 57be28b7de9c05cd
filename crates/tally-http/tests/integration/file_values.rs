//! File resources and file values (spec §6.6): `POST /api/fileResources`,
//! `GET /api/fileResources/{id}[/data]`, `POST /api/dataValues/file`,
//! `GET /api/dataValues/files`, and FILE_RESOURCE/IMAGE values through
//! `/api/dataValues`.

use axum::http::StatusCode;

use crate::harness::{Resp, TestApp};

const NGELEHUN: &str = "DiszpKrYNg8";
const MEASLES: &str = "f7n9E0hX8qk";
const FILE_DE: &str = "dvFileElem1";
const IMAGE_DE: &str = "dvImageEl01";

const FILE_METADATA: &str = r#"{
  "dataElements": [
    {"id": "dvFileElem1", "name": "DV file", "shortName": "DV file",
     "valueType": "FILE_RESOURCE", "domainType": "AGGREGATE", "aggregationType": "NONE",
     "categoryCombo": {"id": "bjDvmb4bfuf"}},
    {"id": "dvImageEl01", "name": "DV image", "shortName": "DV image",
     "valueType": "IMAGE", "domainType": "AGGREGATE", "aggregationType": "NONE",
     "categoryCombo": {"id": "bjDvmb4bfuf"}}
  ],
  "dataSets": [
    {"id": "dvFileSet01", "name": "DV file set", "shortName": "DV file set",
     "periodType": "Monthly", "categoryCombo": {"id": "bjDvmb4bfuf"},
     "expiryDays": 0, "openFuturePeriods": 0,
     "dataSetElements": [{"dataElement": {"id": "dvFileElem1"}},
                         {"dataElement": {"id": "dvImageEl01"}}],
     "organisationUnits": [{"id": "DiszpKrYNg8"}]}
  ]
}"#;

fn demo() -> TestApp {
    TestApp::demo_with(FILE_METADATA)
}

const BOUNDARY: &str = "tallyBoundary7MA4YWxkTrZu0gW";

/// One multipart part: name, `Some((file name, content type))` for a file, bytes.
type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A multipart body and its content type.
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some((file_name, content_type)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

async fn upload_as(t: &TestApp, user: &str, uri: &str, file: Option<(&str, &str, &[u8])>) -> Resp {
    let parts: Vec<Part<'_>> = file
        .map(|(name, ct, bytes)| ("file", Some((name, ct)), bytes))
        .into_iter()
        .collect();
    let (content_type, body) = multipart(&parts);
    t.post_as(user, uri, &content_type, body).await
}

async fn upload(t: &TestApp, uri: &str, file: Option<(&str, &str, &[u8])>) -> Resp {
    upload_as(t, "admin", uri, file).await
}

/// Uploads a DATA_VALUE resource and returns its id (redacted in the transcript).
async fn new_resource(t: &TestApp, label: &str, name: &str, bytes: &[u8]) -> String {
    let r = upload(
        t,
        "/api/fileResources",
        Some((name, "application/pdf", bytes)),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["response"]["fileResource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.redact(&id, &format!("[{label}]"));
    id
}

fn blobs(t: &TestApp) -> usize {
    std::fs::read_dir(t.app.files_dir())
        .map(|d| d.filter_map(Result::ok).count())
        .unwrap_or(0)
}

fn value_uri(de: &str, pe: &str) -> String {
    format!("de={de}&pe={pe}&ou={NGELEHUN}")
}

#[tokio::test]
async fn file_resources_upload_read_and_content() {
    let t = demo();
    let r = upload(
        &t,
        "/api/fileResources",
        Some(("hello.txt", "text/plain", b"hello")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let j = r.json();
    assert_eq!(j["httpStatus"], "Accepted");
    assert_eq!(j["status"], "OK");
    assert_eq!(j["response"]["responseType"], "FileResource");
    let fr = &j["response"]["fileResource"];
    let id = fr["id"].as_str().unwrap().to_owned();
    t.redact(&id, "[hello]");
    assert_eq!(fr["name"], "hello.txt");
    assert_eq!(fr["contentType"], "text/plain");
    assert_eq!(fr["contentLength"], 5);
    assert_eq!(fr["contentMd5"], "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(fr["storageStatus"], "STORED");
    assert_eq!(fr["domain"], "DATA_VALUE");
    assert_eq!(fr["assigned"], false);
    let blob = t.app.files_dir().join(
        // SHA-256 of "hello": the content is addressed by its digest.
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    );
    assert_eq!(std::fs::read(&blob).unwrap(), b"hello");

    let r = t.get(&format!("/api/fileResources/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.json(), fr);
    let r = t.get(&format!("/api/fileResources/{id}/data")).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "DATA_VALUE content only via its value"
    );
    assert_eq!(
        r.json()["message"],
        format!(
            "You don't have access to fileResource '{id}' or this fileResource is not available from this endpoint"
        )
    );
    let r = t.get("/api/fileResources/abcdefghijk").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["message"],
        "FileResource with id abcdefghijk could not be found."
    );

    // Another domain serves its content; equal content shares one stored file.
    let r = upload(
        &t,
        "/api/fileResources?domain=DOCUMENT&uid=docResourc1",
        Some(("note.txt", "text/plain", b"hello")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["response"]["fileResource"]["id"], "docResourc1");
    assert_eq!(blobs(&t), 1);
    let r = t.get("/api/fileResources/docResourc1/data").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("content-disposition"), Some("filename=note.txt"));
    assert_eq!(r.header("content-length"), Some("5"));
    let again = upload(
        &t,
        "/api/fileResources?uid=docResourc1",
        Some(("x.txt", "text/plain", b"x")),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a taken uid");

    // Limits and bad input change nothing.
    let big = vec![b'a'; 10_000_001];
    let r = upload(
        &t,
        "/api/fileResources",
        Some(("big.bin", "application/octet-stream", &big)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["message"],
        "File size can't be bigger than 10000000, current file size 10000001"
    );
    let r = upload(&t, "/api/fileResources", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = upload(
        &t,
        "/api/fileResources?domain=NOPE",
        Some(("x.txt", "text/plain", b"x")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(blobs(&t), 1, "nothing stored by the refused uploads");
}

#[tokio::test]
async fn file_values_are_set_read_replaced_and_deleted() {
    let t = demo();
    let jan = value_uri(FILE_DE, "202401");
    let r = upload(
        &t,
        &format!("/api/dataValues/file?{jan}&comment=scan"),
        Some(("report.pdf", "application/pdf", b"%PDF-1 january")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let fr = r.json()["response"]["fileResource"].clone();
    let first = fr["id"].as_str().unwrap().to_owned();
    t.redact(&first, "[january]");
    assert_eq!(fr["assigned"], true);
    assert_eq!(fr["domain"], "DATA_VALUE");

    let r = t.get(&format!("/api/dataValues?{jan}")).await;
    assert_eq!(r.json(), serde_json::json!([first]));
    let r = t
        .get(&format!("/api/dataValues/files?{jan}&dimension=original"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, b"%PDF-1 january");
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(r.header("content-disposition"), Some("filename=report.pdf"));
    assert!(r.header("cache-control").unwrap().contains("no-store"));

    // The legacy two-step flow: upload, then set the id as the value.
    let feb = value_uri(FILE_DE, "202402");
    let second = new_resource(&t, "february", "feb.pdf", b"%PDF-1 february").await;
    let r = t
        .post(&format!("/api/dataValues?{feb}&value={second}"), "", vec![])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = t.get(&format!("/api/fileResources/{second}")).await;
    assert_eq!(r.json()["assigned"], true);
    // A file resource belongs to one value only; an unknown one is a 404.
    let mar = value_uri(FILE_DE, "202403");
    let r = t
        .post(&format!("/api/dataValues?{mar}&value={second}"), "", vec![])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["errorCode"], "E2026");
    let r = t
        .post(
            &format!("/api/dataValues?{mar}&value=abcdefghijk"),
            "",
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["message"],
        "FileResource with id abcdefghijk could not be found."
    );
    // Saving the same value again is fine (the resource is this value's own).
    let r = t
        .post(&format!("/api/dataValues?{feb}&value={second}"), "", vec![])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    // Replacing January's file deletes the old resource and its content.
    assert_eq!(blobs(&t), 2);
    let r = upload(
        &t,
        &format!("/api/dataValues/file?{jan}"),
        Some(("report-v2.pdf", "application/pdf", b"%PDF-1 january v2")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let third = r.json()["response"]["fileResource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.redact(&third, "[january v2]");
    let r = t.get(&format!("/api/fileResources/{first}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "replaced file is deleted");
    assert_eq!(blobs(&t), 2);

    // Deleting the value deletes its file.
    let r = t
        .request(
            axum::http::Request::delete(format!("/api/dataValues?{feb}"))
                .header("Authorization", crate::harness::basic("admin"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = t.get(&format!("/api/fileResources/{second}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.get(&format!("/api/dataValues/files?{feb}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["message"], "Data value does not exist");
    assert_eq!(blobs(&t), 1);

    // No file: the value is cleared (and its file deleted).
    let r = upload(&t, &format!("/api/dataValues/file?{jan}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert!(r.json().get("response").is_none());
    let r = t.get(&format!("/api/dataValues?{jan}")).await;
    assert_eq!(
        r.json(),
        serde_json::json!([null]),
        "the comment keeps the row, without a value"
    );
    let r = t.get(&format!("/api/fileResources/{third}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(blobs(&t), 0);
}

#[tokio::test]
async fn refused_file_values_leave_nothing_behind() {
    let t = demo();
    // A bad org unit: 409, and the uploaded resource is gone again.
    let r = upload(
        &t,
        &format!("/api/dataValues/file?de={FILE_DE}&pe=202401&ou=xxxxxxxxxxx"),
        Some(("a.pdf", "application/pdf", b"%PDF a")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["errorCode"], "E1102");
    assert_eq!(blobs(&t), 0);
    // Too big: 409 before anything is stored.
    let big = vec![b'b'; 10_000_001];
    let r = upload(
        &t,
        &format!("/api/dataValues/file?{}", value_uri(FILE_DE, "202401")),
        Some(("big.pdf", "application/pdf", &big)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["message"],
        "File size can't be bigger than 10000000, current file size 10000001"
    );
    // IMAGE values need an image: E2027, and the resource is deleted (DHIS2).
    let img = value_uri(IMAGE_DE, "202401");
    let r = upload(
        &t,
        &format!("/api/dataValues/file?{img}"),
        Some(("notes.txt", "text/plain", b"not an image")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["errorCode"], "E2027");
    assert_eq!(
        r.json()["message"],
        "File resource is invalid: `not_valid_file_content_type`"
    );
    assert_eq!(blobs(&t), 0);
    let r = t.get(&format!("/api/dataValues?{img}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no value stored");
    let r = upload(
        &t,
        &format!("/api/dataValues/file?{img}"),
        Some(("dot.png", "image/png", b"\x89PNG\r\n\x1a\n")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["response"]["fileResource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.redact(&id, "[png]");
    // Not a file element; no F_DATAVALUE_ADD.
    let r = t
        .get(&format!(
            "/api/dataValues/files?{}",
            value_uri(MEASLES, "202401")
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["message"], "DataElement must be of type file");
    let r = upload_as(
        &t,
        "reader",
        &format!("/api/dataValues/file?{}", value_uri(FILE_DE, "202402")),
        Some(("a.pdf", "application/pdf", b"%PDF a")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(blobs(&t), 1, "only the png");
}

/// File values keep to the user's capture hierarchy like every other value: a clerk of
/// Bo writes and reads in Bo, and is refused (E2020, nothing stored) in Kenema.
#[tokio::test]
async fn file_values_stay_within_the_users_hierarchy() {
    const KENEMA: &str = "AGm1hDiA4aS";
    let metadata = FILE_METADATA.replace(
        r#""organisationUnits": [{"id": "DiszpKrYNg8"}]"#,
        r#""organisationUnits": [{"id": "DiszpKrYNg8"}, {"id": "AGm1hDiA4aS"}]"#,
    );
    assert_ne!(metadata, FILE_METADATA);
    let t = TestApp::demo_with(&metadata);
    let mut clerk = tally_core::users::UserRecord::new(
        tally_domain::uid::Uid::parse("BoClerk0001").unwrap(),
        "boclerk",
        bcrypt::hash("district", 4).unwrap(),
    );
    clerk.authorities = vec!["F_DATAVALUE_ADD".into()];
    clerk.organisation_units = vec![tally_domain::uid::Uid::parse("O6uvpzGd5pu").unwrap()];
    t.app.save_users(&[clerk]).unwrap();

    let kenema = |pe: &str| format!("de={FILE_DE}&pe={pe}&ou={KENEMA}");
    let r = upload(
        &t,
        &format!("/api/dataValues/file?{}", kenema("202401")),
        Some(("k.pdf", "application/pdf", b"%PDF kenema")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["response"]["fileResource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.redact(&id, "[kenema]");
    assert_eq!(blobs(&t), 1);

    let r = upload_as(
        &t,
        "boclerk",
        &format!("/api/dataValues/file?{}", kenema("202402")),
        Some(("x.pdf", "application/pdf", b"%PDF outside")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["errorCode"], "E2020");
    assert_eq!(blobs(&t), 1, "nothing stored for the refused upload");
    let r = t
        .get(&format!("/api/dataValues?{}", kenema("202402")))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no value: {}", r.text());

    let r = t
        .get_as(
            "boclerk",
            &format!("/api/dataValues/files?{}", kenema("202401")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["errorCode"], "E2020");

    let r = upload_as(
        &t,
        "boclerk",
        &format!("/api/dataValues/file?{}", value_uri(FILE_DE, "202402")),
        Some(("n.pdf", "application/pdf", b"%PDF ngelehun")),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["response"]["fileResource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.redact(&id, "[ngelehun]");
    let r = t
        .get_as(
            "boclerk",
            &format!("/api/dataValues/files?{}", value_uri(FILE_DE, "202402")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.body, b"%PDF ngelehun");
}
