//! The durable work queue: jobs are rows in the embedded database, committed before `enqueue`
//! returns, deleted only after they were handled. A job claimed by a process that died is
//! claimed again after a restart. Failed jobs come back with backoff; after too many attempts
//! they move to `dead_jobs`, like an SQS dead-letter queue, and are logged.

use crate::db::Db;
use anyhow::Context;
use async_trait::async_trait;
use chrono::Utc;
use ferry_core::ports::{Job, WorkQueue};
use rusqlite::{OptionalExtension, params};
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed job may run before another worker may take it over.
const LEASE: Duration = Duration::from_secs(15 * 60);
const IDLE_POLL: Duration = Duration::from_millis(500);

pub struct SqliteQueue {
    db: Db,
    wake: Notify,
    /// Transfers with a job in progress: one job per transfer at a time.
    busy: Mutex<HashSet<String>>,
}

struct Claimed {
    id: i64,
    group: String,
    attempts: i64,
    job: Job,
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl SqliteQueue {
    pub fn new(db: Db) -> anyhow::Result<Arc<Self>> {
        db.blocking(|c| {
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS jobs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    group_key TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    run_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    claimed_until INTEGER
                 );
                 CREATE INDEX IF NOT EXISTS jobs_by_run_at ON jobs (run_at, id);
                 CREATE TABLE IF NOT EXISTS dead_jobs (
                    id INTEGER PRIMARY KEY,
                    payload TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    last_error TEXT NOT NULL,
                    died_at INTEGER NOT NULL
                 );
                 -- Only one process serves a data dir: claims of a previous run are void.
                 UPDATE jobs SET claimed_until = NULL;",
            )
            .context("creating the queue tables")
        })?;
        Ok(Arc::new(Self {
            db,
            wake: Notify::new(),
            busy: Mutex::new(HashSet::new()),
        }))
    }

    pub async fn pending(&self) -> anyhow::Result<i64> {
        self.db
            .call(|c| Ok(c.query_row("SELECT COUNT(*) FROM jobs", [], |r| r.get(0))?))
            .await
    }

    pub async fn dead(&self) -> anyhow::Result<i64> {
        self.db
            .call(|c| Ok(c.query_row("SELECT COUNT(*) FROM dead_jobs", [], |r| r.get(0))?))
            .await
    }

    async fn claim(&self) -> anyhow::Result<Option<Claimed>> {
        let busy: Vec<String> = self
            .busy
            .lock()
            .expect("busy set")
            .iter()
            .cloned()
            .collect();
        let claimed = self
            .db
            .call(move |c| {
                let now = Utc::now().timestamp_millis();
                let tx = c.transaction()?;
                // Busy transfers are skipped in the query itself, so one transfer with many
                // jobs queued cannot hide everyone else's behind it. At most `workers` are busy.
                let skip = vec!["?"; busy.len()].join(", ");
                let sql = format!(
                    "SELECT id, group_key, attempts, payload FROM jobs
                     WHERE run_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
                       AND group_key NOT IN ({skip})
                     ORDER BY run_at, id LIMIT 1"
                );
                let mut values: Vec<rusqlite::types::Value> = vec![now.into(), now.into()];
                values.extend(busy.iter().cloned().map(rusqlite::types::Value::from));
                let found = tx
                    .query_row(&sql, rusqlite::params_from_iter(values), |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    })
                    .optional()?;
                let Some((id, group, attempts, payload)) = found else {
                    return Ok(None);
                };
                tx.execute(
                    "UPDATE jobs SET claimed_until = ?1, attempts = attempts + 1 WHERE id = ?2",
                    params![now + millis(LEASE), id],
                )?;
                tx.commit()?;
                Ok(Some((id, group, attempts + 1, payload)))
            })
            .await?;
        let Some((id, group, attempts, payload)) = claimed else {
            return Ok(None);
        };
        self.busy.lock().expect("busy set").insert(group.clone());
        match serde_json::from_str(&payload) {
            Ok(job) => Ok(Some(Claimed {
                id,
                group,
                attempts,
                job,
            })),
            Err(e) => {
                self.bury(id, &group, attempts, &format!("unreadable job: {e}"))
                    .await?;
                Ok(None)
            }
        }
    }

    async fn done(&self, claimed: &Claimed) -> anyhow::Result<()> {
        let id = claimed.id;
        self.db
            .call(move |c| {
                Ok(c.execute("DELETE FROM jobs WHERE id = ?1", params![id])
                    .map(|_| ())?)
            })
            .await?;
        self.release(&claimed.group);
        Ok(())
    }

    async fn retry_later(&self, claimed: &Claimed, error: &str) -> anyhow::Result<()> {
        if claimed.attempts >= MAX_ATTEMPTS {
            return self
                .bury(claimed.id, &claimed.group, claimed.attempts, error)
                .await;
        }
        let id = claimed.id;
        let backoff = Duration::from_millis(500 << claimed.attempts.min(10));
        self.db
            .call(move |c| {
                let run_at = Utc::now().timestamp_millis() + millis(backoff);
                c.execute(
                    "UPDATE jobs SET run_at = ?1, claimed_until = NULL WHERE id = ?2",
                    params![run_at, id],
                )?;
                Ok(())
            })
            .await?;
        self.release(&claimed.group);
        Ok(())
    }

    async fn bury(&self, id: i64, group: &str, attempts: i64, error: &str) -> anyhow::Result<()> {
        tracing::error!(
            job_id = id,
            attempts,
            error,
            "job failed too often: moved to dead_jobs"
        );
        let error = error.to_owned();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                let payload: Option<String> =
                    tx.query_row("SELECT payload FROM jobs WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
                if let Some(payload) = payload {
                    tx.execute(
                        "INSERT OR REPLACE INTO dead_jobs (id, payload, attempts, last_error, died_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![id, payload, attempts, error, Utc::now().timestamp_millis()],
                    )?;
                    tx.execute("DELETE FROM jobs WHERE id = ?1", params![id])?;
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.release(group);
        Ok(())
    }

    fn release(&self, group: &str) {
        self.busy.lock().expect("busy set").remove(group);
        self.wake.notify_waiters();
    }

    /// Runs `handler` on jobs with `workers` tasks until `shutdown` turns true; a job being
    /// handled at shutdown is finished first. A job that failed its last attempt goes to
    /// `give_up`, which settles what it stood for, and is then kept in `dead_jobs`.
    pub async fn run<H, F, G, GF>(
        self: Arc<Self>,
        workers: usize,
        handler: H,
        give_up: G,
        shutdown: watch::Receiver<bool>,
    ) where
        H: Fn(Job) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = anyhow::Result<()>> + Send,
        G: Fn(Job) -> GF + Clone + Send + Sync + 'static,
        GF: Future<Output = anyhow::Result<()>> + Send,
    {
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let queue = self.clone();
            let handler = handler.clone();
            let give_up = give_up.clone();
            let mut shutdown = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                while !*shutdown.borrow() {
                    match queue.claim().await {
                        Ok(Some(claimed)) => {
                            let outcome = handler(claimed.job.clone()).await;
                            let recorded = match outcome {
                                Ok(()) => queue.done(&claimed).await,
                                Err(e) => {
                                    tracing::warn!(job_id = claimed.id, attempts = claimed.attempts, error = %e, "job failed");
                                    if claimed.attempts >= MAX_ATTEMPTS
                                        && let Err(e) = give_up(claimed.job.clone()).await
                                    {
                                        tracing::error!(job_id = claimed.id, error = %e, "settling an abandoned job failed");
                                    }
                                    queue.retry_later(&claimed, &format!("{e:#}")).await
                                }
                            };
                            if let Err(e) = recorded {
                                tracing::error!(error = %e, "recording a job's outcome failed");
                                queue.release(&claimed.group);
                            }
                        }
                        Ok(None) => {
                            let wake = queue.wake.notified();
                            tokio::select! {
                                _ = wake => {}
                                _ = tokio::time::sleep(IDLE_POLL) => {}
                                _ = shutdown.changed() => {}
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "claiming a job failed");
                            tokio::time::sleep(IDLE_POLL).await;
                        }
                    }
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

#[async_trait]
impl WorkQueue for SqliteQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> anyhow::Result<()> {
        let payload = serde_json::to_string(job)?;
        let group = job.transfer_id().map(|t| t.to_string()).unwrap_or_default();
        self.db
            .call(move |c| {
                let run_at = Utc::now().timestamp_millis() + millis(delay);
                c.execute(
                    "INSERT INTO jobs (group_key, payload, run_at) VALUES (?1, ?2, ?3)",
                    params![group, payload, run_at],
                )?;
                Ok(())
            })
            .await?;
        self.wake.notify_waiters();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::ids::TransferId;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn queue() -> (tempfile::TempDir, Arc<SqliteQueue>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("q.db")).unwrap();
        (dir, SqliteQueue::new(db).unwrap())
    }

    async fn wait_until(mut cond: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "condition not met in time"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_survive_a_restart_and_failures_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let job = Job::NotifySender {
            transfer_id: TransferId::new(),
        };
        {
            let q = SqliteQueue::new(Db::open(&path).unwrap()).unwrap();
            q.enqueue(&job, Duration::ZERO).await.unwrap();
            // A claim by a process that then dies.
            assert!(q.claim().await.unwrap().is_some());
        }
        let q = SqliteQueue::new(Db::open(&path).unwrap()).unwrap();
        assert_eq!(q.pending().await.unwrap(), 1);
        let calls = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = watch::channel(false);
        let c = calls.clone();
        let runner = tokio::spawn(q.clone().run(
            2,
            move |_job| {
                let c = c.clone();
                async move {
                    // Fails once, then succeeds.
                    if c.fetch_add(1, Ordering::SeqCst) == 0 {
                        anyhow::bail!("transient")
                    } else {
                        Ok(())
                    }
                }
            },
            |_job| async { panic!("a job that succeeds on retry is not given up") },
            stopped,
        ));
        wait_until(|| calls.load(Ordering::SeqCst) >= 2).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while q.pending().await.unwrap() > 0 {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        runner.await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn jobs_of_one_transfer_run_one_at_a_time() {
        let (_dir, q) = queue();
        let tid = TransferId::new();
        q.enqueue(&Job::NotifySender { transfer_id: tid }, Duration::ZERO)
            .await
            .unwrap();
        q.enqueue(&Job::NotifySender { transfer_id: tid }, Duration::ZERO)
            .await
            .unwrap();
        q.enqueue(
            &Job::NotifySender {
                transfer_id: TransferId::new(),
            },
            Duration::ZERO,
        )
        .await
        .unwrap();
        let first = q.claim().await.unwrap().unwrap();
        let second = q.claim().await.unwrap().unwrap();
        assert_ne!(
            first.group, second.group,
            "the second job of the same transfer waits"
        );
        assert!(q.claim().await.unwrap().is_none());
        q.done(&first).await.unwrap();
        assert!(q.claim().await.unwrap().is_some());
    }

    #[tokio::test]
    async fn delayed_jobs_wait_and_hopeless_ones_are_buried() {
        let (_dir, q) = queue();
        q.enqueue(
            &Job::NotifySender {
                transfer_id: TransferId::new(),
            },
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
        assert!(q.claim().await.unwrap().is_none());
        q.enqueue(
            &Job::NotifySender {
                transfer_id: TransferId::new(),
            },
            Duration::ZERO,
        )
        .await
        .unwrap();
        let mut claimed = q.claim().await.unwrap().unwrap();
        claimed.attempts = MAX_ATTEMPTS;
        q.retry_later(&claimed, "boom").await.unwrap();
        assert_eq!(q.dead().await.unwrap(), 1);
        assert_eq!(q.pending().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_transfer_with_many_jobs_does_not_hold_up_the_others() {
        let (_dir, q) = queue();
        let (busy, other) = (TransferId::new(), TransferId::new());
        for _ in 0..100 {
            q.enqueue(&Job::NotifySender { transfer_id: busy }, Duration::ZERO)
                .await
                .unwrap();
        }
        q.enqueue(&Job::NotifySender { transfer_id: other }, Duration::ZERO)
            .await
            .unwrap();
        let first = q.claim().await.unwrap().unwrap();
        assert_eq!(first.job.transfer_id(), Some(busy));
        let second = q.claim().await.unwrap().unwrap();
        assert_eq!(second.job.transfer_id(), Some(other));
        assert!(
            q.claim().await.unwrap().is_none(),
            "one job per transfer at a time"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_failing_its_last_attempt_is_given_up_once_then_buried() {
        let (_dir, q) = queue();
        let job = Job::NotifySender {
            transfer_id: TransferId::new(),
        };
        q.enqueue(&job, Duration::ZERO).await.unwrap();
        // Every attempt but the last has failed already.
        q.db.call(|c| {
            c.execute("UPDATE jobs SET attempts = ?1", params![MAX_ATTEMPTS - 1])?;
            Ok(())
        })
        .await
        .unwrap();
        let given_up = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = watch::channel(false);
        let record = given_up.clone();
        let runner = tokio::spawn(q.clone().run(
            1,
            |_job| async { anyhow::bail!("still failing") },
            move |job| {
                let record = record.clone();
                async move {
                    record.lock().unwrap().push(job);
                    Ok(())
                }
            },
            stopped,
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while q.dead().await.unwrap() == 0 {
            assert!(tokio::time::Instant::now() < deadline, "never buried");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        runner.await.unwrap();
        assert_eq!(*given_up.lock().unwrap(), vec![job]);
        assert_eq!(q.pending().await.unwrap(), 0);
    }
}
