//! One writer per store. Every command that writes takes the store's writer lock first and holds
//! it until it ends: on PostgreSQL a session advisory lock on a connection of its own (released
//! by the server when the process dies), on SQLite an exclusive `flock` on `<db>.lock` (released
//! by the kernel likewise). The holder (host, process, command, since when) is written beside the
//! lock, so a second writer is told who holds it.

use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::{now, Backend, Error, Result, Store};

/// The advisory lock key of the writer lock ("tombolo" in ASCII).
const PG_KEY: i64 = 0x0074_6f6d_626f_6c6f;

/// Who takes the lock, for the message a second writer gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub command: String,
}

impl Holder {
    fn describe(&self) -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "this host".into());
        format!(
            "`tombolo {}` (process {} on {host}, since {})",
            self.command,
            std::process::id(),
            now()
        )
    }
}

/// The store's writer lock, held until dropped (or [`WriterLock::release`]).
#[derive(Debug)]
pub struct WriterLock {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    File(std::fs::File),
    Postgres(sqlx::AnyConnection),
    /// An in-memory SQLite store is private to this process.
    None,
}

impl WriterLock {
    /// Releases the lock now.
    pub async fn release(self) {
        match self.inner {
            Inner::Postgres(mut conn) => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_KEY)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
            Inner::File(f) => drop(f),
            Inner::None => {}
        }
    }
}

fn lock_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl Store {
    /// Takes the writer lock, waiting up to `wait` for another writer to finish; then
    /// [`Error::Locked`] naming the holder.
    pub async fn lock_writer(&self, holder: &Holder, wait: Duration) -> Result<WriterLock> {
        let deadline = Instant::now() + wait;
        let me = holder.describe();
        loop {
            let held_by = match self.backend() {
                Backend::Sqlite => match self.sqlite_path() {
                    None => return Ok(WriterLock { inner: Inner::None }),
                    Some(db) => match try_file(&lock_path(db), &me)? {
                        Ok(f) => {
                            return Ok(WriterLock {
                                inner: Inner::File(f),
                            })
                        }
                        Err(other) => other,
                    },
                },
                Backend::Postgres => match self.try_postgres(&me).await? {
                    Ok(conn) => {
                        return Ok(WriterLock {
                            inner: Inner::Postgres(conn),
                        })
                    }
                    Err(other) => other,
                },
            };
            if Instant::now() >= deadline {
                return Err(Error::Locked(held_by));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn try_postgres(
        &self,
        me: &str,
    ) -> Result<std::result::Result<sqlx::AnyConnection, String>> {
        let mut conn = self.pool().acquire().await?.detach();
        let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(PG_KEY)
            .fetch_one(&mut conn)
            .await?;
        if got {
            sqlx::query(
                "INSERT INTO writer_lock (id, holder) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET holder = excluded.holder",
            )
            .bind(me)
            .execute(&mut conn)
            .await?;
            return Ok(Ok(conn));
        }
        let holder: Option<(String,)> =
            sqlx::query_as("SELECT holder FROM writer_lock WHERE id = 1")
                .fetch_optional(&mut conn)
                .await?;
        let _ = conn.close().await;
        Ok(Err(holder
            .map(|(h,)| h)
            .unwrap_or_else(|| "another process".into())))
    }
}

/// Tries the lock file: `Ok(file)` when taken (the holder written into it), `Err(holder)` when
/// another process holds it.
fn try_file(
    path: &std::path::Path,
    me: &str,
) -> Result<std::result::Result<std::fs::File, String>> {
    let io = |e: std::io::Error| Error::Lock(format!("{}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(io)?;
    match f.try_lock() {
        Ok(()) => {
            f.set_len(0).map_err(io)?;
            f.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
            f.write_all(me.as_bytes()).map_err(io)?;
            f.flush().map_err(io)?;
            Ok(Ok(f))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = f.read_to_string(&mut text);
            Ok(Err(if text.trim().is_empty() {
                "another process".into()
            } else {
                text.trim().to_owned()
            }))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stores;

    #[tokio::test]
    async fn a_second_writer_is_told_who_holds_the_lock_and_gets_it_once_released() {
        for (store, _dir) in stores().await {
            let run = Holder {
                command: "run".into(),
            };
            let lock = store.lock_writer(&run, Duration::ZERO).await.unwrap();
            let resolve = Holder {
                command: "resolve".into(),
            };
            let e = store
                .lock_writer(&resolve, Duration::from_millis(300))
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains("`tombolo run`") && e.contains("process"), "{e}");
            lock.release().await;
            let again = store.lock_writer(&resolve, Duration::ZERO).await.unwrap();
            again.release().await;
        }
    }
}
