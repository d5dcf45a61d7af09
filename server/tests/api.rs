//! The service end to end on an ephemeral loopback port, with fixtures written by the test:
//! a four-product catalogue, a 4×3 item-vector table and dummy model files.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use localrank_server::{Catalogue, CatalogueSource, Product, ServerConfig, load_state, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn product(id: &str, category: &str, popularity: u64, price: Option<f64>) -> Product {
    Product {
        id: id.into(),
        title: format!("{category} item {id}, 12 oz"),
        category: category.into(),
        department: "Grocery".into(),
        price,
        popularity,
    }
}

/// A fresh fixture directory: a built site `site/` (index.html, status.html, a hashed asset, a
/// hidden folder), `secret.txt` beside it, `model/` (4 items, dim 3) and a catalogue with one
/// product ("z9") that has no vector and must not reach the pool.
fn fixture(name: &str) -> (PathBuf, ServerConfig) {
    let dir = std::env::temp_dir().join(format!("localrank-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (site, model) = (dir.join("site"), dir.join("model"));
    std::fs::create_dir_all(site.join("assets")).unwrap();
    std::fs::create_dir_all(site.join(".vite")).unwrap();
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>shop</title>",
    )
    .unwrap();
    std::fs::write(
        site.join("status.html"),
        "<!doctype html><title>status</title>",
    )
    .unwrap();
    std::fs::write(
        site.join("assets/index-DteRV2-I.js"),
        "export const ok = 1;",
    )
    .unwrap();
    std::fs::write(site.join(".vite/manifest.json"), "{}").unwrap();
    std::fs::write(site.join(".env"), "SECRET=1").unwrap();
    std::fs::write(dir.join("secret.txt"), "not served").unwrap();
    std::fs::write(
        model.join("model.json"),
        r#"{"format":"localrank-intent-encoder","dim":3}"#,
    )
    .unwrap();
    std::fs::write(model.join("model.safetensors"), [1u8, 2, 3, 4]).unwrap();

    let ids = ["a1", "b2", "c3", "d4"];
    let vectors: Vec<f32> = (0..12).map(|k| k as f32 * 0.5 - 1.0).collect();
    let bytes: Vec<u8> = vectors.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4, 3], &bytes).unwrap();
    // Co-occurrence neighbours, 2 per row (-1 pads): c3 (row 2) lists a1 and d4.
    let rows: Vec<u8> = [3i32, -1, -1, -1, 0, 3, 2, -1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let sims: Vec<u8> = [0.75f32, 0.0, 0.0, 0.0, 0.5, 0.25, 0.125, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let rows_view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::I32, vec![4, 2], &rows).unwrap();
    let sims_view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4, 2], &sims).unwrap();
    // Re-buy rates: c3 (row 2) 0.625.
    let rates: Vec<u8> = [0.25f32, 0.0, 0.625, 1.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let rates_view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &rates).unwrap();
    safetensors::serialize_to_file(
        [
            ("item_vectors", view),
            ("item_neighbours", rows_view),
            ("item_neighbour_weights", sims_view),
            ("item_rebuy_rates", rates_view),
        ],
        None,
        &model.join("items.safetensors"),
    )
    .unwrap();
    std::fs::write(
        model.join("items.json"),
        serde_json::json!({ "dim": 3, "dtype": "f32", "ids": ids }).to_string(),
    )
    .unwrap();

    let catalogue = Catalogue {
        build: 0,
        products: vec![
            product("c3", "Yogurt", 90, Some(1.25)),
            product("z9", "Yogurt", 80, Some(2.0)),
            product("a1", "Bread", 50, Some(2.49)),
            product("d4", "Coffee", 20, None),
            product("b2", "Bread & <Rolls>", 10, Some(0.99)),
        ],
    };
    let catalogue_path = dir.join("catalogue.json");
    catalogue.write_json(&catalogue_path).unwrap();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        site_root: site,
        model_dir: model,
        catalogue: CatalogueSource::Json(catalogue_path),
        experiment_split: 0.5,
    };
    (dir, config)
}

