//! The published event API (`docs/api/`) is exactly what the Rust types say: a client written
//! against it talks to this server. `scripts/publish-api` rewrites the files after a change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use app::events::schema::{EVENTS, document};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_published_schema_is_what_the_rust_types_say() {
    let path = root().join("docs/api/parley-events.schema.json");
    let generated = serde_json::to_string_pretty(&document()).expect("a JSON document") + "\n";
    if std::env::var_os("PARLEY_PUBLISH_API").is_some() {
        std::fs::create_dir_all(path.parent().expect("docs/api")).expect("docs/api");
        std::fs::write(&path, &generated).expect("schema written");
        return;
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "docs/api/parley-events.schema.json does not match the event types in app/src/events: \
         run scripts/publish-api and commit what it writes"
    );
}

/// Every event the `client_event!` and `server_event!` macros declare is in the schema's list,
/// and nothing else is: a new event cannot be left unpublished.
#[test]
fn every_declared_event_is_published() {
    let mut declared = BTreeSet::new();
    let dir = root().join("app/src/events");
    for file in std::fs::read_dir(&dir).expect("app/src/events") {
        let path = file.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        declared.extend(declared_names(&source));
    }
    let published: BTreeSet<String> = EVENTS.iter().map(|e| e.name.to_owned()).collect();
    assert_eq!(declared, published, "app/src/events/schema.rs EVENTS lists every declared event");
    assert_eq!(published.len(), EVENTS.len(), "each event listed once");
}

/// The wire names in `client_event!(…)` and `server_event!(…)` invocations: the first string
/// literal after the macro's opening parenthesis (the doc comments before it hold none).
fn declared_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for marker in ["\nclient_event!(", "\nserver_event!("] {
        for (at, _) in source.match_indices(marker) {
            let rest = &source[at + marker.len()..];
            let body: String = rest
                .lines()
                .skip_while(|l| l.trim_start().starts_with("///") || l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            let name = body.split('"').nth(1).expect("a wire name in quotes");
            names.push(name.to_owned());
        }
    }
    names
}

/// `ChatError`'s hand-written `Deserialize` (app/src/error.rs, `wire`) reads every variant the
/// schema publishes back to what its derived `Serialize` wrote: one example object per variant,
/// built from the schema's own `properties`, survives JSON -> `ChatError` -> JSON unchanged. A
/// variant added to the enum but not to the reader fails here; so does a missing required field.
#[test]
fn every_published_error_reads_back_as_itself() {
    let document = document();
    let variants =
        document["definitions"]["ChatError"]["oneOf"].as_array().expect("ChatError.oneOf");
    assert!(variants.len() >= 38, "the schema lists the error variants ({})", variants.len());
    for variant in variants {
        let mut example = serde_json::Map::new();
        let properties = variant["properties"].as_object().expect("variant properties");
        for (field, schema) in properties {
            let value = if let Some(code) = schema.get("const") {
                code.clone()
            } else if schema["format"] == "uuid" {
                serde_json::json!("0193a5c2-7d10-7c4e-8f00-00000000002a")
            } else if schema["type"] == "string" {
                serde_json::json!(format!("{field} text"))
            } else if schema["type"] == "integer" {
                // Distinct per field, so two fields swapped by the reader would show.
                serde_json::json!(1000 + field.len() as u64 * 7 + field.as_bytes()[0] as u64)
            } else {
                panic!("an error field of a type this test does not build: {field}: {schema}");
            };
            example.insert(field.clone(), value);
        }
        let json = serde_json::Value::Object(example.clone());
        let error: app::ChatError = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("{json} reads as a ChatError: {e}"));
        assert_eq!(serde_json::to_value(&error).expect("serializes"), json, "{error:?}");
        for required in variant["required"].as_array().expect("required").iter() {
            let required = required.as_str().expect("a field name");
            if required == "code" {
                continue;
            }
            let mut partial = example.clone();
            partial.remove(required);
            let refused = serde_json::from_value::<app::ChatError>(partial.into());
            let message = refused.expect_err("a missing field is refused").to_string();
            assert!(message.contains(required), "{message} names {required}");
        }
    }
    let unknown = serde_json::from_str::<app::ChatError>(r#"{"code":"no_such_code"}"#);
    assert!(unknown.expect_err("unknown code").to_string().contains("no_such_code"));
}
