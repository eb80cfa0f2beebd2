//! The events the functions are invoked with: API Gateway HTTP API (payload 2.0) requests as
//! API Gateway sends them, based on the recorded fixture.

use serde_json::{Value, json};
use std::path::Path;

pub fn fixture(repo: &Path, name: &str) -> anyhow::Result<Value> {
    let path = repo.join("tests/fixtures").join(name);
    Ok(serde_json::from_slice(&std::fs::read(&path)?)?)
}

/// An API Gateway request for `method path`, with a bearer token and a JSON body.
pub fn api_request(
    repo: &Path,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let mut event = fixture(repo, "apigw-v2-health.json")?;
    let route = format!("{method} {path}");
    event["routeKey"] = json!(route);
    event["rawPath"] = json!(path);
    event["requestContext"]["routeKey"] = json!(route);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    let headers = event["headers"]
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("the fixture has no headers"))?;
    if let Some(token) = token {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    match body {
        Some(body) => {
            let text = body.to_string();
            headers.insert("content-type".into(), json!("application/json"));
            headers.insert("content-length".into(), json!(text.len().to_string()));
            event["body"] = json!(text);
        }
        None => event["body"] = Value::Null,
    }
    event["isBase64Encoded"] = json!(false);
    Ok(event)
}

/// A new transfer of one 1 MiB PDF to one recipient: what the portal sends first.
pub fn new_transfer() -> Value {
    json!({
        "recipients": ["bob@example.com"],
        "subject": "Quarterly figures",
        "files": [{
            "name": "figures.pdf",
            "size": 1_048_576,
            "content_type": "application/pdf",
            "md5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        }],
    })
}