struct Running {
    base: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), localrank_server::ServerError>>,
}

async fn start(config: &ServerConfig) -> Running {
    let state = load_state(config).expect("fixture loads");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state, async move {
        let _ = rx.await;
    }));
    Running {
        base,
        stop: Some(tx),
        task,
    }
}

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A minimal HTTP/1.1 client (one request per connection) so the tests need no client crate.
async fn get(addr: std::net::SocketAddr, path: &str, extra: &str) -> Reply {
    request(addr, "GET", path, extra, &[]).await
}

async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let length = if body.is_empty() && method == "GET" {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{length}{extra}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // A server may answer (413) before reading a body it refuses: keep what it sent.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<HashMap<_, _>>();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}

#[tokio::test]
async fn pool_is_the_catalogue_by_popularity_with_vectors() {
    let (dir, config) = fixture("pool");
    let server = start(&config).await;
    let reply = get(server.base, "/api/pool?context=home&n=200", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/json");
    let pool = reply.json();
    assert_eq!(pool["dim"], 3);
    assert!(
        pool["model"].as_str().unwrap().starts_with('m'),
        "a model version: {}",
        pool["model"]
    );
    let items = pool["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    // z9 has no vector; the rest in popularity order.
    assert_eq!(ids, ["c3", "a1", "d4", "b2"]);
    // c3 is row 2 of the table: values 2..5 * 0.5 - 1.
    assert_eq!(items[0]["vector"], serde_json::json!([2.0, 2.5, 3.0]));
    assert_eq!(items[0]["score"], 90);
    assert_eq!(items[0]["category"], "Yogurt");
    assert_eq!(items[0]["price"], 1.25);
    assert_eq!(items[0]["title"], "Yogurt item c3, 12 oz");
    assert_eq!(items[0]["imageKey"], "Yogurt");
    assert_eq!(items[0]["repeat"], true, "groceries are bought again");
    assert_eq!(items[0]["rebuyRate"], 0.625, "the item table's re-buy rate, by row");
    assert_eq!(items[3]["rebuyRate"], 0.0);
    // The item table's neighbour lists travel with the items, by id, padding dropped.
    assert_eq!(
        items[0]["neighbours"],
        serde_json::json!({ "ids": ["a1", "d4"], "weights": [0.5, 0.25] })
    );
    assert_eq!(
        items[3]["neighbours"],
        serde_json::json!({ "ids": [], "weights": [] }),
        "b2 has none"
    );
    // One inline placeholder per category on the page: showing a product costs no request.
    let images = pool["images"].as_object().unwrap();
    assert_eq!(
        images.keys().collect::<Vec<_>>(),
        ["Bread", "Bread & <Rolls>", "Coffee", "Yogurt"]
    );
    assert!(
        images["Bread & <Rolls>"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml,%3Csvg")
    );
    assert!(
        items[2].get("price").is_none(),
        "no price is omitted, not null"
    );

    let two = get(server.base, "/api/pool?n=2", "").await.json();
    assert_eq!(
        two["items"].as_array().unwrap().len(),
        2,
        "context defaults to home, n limits"
    );
    assert_eq!(
        two["images"].as_object().unwrap().len(),
        2,
        "only the images the items use"
    );
    server.stop.unwrap().send(()).unwrap();
    server.task.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn bad_query_parameters_are_400_json() {
    let (dir, config) = fixture("bad");
    let server = start(&config).await;
    for (path, code, needle) in [
        ("/api/pool?n=abc", "BadN", "whole number"),
        ("/api/pool?n=0", "BadN", "between 1 and 1000"),
        ("/api/pool?n=1001", "BadN", "between 1 and 1000"),
        ("/api/pool?n=-3", "BadN", "whole number"),
        ("/api/pool?context=cart", "UnknownContext", "\"cart\""),
        (
            "/api/pool?context=home&user=42",
            "UnknownParameter",
            "\"user\"",
        ),
        ("/api/pool?history=a,b,c", "UnknownParameter", "\"history\""),
    ] {
        let reply = get(server.base, path, "").await;
        assert_eq!(reply.status, 400, "{path}");
        assert_eq!(reply.headers["content-type"], "application/json", "{path}");
        let body = reply.json();
        assert_eq!(body["error"], code, "{path}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{path}: {}",
            body["message"]
        );
    }
    server.stop.unwrap().send(()).unwrap();
    server.task.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn health_model_and_static_files() {
    let (dir, config) = fixture("files");
    let server = start(&config).await;
    let health = get(server.base, "/healthz", "").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["items"], 4);

    let weights = get(server.base, "/model/model.safetensors", "").await;
    assert_eq!(weights.status, 200);
    assert_eq!(weights.body, [1, 2, 3, 4]);
    let etag = weights.headers["etag"].clone();
    let again = get(
        server.base,
        "/model/model.safetensors",
        &format!("If-None-Match: {etag}\r\n"),
    )
    .await;
    assert_eq!(again.status, 304, "revalidation with the version as ETag");
    assert_eq!(
        get(server.base, "/model/model.json", "").await.json()["dim"],
        3
    );
    assert_eq!(
        get(server.base, "/model/items.safetensors", "")
            .await
            .status,
        404,
        "only the browser's files"
    );

    let index = get(server.base, "/", "").await;
    assert_eq!(index.status, 200);
    assert!(index.headers["content-type"].starts_with("text/html"));
    assert_eq!(index.headers["cache-control"], "no-cache");
    assert_eq!(index.body, b"<!doctype html><title>shop</title>");
    let status_page = get(server.base, "/status.html", "").await;
    assert_eq!(status_page.status, 200);
    assert_eq!(
        status_page.headers["cache-control"], "no-cache",
        "pages revalidate"
    );
    let js = get(server.base, "/assets/index-DteRV2-I.js", "").await;
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(js.body, b"export const ok = 1;");
    assert_eq!(
        js.headers["cache-control"], "public, max-age=31536000, immutable",
        "content-hashed assets are kept"
    );
    let tag = js.headers["etag"].clone();
    let again = get(
        server.base,
        "/assets/index-DteRV2-I.js",
        &format!("If-None-Match: {tag}\r\n"),
    )
    .await;
    assert_eq!(again.status, 304, "unchanged site files revalidate");
    assert!(again.body.is_empty());
    let index_tag = index.headers["etag"].clone();
    assert_eq!(
        get(server.base, "/", &format!("If-None-Match: {index_tag}\r\n"))
            .await
            .status,
        304
    );
    assert_eq!(
        get(server.base, "/", "If-None-Match: \"stale\"\r\n")
            .await
            .status,
        200
    );
    assert_eq!(get(server.base, "/secret.txt", "").await.status, 404);
    assert_eq!(get(server.base, "/../secret.txt", "").await.status, 404);
    assert_eq!(
        get(server.base, "/assets/../../secret.txt", "")
            .await
            .status,
        404
    );
    assert_eq!(
        get(server.base, "/assets/%2e%2e/%2e%2e/secret.txt", "")
            .await
            .status,
        404
    );
    assert_eq!(
        get(server.base, "/.vite/manifest.json", "").await.status,
        404,
        "hidden"
    );
    assert_eq!(get(server.base, "/.env", "").await.status, 404, "hidden");
    assert_eq!(
        get(server.base, "/assets", "").await.status,
        404,
        "a folder"
    );
    assert_eq!(
        get(server.base, "/assets/missing-AAAAAAAA.js", "")
            .await
            .status,
        404
    );
    server.stop.unwrap().send(()).unwrap();
    server.task.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_site_folder_without_index_html_serves_no_files() {
    // `--site` pointed at a source tree (the fixture's root: catalogue.json, model/, site/):
    // (the model files stay served under /model/: they are the model directory's, not the site's)
    // without an index.html nothing under it is published; the API still works.
    let (dir, mut config) = fixture("nosite");
    config.site_root = dir.clone();
    let server = start(&config).await;
    assert_eq!(get(server.base, "/healthz", "").await.status, 200);
    assert_eq!(get(server.base, "/api/pool?n=2", "").await.status, 200);
    for path in [
        "/",
        "/catalogue.json",
        "/site/index.html",
        "/site/status.html",
    ] {
        let reply = get(server.base, path, "").await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(
            String::from_utf8_lossy(&reply.body).contains("NoSite"),
            "{path}"
        );
    }
    server.stop.unwrap().send(()).unwrap();
    server.task.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn shutdown_finishes_and_frees_the_port() {
    let (dir, config) = fixture("shutdown");
    let server = start(&config).await;
    assert_eq!(get(server.base, "/healthz", "").await.status, 200);
    server.stop.unwrap().send(()).unwrap();
    server
        .task
        .await
        .unwrap()
        .expect("clean exit after the shutdown signal");
    assert!(
        TcpStream::connect(server.base).await.is_err(),
        "nothing listens any more"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn startup_errors_name_the_file() {
    let (dir, mut config) = fixture("errors");
    std::fs::write(
        config.model_dir.join("items.json"),
        r#"{"dim": 4, "ids": ["a1","b2","c3","d4"]}"#,
    )
    .unwrap();
    let message = load_state(&config)
        .err()
        .expect("shape mismatch is an error")
        .to_string();
    assert!(
        message.contains("items.safetensors") && message.contains("[4, 3]"),
        "{message}"
    );

    config.catalogue = CatalogueSource::Json(dir.join("missing.json"));
    let message = load_state(&config)
        .err()
        .expect("missing catalogue")
        .to_string();
    assert!(message.contains("missing.json"), "{message}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Complete Journey-shaped Parquet files → catalogue: titles, categories, median unit
/// prices, popularity, non-product departments left out, and the JSON cache.
#[test]
fn catalogue_from_complete_journey_parquet() {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;

    let dir = std::env::temp_dir().join(format!("localrank-server-cj-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    fn write_strings(path: &Path, schema: &str, columns: Vec<Vec<&str>>, doubles: Vec<Vec<f64>>) {
        let schema = Arc::new(parse_message_type(schema).unwrap());
        let file = std::fs::File::create(path).unwrap();
        let mut writer =
            SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build()))
                .unwrap();
        let mut rg = writer.next_row_group().unwrap();
        for col in columns {
            let values: Vec<ByteArray> = col.into_iter().map(ByteArray::from).collect();
            let mut w = rg.next_column().unwrap().unwrap();
            w.typed::<ByteArrayType>()
                .write_batch(&values, None, None)
                .unwrap();
            w.close().unwrap();
        }
        for col in doubles {
            let mut w = rg.next_column().unwrap().unwrap();
            w.typed::<DoubleType>()
                .write_batch(&col, None, None)
                .unwrap();
            w.close().unwrap();
        }
        rg.close().unwrap();
        writer.close().unwrap();
    }
    let products = dir.join("products.parquet");
    write_strings(
        &products,
        "message p { REQUIRED BINARY product_id (UTF8); REQUIRED BINARY department (UTF8); REQUIRED BINARY product_category (UTF8); REQUIRED BINARY product_type (UTF8); REQUIRED BINARY package_size (UTF8); }",
        vec![
            vec!["1", "2", "3", "4", "5", "6"],
            vec!["GROCERY", "FUEL", "PRODUCE", "GROCERY", "MEAT", "GROCERY"],
            vec![
                "YOGURT",
                "COUPON/MISC ITEMS",
                "FRUIT - SHELF STABLE",
                "COUPON/MISC ITEMS",
                "BEEF",
                "MILK",
            ],
            vec![
                "YOGURT NOT MULTI-PACKS",
                "GASOLINE-REG UNLEADED",
                "APPLE SAUCE",
                "MISC SALES TRANS",
                "LEAN",
                "FLUID MILK",
            ],
            vec!["32 OZ", "", "6 CT", "", "", "1 GA"],
        ],
        vec![],
    );
    let transactions = dir.join("transactions.parquet");
    write_strings(
        &transactions,
        "message t { REQUIRED BINARY product_id (UTF8); REQUIRED DOUBLE quantity; REQUIRED DOUBLE sales_value; }",
        vec![vec![
            "1", "1", "1", "2", "2", "2", "2", "3", "3", "4", "4", "5", "6",
        ]],
        vec![
            vec![
                1.0, 2.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 0.0,
            ],
            vec![
                3.0, 5.0, 1.0, 30.0, 30.0, 30.0, 30.0, 1.5, 4.5, 2.0, 2.0, 4.0, 1.0,
            ],
        ],
    );
    let cache = dir.join("catalogue.json");
    let catalogue = Catalogue::load_or_build(&cache, &products, &transactions).expect("builds");
    assert_eq!(
        catalogue.products,
        vec![
            Product {
                id: "1".into(),
                title: "Yogurt Not Multi-Packs, 32 oz".into(),
                category: "Yogurt".into(),
                department: "Grocery".into(),
                // unit prices 3.0 and 2.5 (the quantity-0 row gives none): median 2.75
                price: Some(2.75),
                popularity: 3,
            },
            Product {
                id: "3".into(),
                title: "Apple Sauce, 6 ct".into(),
                category: "Fruit - Shelf Stable".into(),
                department: "Produce".into(),
                price: Some(1.5),
                popularity: 2,
            },
            Product {
                id: "5".into(),
                title: "Lean Beef".into(),
                category: "Beef".into(),
                department: "Meat".into(),
                price: Some(4.0),
                popularity: 1,
            },
        ],
        "gasoline (4 sales) and misc sales (2) are not shop products; milk was never paid for"
    );
    assert!(cache.is_file(), "cached next to the artifacts");
    assert_eq!(catalogue.build, Catalogue::BUILD_VERSION);
    // The cache is used as is on the next start, even with the Parquet files gone.
    std::fs::remove_file(&products).unwrap();
    assert_eq!(
        Catalogue::load_or_build(&cache, &products, &transactions)
            .unwrap()
            .products
            .len(),
        3
    );
    // A cache written by older rules is not trusted: it is rebuilt (and here the source is gone).
    Catalogue {
        build: 1,
        products: vec![],
    }
    .write_json(&cache)
    .unwrap();
    let message = Catalogue::load_or_build(&cache, &products, &transactions)
        .expect_err("rebuild")
        .to_string();
    assert!(message.contains("products.parquet"), "{message}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The demo experiment over HTTP: the page's options, the aggregators' configs, a browser's
/// upload (accepted once; a duplicate, garbage, a wrong media type and a wrong task refused
/// with DAP problem documents), the lift, and the simulate control.
#[tokio::test]
async fn demo_experiment_over_http() {
    use localrank_core::base64::{decode, Alphabet};
    use localrank_core::measure::{Arm, DayOutcome, FirstClick};
    let (dir, config) = fixture("experiment");
    let server = start(&config).await;
    let options = get(server.base, "/api/experiment", "").await;
    assert_eq!(options.status, 200);
    let options = options.json();
    assert_eq!(options["id"], "fresh-basket-demo");
    assert_eq!(options["split"], 0.5);
    assert_eq!(options["leader"], "/dap/leader/");
    assert_eq!(options["dap"]["timePrecision"], 86400);
    let task_id = options["dap"]["taskId"].as_str().unwrap().to_string();
    let b64 = |v: &serde_json::Value| {
        decode(v.as_str().unwrap(), Alphabet::UrlSafe).unwrap()
    };
    let leader_list = get(server.base, "/dap/leader/hpke_config", "").await;
    assert_eq!(
        leader_list.headers["content-type"],
        "application/dap-hpke-config-list"
    );
    assert_eq!(
        leader_list.body,
        b64(&options["dap"]["leaderConfig"]),
        "the page gets the config the leader serves"
    );
    let helper_list = get(server.base, "/dap/helper/hpke_config", "").await;
    assert_eq!(helper_list.body, b64(&options["dap"]["helperConfig"]));
    assert_ne!(leader_list.body, helper_list.body, "two key pairs");

    let leader = localrank_report::HpkeConfig::choose_from_list(&leader_list.body).unwrap();
    let helper = localrank_report::HpkeConfig::choose_from_list(&helper_list.body).unwrap();
    let task = localrank_report::TaskConfig::from_base64url(&task_id, 86_400).unwrap();
    let day = DayOutcome {
        arm: Arm::Control,
        first_click: FirstClick::Slot(3),
        converted: true,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let upload = localrank_report::seal_day(&task, &leader, &helper, &day, now - 86_400).unwrap();
    let path = format!("/dap/leader/{}", upload.path);
    let dap = "Content-Type: application/dap-report\r\n";
    assert_eq!(
        request(server.base, "PUT", &path, dap, &upload.body)
            .await
            .status,
        200
    );
    let again = request(server.base, "PUT", &path, dap, &upload.body).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.headers["content-type"], "application/problem+json");
    assert_eq!(
        again.json()["type"],
        "urn:ietf:params:ppm:dap:error:reportRejected"
    );
    let garbage = request(server.base, "PUT", &path, dap, b"not a report").await;
    assert_eq!(
        (garbage.status, garbage.json()["type"].as_str()),
        (400, Some("urn:ietf:params:ppm:dap:error:invalidMessage"))
    );
    let text = request(
        server.base,
        "PUT",
        &path,
        "Content-Type: text/plain\r\n",
        &upload.body,
    )
    .await;
    assert_eq!(text.status, 415);
    let other_task = format!("/dap/leader/tasks/{}/reports", "A".repeat(43));
    let wrong = request(server.base, "PUT", &other_task, dap, &upload.body).await;
    assert_eq!(
        (wrong.status, wrong.json()["type"].as_str()),
        (404, Some("urn:ietf:params:ppm:dap:error:unrecognizedTask"))
    );
    let huge = request(server.base, "PUT", &path, dap, &vec![0u8; 100_000]).await;
    assert_eq!(
        huge.status, 413,
        "a body far larger than a report is refused unread"
    );

    let lift = get(server.base, "/api/lift", "").await.json();
    let mut expected = vec![0u64; localrank_core::measure::NUM_BUCKETS];
    expected[day.bucket()] = 1;
    assert_eq!(lift["view"]["buckets"], serde_json::json!(expected));
    assert_eq!(lift["view"]["uploaded"], 1);
    assert_eq!(
        lift["view"]["rejected"], 3,
        "the 409, 400 and 404 (415 and 413 are refused before the aggregators)"
    );
    assert_eq!(
        lift["view"]["estimate"]["arms"]["control"]["conversions"],
        1
    );
    assert_eq!(lift["task_id"], task_id.as_str());

    assert_eq!(
        request(
            server.base,
            "POST",
            "/api/lift/simulate?shoppers=0",
            "",
            &[]
        )
        .await
        .status,
        400
    );
    assert_eq!(
        request(
            server.base,
            "POST",
            "/api/lift/simulate?shoppers=lots",
            "",
            &[]
        )
        .await
        .status,
        400
    );
    let simulated = request(
        server.base,
        "POST",
        "/api/lift/simulate?shoppers=30",
        "",
        &[],
    )
    .await;
    assert_eq!(
        (simulated.status, &simulated.json()["simulated"]),
        (200, &serde_json::json!(30))
    );
    let lift = get(server.base, "/api/lift", "").await.json();
    assert_eq!(
        (&lift["view"]["reports"], &lift["view"]["simulated"]),
        (&serde_json::json!(31), &serde_json::json!(30))
    );
    assert_eq!(lift["simulated_truth"]["conversion_lift"], 0.2);
    server.stop.unwrap().send(()).unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
