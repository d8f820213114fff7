//! `keys init|status|rotate`: the store's keyring.

use anyhow::Result;
use tombolo_hub::admin::keys::{self, KeysReport};
use tombolo_hub::{Config, Hub};

use super::print_json;

/// `keys init`, before the store is opened with a keyring.
pub async fn init(config: &Config, store_url: Option<&str>, json: bool) -> Result<()> {
    let made = keys::init(config, store_url, &tombolo_hub::audit::actor()).await?;
    if json {
        return print_json(&made);
    }
    println!(
        "created key {} in {} (back it up apart from the store)",
        made.key,
        made.file.display()
    );
    Ok(())
}

/// `keys status`, or `keys rotate [--drop-old]` (under the writer lock).
pub async fn show(hub: &Hub, rotate: Option<bool>, json: bool) -> Result<()> {
    let report = match rotate {
        Some(drop_old) => hub.keys_rotate(drop_old).await?,
        None => hub.keys_status().await?,
    };
    if json {
        return print_json(&report);
    }
    print_keys(&report);
    Ok(())
}

fn print_keys(r: &KeysReport) {
    if let Some(id) = &r.added {
        println!("added key {id}");
    }
    println!(
        "current key: {}  (keyring: {})",
        r.current,
        r.keys.join(", ")
    );
    if let Some(resealed) = &r.resealed {
        for (column, done) in resealed {
            println!(
                "resealed {column:<26} {} (already current {}, changed meanwhile {})",
                done.resealed, done.current, done.changed_meanwhile
            );
        }
    }
    for (column, counts) in &r.usage {
        let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        println!("{column:<26} {}", counts.join(", "));
    }
}
